// A training run end to end inside the trainer, on real Kafka and FerretDB: a dataset version export
// in the artifact store -> SubmitRun -> training in a worker -> the model uploaded to and registered in
// "the registry" (an in-process gRPC server speaking the registry's API, so no other service is
// imported) -> the run SUCCEEDED with metrics and its events on the training topic.
import { Status } from '@aio/grpc';
import { RunState } from '@aio/proto/aio/trainer/v1/trainer';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunsHarness, until, type RunsHarness } from './runs.fixture.js';

let h: RunsHarness;
let client: RunsHarness['client'];
let uploads: RunsHarness['uploads'];
let versions: RunsHarness['versions'];
let trainingEvents: RunsHarness['trainingEvents'];
const finished = (id: string) => h.finished(id);

beforeAll(async () => {
  h = await startRunsHarness();
  ({ client, uploads, versions, trainingEvents } = h);
});

afterAll(() => h?.stop());

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
