// The setting every training-run integration test needs, in one place: the trainer started in-process
// (own topic prefix, database, secret — @aio/host/testing), "the registry" as an in-process gRPC server
// speaking its API (so no other service is imported) recording what it receives, an observer of the
// training topic, and a dataset `blobs` with version 1 whose NDJSON export sits in a temp artifact store.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactStore } from '@aio/artifacts';
import { createKafka, createPublisher, EventHandlers, subscribe } from '@aio/events';
import { createGrpcClient, createGrpcServer, withUnimplemented, type GrpcClient } from '@aio/grpc';
import { eventually, startForTest } from '@aio/host/testing';
import { DatasetCreatedSchema, DatasetVersionCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { DatasetSchemaSchema, FieldType } from '@aio/proto/aio/ingestion/v1/ingestion';
import { RegistryService, type CreateModelVersionRequest } from '@aio/proto/aio/registry/v1/registry';
import { TrainingRunCompletedSchema, TrainingRunFailedSchema, TrainingRunStartedSchema } from '@aio/proto/aio/trainer/v1/events';
import { RunState, TrainerService, type TrainingRun } from '@aio/proto/aio/trainer/v1/trainer';
import { create } from '@bufbuild/protobuf';
import { loadConfig } from '../src/config.js';
import { startTrainer } from '../src/trainer.app.js';

export interface RunsHarness {
  client: GrpcClient<typeof TrainerService>;
  /** Artifacts "the registry" received, by sha256. */
  uploads: Map<string, Uint8Array>;
  /** CreateModelVersion requests "the registry" received, in order. */
  versions: CreateModelVersionRequest[];
  /** TrainingRun* events seen on the training topic: 'started', 'completed', 'failed'. */
  trainingEvents: string[];
  /** Waits for a run to end (SUCCEEDED, FAILED or CANCELLED). */
  finished(id: string): Promise<TrainingRun>;
  stop(): Promise<void>;
}

export const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => eventually(what, probe, 90_000, 200);

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export const blobsSchema = create(DatasetSchemaSchema, {
  fields: [
    { name: 'id', type: FieldType.STRING, required: true },
    { name: 'x1', type: FieldType.FLOAT, required: true },
    { name: 'x2', type: FieldType.FLOAT, required: true },
    { name: 'species', type: FieldType.CATEGORY, allowedValues: ['a', 'b'] },
  ],
  keyField: 'id',
  labelField: 'species',
});

/** Two separable blobs, as the NDJSON export ingestion writes (one record's fields per line). */
function exportLines(n: number): string {
  let seed = 7;
  const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = i % 2 === 1;
    lines.push(JSON.stringify({ id: `r${i}`, x1: (b ? 2 : -2) + rnd(), x2: (b ? -1 : 1) + rnd(), species: b ? 'b' : 'a' }));
  }
  return `${lines.join('\n')}\n`;
}

export async function startRunsHarness(env: Record<string, string> = {}): Promise<RunsHarness> {
  const uploads = new Map<string, Uint8Array>();
  const versions: CreateModelVersionRequest[] = [];
  const registry = createGrpcServer({ auth: 'disabled' });
  registry.add(
    RegistryService,
    withUnimplemented(RegistryService, {
      uploadArtifact: async (parts) => {
        const chunks: Uint8Array[] = [];
        for await (const p of parts) if (p.part.case === 'chunk') chunks.push(p.part.value.slice());
        const bytes = Buffer.concat(chunks);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        uploads.set(sha256, bytes);
        return { artifact: { sha256, size: BigInt(bytes.length), format: 'onnx' }, created: true };
      },
      createModel: (req) => Promise.resolve({ model: { name: req.name } }),
      createModelVersion: (req) => {
        versions.push(req);
        return Promise.resolve({ version: { model: req.model, version: versions.length, artifactSha256: req.artifactSha256 } });
      },
    }),
  );
  const registryPort = await registry.start('127.0.0.1', 0);
  const artifactDir = mkdtempSync(path.join(tmpdir(), 'aio-trainer-runs-'));
  const svc = await startForTest({
    name: 'trainer',
    loadConfig,
    start: startTrainer,
    env: { AIO_REGISTRY_ADDR: `127.0.0.1:${registryPort}`, AIO_ARTIFACT_DIR: artifactDir, ...env },
  });
  const token = await svc.token(['ml-engineer'], 'alice');
  const client = createGrpcClient(TrainerService, svc.grpcAddress, { token: () => token });

  const kafka = createKafka({ brokers: [...svc.config.KAFKA_BROKERS], clientId: `${svc.prefix}-observer`, logger: quiet });
  const trainingEvents: string[] = [];
  const record = (name: string) => () => {
    trainingEvents.push(name);
    return Promise.resolve();
  };
  const events = await subscribe(kafka, {
    groupId: `${svc.prefix}-observer`,
    topics: [`${svc.prefix}.events.training`],
    fromBeginning: true,
    logger: quiet,
    handlers: new EventHandlers()
      .on(TrainingRunStartedSchema, record('started'))
      .on(TrainingRunCompletedSchema, record('completed'))
      .on(TrainingRunFailedSchema, record('failed')),
  });

  const { sha256 } = await createArtifactStore({ dir: artifactDir }).put(Readable.from([Buffer.from(exportLines(200))]), { maxBytes: 10_000_000 });
  const publisher = createPublisher(kafka, { logger: quiet });
  const source = 'aio/ingestion';
  const topic = `${svc.prefix}.events.data`;
  await publisher.publish(topic, DatasetCreatedSchema, { dataset: { name: 'blobs', schema: blobsSchema } }, { key: 'blobs', source });
  await publisher.publish(
    topic,
    DatasetVersionCreatedSchema,
    { version: { dataset: 'blobs', version: 1, recordCount: 200n, artifactSha256: sha256, schema: blobsSchema } },
    { key: 'blobs', source },
  );

  return {
    client,
    uploads,
    versions,
    trainingEvents,
    finished: (id) =>
      until(`run ${id} to end`, async () => {
        const { run } = await client.getRun({ id });
        return run && [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED].includes(run.state) ? run : undefined;
      }),
    async stop() {
      await events.stop();
      await publisher.disconnect();
      client.close();
      await svc.stop();
      await registry.shutdown(1000);
      rmSync(artifactDir, { recursive: true, force: true });
    },
  };
}
