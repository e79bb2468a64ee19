// An external trainer end to end, on real Kafka and FerretDB: the scikit-learn example
// (examples/sklearn/train.py, in a venv built from its pinned requirements) runs as `external:sklearn`
// on a dataset version export -> its model.onnx is uploaded to and registered in "the registry" (an
// in-process gRPC server speaking the registry's API) -> the run SUCCEEDED with the script's metrics.
import { fileURLToPath } from 'node:url';
import { Status } from '@aio/grpc';
import { RunState } from '@aio/proto/aio/trainer/v1/trainer';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonVenv } from './python.venv.js';
import { startRunsHarness, until, type RunsHarness } from './runs.fixture.js';

let h: RunsHarness;
let client: RunsHarness['client'];
let uploads: RunsHarness['uploads'];
let versions: RunsHarness['versions'];
let trainingEvents: RunsHarness['trainingEvents'];
const finished = (id: string) => h.finished(id);

beforeAll(async () => {
  const python = await pythonVenv('trainer-sklearn', fileURLToPath(new URL('../examples/sklearn/requirements.txt', import.meta.url)), { timeoutMs: 170_000 });
  h = await startRunsHarness({
    TRAINER_EXTERNAL_COMMANDS: JSON.stringify({ sklearn: [python, 'examples/sklearn/train.py'] }),
    TRAINER_EXTERNAL_TIMEOUT_SECONDS: '300',
  });
  ({ client, uploads, versions, trainingEvents } = h);
});

afterAll(() => h?.stop());

describe('external trainers', () => {
  it('runs the scikit-learn example as external:sklearn and registers its ONNX model with its metrics', async () => {
    const submitted = await until('the trainer to know blobs@1', async () => (await client.submitRun({ model: 'blobs-sk', dataset: 'blobs', trainer: 'external:sklearn' })).run);
    const done = await finished(submitted.id);
    expect(done.error).toBe('');
    expect(done.state).toBe(RunState.SUCCEEDED);
    expect(done.metrics['accuracy']).toBeGreaterThan(0.8);

    const registered = versions[0];
    expect(registered).toMatchObject({ model: 'blobs-sk', framework: 'onnx', lineage: { dataset: 'blobs', datasetVersion: 1, trainingRunId: submitted.id } });
    expect(registered?.metrics['accuracy']).toBeGreaterThan(0.8);
    // Features profiled by the trainer; no prediction column for an external model.
    expect(registered?.referenceProfile?.features.map((f) => f.name)).toEqual(['x1', 'x2']);

    const onnx = uploads.get(registered?.artifactSha256 ?? '');
    expect(onnx).toBeDefined();
    const session = await InferenceSession.create(onnx as Uint8Array);
    const out = await session.run({ input: new Tensor('float32', Float32Array.from([-2, 1, 2, -1]), [2, 2]) });
    expect(Array.from(out['label']?.data as BigInt64Array).map(Number)).toEqual([0, 1]);
    expect(out['probabilities']?.dims).toEqual([2, 2]);

    await until('TrainingRunStarted and TrainingRunCompleted on the training topic', () =>
      Promise.resolve(trainingEvents.includes('started') && trainingEvents.includes('completed') ? true : undefined),
    );
  });

  it('refuses an external trainer that is not configured', async () => {
    const err = await client.submitRun({ model: 'blobs-x', dataset: 'blobs', trainer: 'external:xgboost' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.INVALID_ARGUMENT, message: expect.stringContaining('trainer: "external:xgboost" is not a configured external trainer; known: external:sklearn') as unknown });
  });
});
