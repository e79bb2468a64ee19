// Retrain policies end to end inside the trainer, on real Kafka and FerretDB: a DriftDetected on the
// monitor topic (or a RecordBatchCommitted on the data topic) -> the trainer asks "ingestion" for a fresh
// snapshot -> a run with that trigger trains on it -> the evaluation gate compares it with "the
// registry's" champion -> the policy's action moves aliases (or the deployment), or nothing moves and
// the run says why. Ingestion and the registry are in-process gRPC servers speaking their APIs, so no
// other service is imported.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactStore } from '@aio/artifacts';
import { createKafka, createPublisher, type EventPublisher } from '@aio/events';
import { createGrpcClient, createGrpcServer, GrpcError, Status, type GrpcClient, type GrpcServer, type ServiceImpl, withUnimplemented } from '@aio/grpc';
import { eventually, grpcFailure, startForTest, type ServiceUnderTest } from '@aio/host/testing';
import { DatasetCreatedSchema, RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { IngestionService, type CreateDatasetVersionRequest, type DatasetVersion } from '@aio/proto/aio/ingestion/v1/ingestion';
import { DriftDetectedSchema } from '@aio/proto/aio/monitor/v1/events';
import { RegistryService, type Deployment, type ModelVersion, type SetAliasRequest } from '@aio/proto/aio/registry/v1/registry';
import { PromotionAction, RunState, RunTrigger, TrainerService, type TrainingRun } from '@aio/proto/aio/trainer/v1/trainer';
import { blobsSchema } from './runs.fixture.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type TrainerConfig } from '../src/config.js';
import { DatasetsService } from '../src/datasets.service.js';
import { startTrainer } from '../src/trainer.app.js';

const artifactDir = mkdtempSync(path.join(tmpdir(), 'aio-trainer-policies-'));
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: `it-policies-${process.pid}`, logger: quiet });

// What "the registry" holds and received.
const registered = new Map<string, ModelVersion[]>();
const aliases = new Map<string, number>(); // `${model}/${alias}` -> version
const aliasMoves: SetAliasRequest[] = [];
const deployments = new Map<string, Deployment>();
// What "ingestion" received, and the export each dataset's snapshots point at.
const snapshots: CreateDatasetVersionRequest[] = [];
const exports = new Map<string, string>();
const nextVersion = new Map<string, number>();

let registry: GrpcServer;
let ingestion: GrpcServer;
let trainer: ServiceUnderTest<TrainerConfig>;
let prefix: string;
let client: GrpcClient<typeof TrainerService>;
let publisher: EventPublisher;

function serve<S extends typeof RegistryService | typeof IngestionService>(server: GrpcServer, service: S, impl: Partial<ServiceImpl<S>>): void {
  server.add(service, withUnimplemented(service, impl));
}

function startFakeRegistry(): Promise<number> {
  registry = createGrpcServer({ auth: 'disabled' });
  serve(registry, RegistryService, {
    uploadArtifact: async (parts) => {
      const hash = createHash('sha256');
      let size = 0;
      for await (const p of parts) {
        if (p.part.case !== 'chunk') continue;
        hash.update(p.part.value);
        size += p.part.value.length;
      }
      return { artifact: { sha256: hash.digest('hex'), size: BigInt(size), format: 'onnx' }, created: true };
    },
    createModel: (req) => Promise.resolve({ model: { name: req.name } }),
    createModelVersion: (req) => {
      const list = registered.get(req.model) ?? [];
      const version = { model: req.model, version: list.length + 1, artifactSha256: req.artifactSha256, metrics: req.metrics } as ModelVersion;
      registered.set(req.model, [...list, version]);
      return Promise.resolve({ version });
    },
    getModelVersion: (req) => {
      const number = req.selector.case === 'alias' ? aliases.get(`${req.model}/${req.selector.value}`) : req.selector.value;
      const version = registered.get(req.model)?.find((v) => v.version === number);
      if (version === undefined) return Promise.reject(new GrpcError(Status.NOT_FOUND, `no version of ${req.model} for that selector`));
      return Promise.resolve({ version });
    },
    setAlias: (req) => {
      aliasMoves.push(req);
      aliases.set(`${req.model}/${req.alias}`, req.version);
      return Promise.resolve({ change: { model: req.model, alias: req.alias, version: req.version, reason: req.reason } });
    },
    getDeployment: (req) => {
      const deployment = deployments.get(req.model);
      return deployment === undefined ? Promise.reject(new GrpcError(Status.NOT_FOUND, `deployment "${req.model}" not found`)) : Promise.resolve({ deployment });
    },
    setDeployment: (req) => {
      const deployment = req.deployment;
      if (deployment === undefined) return Promise.reject(new GrpcError(Status.INVALID_ARGUMENT, 'deployment is required'));
      const current = deployments.get(deployment.model);
      if (req.expectedGeneration !== 0 && req.expectedGeneration !== current?.generation) return Promise.reject(new GrpcError(Status.ABORTED, 'generation moved'));
      deployment.generation = (current?.generation ?? 0) + 1;
      deployments.set(deployment.model, deployment);
      return Promise.resolve({ deployment });
    },
  });
  return registry.start('127.0.0.1', 0);
}

function startFakeIngestion(): Promise<number> {
  ingestion = createGrpcServer({ auth: 'disabled' });
  serve(ingestion, IngestionService, {
    createDatasetVersion: (req) => {
      snapshots.push(req);
      const sha256 = exports.get(req.dataset);
      if (sha256 === undefined) return Promise.reject(new GrpcError(Status.NOT_FOUND, `dataset "${req.dataset}" not found`));
      const version = nextVersion.get(req.dataset) ?? 1;
      nextVersion.set(req.dataset, version + 1);
      return Promise.resolve({ version: { dataset: req.dataset, version, recordCount: 200n, artifactSha256: sha256, schema, description: req.description } as DatasetVersion });
    },
  });
  return ingestion.start('127.0.0.1', 0);
}

// The same dataset shape as the run tests.
const schema = blobsSchema;

/** Two separable blobs as an NDJSON export; `flipEvery` > 0 mislabels every n-th record (accuracy < 1). */
function exportLines(n: number, flipEvery = 0): string {
  let seed = 11;
  const rnd = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = i % 2 === 1;
    const label = flipEvery > 0 && i % flipEvery === 0 ? !b : b;
    lines.push(JSON.stringify({ id: `r${i}`, x1: (b ? 2 : -2) + rnd(), x2: (b ? -1 : 1) + rnd(), species: label ? 'b' : 'a' }));
  }
  return `${lines.join('\n')}\n`;
}

/** The model's run, once it has ended. */
function endedRunOf(model: string): Promise<TrainingRun> {
  return eventually(`a run of ${model} to end`, async () => {
    const { runs } = await client.listRuns({ model });
    const r = runs[0];
    return r && [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED].includes(r.state) ? r : undefined;
  }, 90_000);
}

/** Puts a champion with these metrics into "the registry". */
function seedChampion(model: string, metrics: Record<string, number>): number {
  const version = { model, version: 1, metrics } as ModelVersion;
  registered.set(model, [version]);
  aliases.set(`${model}/champion`, 1);
  return 1;
}

beforeAll(async () => {
  const [registryPort, ingestionPort] = await Promise.all([startFakeRegistry(), startFakeIngestion()]);
  trainer = await startForTest({
    name: 'trainer-policies',
    loadConfig,
    start: startTrainer,
    env: { AIO_REGISTRY_ADDR: `127.0.0.1:${registryPort}`, AIO_INGESTION_ADDR: `127.0.0.1:${ingestionPort}`, AIO_ARTIFACT_DIR: artifactDir },
  });
  prefix = trainer.prefix;
  const token = await trainer.token(['ml-engineer'], 'alice');
  client = createGrpcClient(TrainerService, trainer.grpcAddress, { token: () => token });
  publisher = createPublisher(kafka, { logger: quiet });

  const store = createArtifactStore({ dir: artifactDir });
  const put = async (text: string): Promise<string> => (await store.put(Readable.from([Buffer.from(text)]), { maxBytes: 10_000_000 })).sha256;
  exports.set('blobs', await put(exportLines(200)));
  exports.set('noisy', await put(exportLines(200, 10)));
  for (const name of ['blobs', 'noisy']) {
    await publisher.publish(`${prefix}.events.data`, DatasetCreatedSchema, { dataset: { name, schema } }, { key: name, source: 'aio/ingestion' });
  }
  const datasets = trainer.running.app.get(DatasetsService);
  await eventually('the trainer to know blobs and noisy', async () => ((await datasets.find('blobs')) && (await datasets.find('noisy')) ? true : undefined));
});

afterAll(async () => {
  await publisher?.disconnect();
  client?.close();
  await trainer?.stop();
  await registry?.shutdown(1000);
  await ingestion?.shutdown(1000);
  rmSync(artifactDir, { recursive: true, force: true });
});

describe('retrain policies', () => {
  it('stores, reads and deletes a policy, refusing a bad one with the field and the rule', async () => {
    const bad = await grpcFailure(
      client.setRetrainPolicy({ policy: { model: 'p', dataset: 'blobs', trainer: 'builtin:logistic-regression', gate: { metric: 'rmse' }, action: PromotionAction.PROMOTE } }),
    );
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    expect(bad.message).toMatch(/policy\.gate\.metric.*classification: accuracy/);
    const { policy } = await client.setRetrainPolicy({
      policy: { model: 'p', dataset: 'blobs', trainer: 'builtin:logistic-regression', gate: { metric: 'accuracy', higherIsBetter: true }, action: PromotionAction.SET_CHALLENGER },
    });
    expect(policy).toMatchObject({ model: 'p', updatedBy: 'alice' });
    expect(policy?.updateTime).toBeDefined();
    expect((await client.getRetrainPolicy({ model: 'p' })).policy?.action).toBe(PromotionAction.SET_CHALLENGER);
    await client.deleteRetrainPolicy({ model: 'p' });
    expect((await grpcFailure(client.getRetrainPolicy({ model: 'p' }))).code).toBe(Status.NOT_FOUND);
  });

  it('drift -> snapshot -> DRIFT run -> gate passes (no champion) -> champion alias moves', async () => {
    const model = 'drift-clf';
    await client.setRetrainPolicy({
      policy: { model, dataset: 'blobs', trainer: 'builtin:logistic-regression', onDrift: true, gate: { metric: 'accuracy', higherIsBetter: true }, action: PromotionAction.PROMOTE },
    });
    await publisher.publish(
      `${prefix}.events.monitor`,
      DriftDetectedSchema,
      { model, version: 1, features: [{ feature: 'x1', method: 'psi', score: 0.4, threshold: 0.2 }], sampleCount: 500n },
      { key: model, source: 'aio/monitor' },
    );

    const done = await endedRunOf(model);
    expect(done.error).toBe('');
    expect(done).toMatchObject({ state: RunState.SUCCEEDED, trigger: RunTrigger.DRIFT, dataset: 'blobs', datasetVersion: 1, createdBy: 'trainer:retrain-policy' });
    expect(snapshots.filter((s) => s.dataset === 'blobs')).toHaveLength(1);
    expect(snapshots[0]?.description).toMatch(/drift on drift-clf v1 \(x1\)/);

    expect(done.gateResult).toMatchObject({ passed: true, hasChampion: false, metric: 'accuracy', actionTaken: `SetAlias champion -> v${done.modelVersion}` });
    const move = aliasMoves.find((m) => m.model === model);
    expect(move).toMatchObject({ alias: 'champion', version: done.modelVersion });
    expect(move?.reason).toMatch(new RegExp(`run ${done.id} \\(DRIFT\\) passed the gate: no champion yet`));
  });

  it('data volume -> DATA_VOLUME run -> a better champion holds it back: no alias move, the run says why', async () => {
    const model = 'volume-clf';
    seedChampion(model, { accuracy: 0.999 });
    await client.setRetrainPolicy({
      policy: { model, dataset: 'noisy', trainer: 'builtin:logistic-regression', onNewRecords: 100n, gate: { metric: 'accuracy', higherIsBetter: true }, action: PromotionAction.PROMOTE },
    });
    // Below the threshold: nothing happens. Then one at it: a retrain.
    const batch = (since: bigint) => ({ dataset: 'noisy', recordCount: 10, totalRecordCount: since, recordsSinceVersion: since });
    await publisher.publish(`${prefix}.events.data`, RecordBatchCommittedSchema, batch(50n), { key: 'noisy', source: 'aio/ingestion' });
    await publisher.publish(`${prefix}.events.data`, RecordBatchCommittedSchema, batch(120n), { key: 'noisy', source: 'aio/ingestion' });

    const done = await endedRunOf(model);
    expect(done.error).toBe('');
    expect(done).toMatchObject({ state: RunState.SUCCEEDED, trigger: RunTrigger.DATA_VOLUME, dataset: 'noisy' });
    expect(snapshots.filter((s) => s.dataset === 'noisy')).toHaveLength(1);
    expect(done.metrics['accuracy']).toBeLessThan(0.999);
    expect(done.gateResult).toMatchObject({ passed: false, hasChampion: true, champion: 0.999, championVersion: 1, actionTaken: '' });
    expect(done.gateResult?.reason).toMatch(/accuracy .* vs 0\.999 \(champion v1, higher is better\): is worse than the champion/);
    expect(aliasMoves.filter((m) => m.model === model)).toEqual([]);
    expect(aliases.get(`${model}/champion`)).toBe(1);
  });

  it('gates a manual run of a model with a CANARY policy: challenger alias and a weighted deployment', async () => {
    const model = 'canary-clf';
    const champion = seedChampion(model, { accuracy: 0.5 });
    await client.setRetrainPolicy({
      policy: { model, dataset: 'blobs', trainer: 'builtin:logistic-regression', gate: { metric: 'accuracy', higherIsBetter: true, minImprovement: 0.1 }, action: PromotionAction.CANARY, canaryWeight: 10 },
    });
    // blobs@1 is the snapshot the drift case took (recorded by the trainer when ingestion returned it).
    await client.submitRun({ model, dataset: 'blobs', datasetVersion: 1, trainer: 'builtin:logistic-regression' });
    const done = await endedRunOf(model);
    expect(done).toMatchObject({ state: RunState.SUCCEEDED, trigger: RunTrigger.MANUAL });
    expect(done.gateResult).toMatchObject({ passed: true, hasChampion: true, champion: 0.5, championVersion: champion });
    expect(aliasMoves.filter((m) => m.model === model)).toMatchObject([{ alias: 'challenger', version: done.modelVersion }]);
    expect(deployments.get(model)).toMatchObject({
      target: { case: 'alias', value: 'champion' },
      traffic: [
        { version: champion, weight: 90 },
        { version: done.modelVersion, weight: 10 },
      ],
    });
  });
});
