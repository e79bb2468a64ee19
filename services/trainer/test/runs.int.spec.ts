// A training run end to end inside the trainer, on real Kafka and FerretDB: a dataset version export
// in the artifact store -> SubmitRun -> training in a worker -> the model uploaded to and registered in
// "the registry" (an in-process gRPC server speaking the registry's API, so no other service is
// imported) -> the run SUCCEEDED with metrics and its events on the training topic.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactStore } from '@aio/artifacts';
import { mintToken } from '@aio/auth';
import { createKafka, createPublisher, EventHandlers, subscribe, type EventPublisher, type EventSubscriber } from '@aio/events';
import { createGrpcClient, createGrpcServer, Status, type GrpcClient, type GrpcServer, type ServiceImpl, withUnimplemented } from '@aio/grpc';
import type { RunningService } from '@aio/host';
import { DatasetCreatedSchema, DatasetVersionCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { DatasetSchemaSchema, FieldType } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create } from '@bufbuild/protobuf';
import { RegistryService, type CreateModelVersionRequest } from '@aio/proto/aio/registry/v1/registry';
import { TrainingRunCompletedSchema, TrainingRunFailedSchema, TrainingRunStartedSchema } from '@aio/proto/aio/trainer/v1/events';
import { RunState, TrainerService, type TrainingRun } from '@aio/proto/aio/trainer/v1/trainer';
import { startTelemetry } from '@aio/telemetry';
import mongoose from 'mongoose';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startTrainer } from '../src/trainer.app.js';

const run = randomBytes(4).toString('hex');
const secret = `trainer-runs-int-secret-${randomBytes(16).toString('hex')}`;
const prefix = `it-runs-${run}`;
const artifactDir = mkdtempSync(path.join(tmpdir(), 'aio-trainer-runs-'));
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

// What "the registry" received.
const uploads = new Map<string, Uint8Array>();
const versions: CreateModelVersionRequest[] = [];
let registry: GrpcServer;
let running: RunningService;
let client: GrpcClient<typeof TrainerService>;
let publisher: EventPublisher;
let events: EventSubscriber;
const trainingEvents: string[] = [];
let config: ReturnType<typeof loadConfig>;
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: prefix, logger: quiet });

function startFakeRegistry(): Promise<number> {
  registry = createGrpcServer({ auth: 'disabled' });
  const impl: Partial<ServiceImpl<typeof RegistryService>> = {
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
  };
  registry.add(RegistryService, withUnimplemented(RegistryService, impl));
  return registry.start('127.0.0.1', 0);
}

const schema = create(DatasetSchemaSchema, {
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
  const rnd = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = i % 2 === 1;
    lines.push(JSON.stringify({ id: `r${i}`, x1: (b ? 2 : -2) + rnd(), x2: (b ? -1 : 1) + rnd(), species: b ? 'b' : 'a' }));
  }
  return `${lines.join('\n')}\n`;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function finished(id: string): Promise<TrainingRun> {
  return until(`run ${id} to end`, async () => {
    const { run: r } = await client.getRun({ id });
    return r && [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED].includes(r.state) ? r : undefined;
  });
}

beforeAll(async () => {
  const registryPort = await startFakeRegistry();
  config = loadConfig({
    ...process.env,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    AIO_AUTH_SECRET: secret,
    AIO_TOPIC_PREFIX: prefix,
    AIO_DATABASE: `aio_trainer_runs_${run}`,
    AIO_REGISTRY_ADDR: `127.0.0.1:${registryPort}`,
    AIO_ARTIFACT_DIR: artifactDir,
    AIO_TELEMETRY_EXPORT: 'none',
    LOG_LEVEL: 'warn',
  });
  const telemetry = await startTelemetry({ serviceName: 'trainer', serviceVersion: 'test', export: 'none', logLevel: 'warn', logToStdout: false });
  running = await startTrainer(config, telemetry, { handleSignals: false });
  const token = await mintToken({ secret, subject: 'alice', roles: ['ml-engineer'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
  client = createGrpcClient(TrainerService, `127.0.0.1:${running.grpcPort}`, { token: () => token });
  publisher = createPublisher(kafka, { logger: quiet });
  const record = (name: string) => () => {
    trainingEvents.push(name);
    return Promise.resolve();
  };
  events = await subscribe(kafka, {
    groupId: `${prefix}-observer`,
    topics: [`${prefix}.events.training`],
    fromBeginning: true,
    logger: quiet,
    handlers: new EventHandlers()
      .on(TrainingRunStartedSchema, record('started'))
      .on(TrainingRunCompletedSchema, record('completed'))
      .on(TrainingRunFailedSchema, record('failed')),
  });

  const store = createArtifactStore({ dir: artifactDir });
  const { sha256 } = await store.put(Readable.from([Buffer.from(exportLines(200))]), { maxBytes: 10_000_000 });
  const source = 'aio/ingestion';
  const topic = `${prefix}.events.data`;
  await publisher.publish(topic, DatasetCreatedSchema, { dataset: { name: 'blobs', schema } }, { key: 'blobs', source });
  await publisher.publish(
    topic,
    DatasetVersionCreatedSchema,
    { version: { dataset: 'blobs', version: 1, recordCount: 200n, artifactSha256: sha256, schema } },
    { key: 'blobs', source },
  );
});

afterAll(async () => {
  await events?.stop();
  await publisher?.disconnect();
  client?.close();
  await running?.stop();
  await registry?.shutdown(1000);
  const conn = await mongoose.createConnection(config.MONGODB_URI, { dbName: config.AIO_DATABASE }).asPromise();
  await conn.dropDatabase();
  await conn.close();
  const admin = kafka.admin();
  await admin.connect();
  const ours = (await admin.listTopics()).filter((name) => name.startsWith(`${prefix}.`));
  await admin.deleteTopics({ topics: ours });
  await admin.disconnect();
  rmSync(artifactDir, { recursive: true, force: true });
});

describe('training runs', () => {
  it('trains on the newest dataset version, uploads and registers the model with metrics, lineage and profile', async () => {
    const submitted = await until('the trainer to know blobs@1', async () => (await client.submitRun({ model: 'blobs-clf', dataset: 'blobs', trainer: 'builtin:logistic-regression' })).run);
    expect(submitted.state).toBe(RunState.QUEUED);
    expect(submitted.datasetVersion).toBe(1);

    const done = await finished(submitted.id);
    expect(done.error).toBe('');
    expect(done.state).toBe(RunState.SUCCEEDED);
    expect(done.modelVersion).toBe(1);
    expect(done.log.join('\n')).toMatch(/dataset blobs@1 loaded: 200 records[\s\S]*model trained: accuracy=[\s\S]*registered as blobs-clf v1/);
    expect(done.metrics['accuracy']).toBeGreaterThan(0.9);

    const registered = versions[0];
    expect(registered).toMatchObject({ model: 'blobs-clf', framework: 'onnx', lineage: { dataset: 'blobs', datasetVersion: 1, trainingRunId: submitted.id } });
    expect(registered?.referenceProfile?.features.map((f) => f.name)).toEqual(expect.arrayContaining(['x1', 'x2', 'prediction']));

    // The uploaded file is the model: onnxruntime classifies the two blobs.
    const onnx = uploads.get(registered?.artifactSha256 ?? '');
    expect(onnx).toBeDefined();
    const session = await InferenceSession.create(onnx as Uint8Array);
    const out = await session.run({ input: new Tensor('float32', Float32Array.from([-2, 1, 2, -1]), [2, 2]) });
    expect(Array.from(out['label']?.data as BigInt64Array).map(Number)).toEqual([0, 1]);

    await until('TrainingRunStarted and TrainingRunCompleted on the training topic', () =>
      Promise.resolve(trainingEvents.includes('started') && trainingEvents.includes('completed') ? true : undefined),
    );
  });

  it('fails a run whose trainer cannot learn the label, saying why, and announces it', async () => {
    const { run: submitted } = await client.submitRun({ model: 'blobs-reg', dataset: 'blobs', trainer: 'builtin:linear-regression' });
    const done = await finished(submitted?.id ?? '');
    expect(done.state).toBe(RunState.FAILED);
    expect(done.error).toMatch(/label "species"/);
    await until('TrainingRunFailed on the training topic', () => Promise.resolve(trainingEvents.includes('failed') ? true : undefined));
  });

  it('refuses a second run of a model while one is queued or running', async () => {
    const { run: first } = await client.submitRun({ model: 'blobs-mlp', dataset: 'blobs', trainer: 'builtin:mlp-classifier' });
    const second = await client.submitRun({ model: 'blobs-mlp', dataset: 'blobs', trainer: 'builtin:mlp-classifier' }).catch((e: unknown) => e);
    expect(second).toMatchObject({ code: Status.FAILED_PRECONDITION });
    await finished(first?.id ?? '');
  });
});
