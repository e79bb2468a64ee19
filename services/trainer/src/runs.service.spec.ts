import type { Platform } from '@aio/host';
import { Status } from '@aio/grpc';
import { DatasetSchema$, DatasetVersionSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { CancelRunRequestSchema, ListRunsRequestSchema, RunState, SubmitRunRequestSchema, TrainingRunSchema } from '@aio/proto/aio/trainer/v1/trainer';
import { create, toJson, type JsonObject, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import type { DatasetsService } from './datasets.service.js';
import { decodeRunToken, encodeRunToken } from './run.token.js';
import type { RunDoc, RunFilter, RunsRepository } from './runs.repository.js';
import type { RunCursor } from './run.token.js';
import type { RunExecutor } from './run.executor.js';
import { RunsService } from './runs.service.js';

class FakeRuns {
  readonly docs: RunDoc[] = [];
  insert(doc: RunDoc): Promise<void> {
    this.docs.push(doc);
    return Promise.resolve();
  }
  activeFor(model: string, states: readonly string[]): Promise<RunDoc | null> {
    return Promise.resolve(this.docs.find((d) => d.model === model && states.includes(d.state)) ?? null);
  }
  transition(id: string, from: readonly string[], state: string): Promise<boolean> {
    const doc = this.docs.find((d) => d._id === id && from.includes(d.state));
    if (doc) doc.state = state;
    return Promise.resolve(doc !== undefined);
  }
  find(id: string): Promise<RunDoc | null> {
    return Promise.resolve(this.docs.find((d) => d._id === id) ?? null);
  }
  list(filter: RunFilter, before: RunCursor | undefined, limit: number): Promise<RunDoc[]> {
    const older = (d: RunDoc): boolean =>
      before === undefined || d.createTime < before.createTime || (d.createTime.getTime() === before.createTime.getTime() && d._id < before.id);
    return Promise.resolve(
      this.docs
        .filter((d) => (filter.model === undefined || d.model === filter.model) && (filter.state === undefined || d.state === filter.state) && older(d))
        .sort((a, b) => b.createTime.getTime() - a.createTime.getTime() || (a._id < b._id ? 1 : -1))
        .slice(0, limit),
    );
  }
}

const known = new Set(['iris', 'wine']);
const versions = new Set(['iris']);
const datasets = {
  find: (name: string) => Promise.resolve(known.has(name) ? create(DatasetSchema$, { name }) : undefined),
  findVersion: (name: string, version: number) =>
    Promise.resolve(versions.has(name) && version <= 3 ? create(DatasetVersionSchema, { dataset: name, version: version || 3 }) : undefined),
} as unknown as DatasetsService;

class FakeExecutor {
  readonly queued: string[] = [];
  room = true;
  hasRoom(): boolean {
    return this.room;
  }
  externalTrainers(): string[] {
    return ['sklearn'];
  }
  enqueue(id: string): void {
    this.queued.push(id);
  }
  cancel(id: string): boolean {
    const at = this.queued.indexOf(id);
    if (at >= 0) this.queued.splice(at, 1);
    return at >= 0;
  }
}
const platform = { topics: { dataEvents: 'aio.events.data' } } as unknown as Platform;

function setup(): { svc: RunsService; repo: FakeRuns; executor: FakeExecutor } {
  const repo = new FakeRuns();
  const executor = new FakeExecutor();
  return { svc: new RunsService(repo as unknown as RunsRepository, datasets, platform, executor as unknown as RunExecutor), repo, executor };
}

function runDoc(id: string, model: string, state: RunState, at: number): RunDoc {
  const createTime = new Date(at);
  const run = create(TrainingRunSchema, { id, model, dataset: 'iris', state, createTime: timestampFromDate(createTime) });
  return { _id: id, model, state: `RUN_STATE_${RunState[state]}`, createTime, data: toJson(TrainingRunSchema, run) as JsonObject };
}

const submit = (init: MessageInitShape<typeof SubmitRunRequestSchema>) => create(SubmitRunRequestSchema, init);

describe('RunsService', () => {
  it('validates SubmitRun: fields, the dataset, its version, one run per model, queue room; then queues the run', async () => {
    const { svc, repo, executor } = setup();
    const as = 'alice';
    await expect(svc.submit(submit({ dataset: 'iris', trainer: 't' }), as)).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, message: 'model: is required' });
    await expect(svc.submit(submit({ model: 'm', trainer: 't' }), as)).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, message: 'dataset: is required' });
    await expect(svc.submit(submit({ model: 'm', dataset: 'iris', trainer: 't', hyperparameters: { '': '1' } }), as)).rejects.toMatchObject({
      message: 'hyperparameters: keys must not be empty',
    });
    await expect(svc.submit(submit({ model: 'm', dataset: 'mnist', trainer: 't' }), as)).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining('dataset "mnist" is not known to the trainer') as unknown,
    });
    await expect(svc.submit(submit({ model: 'm', dataset: 'wine', trainer: 't' }), as)).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining('has no version yet') as unknown,
    });
    const run = await svc.submit(submit({ model: 'm', dataset: 'iris', trainer: 'builtin:linear-regression' }), as);
    expect(run).toMatchObject({ model: 'm', dataset: 'iris', datasetVersion: 3, state: RunState.QUEUED, createdBy: 'alice' });
    expect(repo.docs.map((d) => d.state)).toEqual(['RUN_STATE_QUEUED']);
    expect(executor.queued).toEqual([run.id]);
    await expect(svc.submit(submit({ model: 'm', dataset: 'iris', trainer: 't' }), as)).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining('one run per model at a time') as unknown,
    });
    executor.room = false;
    await expect(svc.submit(submit({ model: 'other', dataset: 'iris', trainer: 't' }), as)).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
  });

  it('refuses an external trainer that is not configured, naming the field and the known ones', async () => {
    const { svc, executor } = setup();
    await expect(svc.submit(submit({ model: 'm', dataset: 'iris', trainer: 'external:xgboost' }), 'alice')).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: 'trainer: "external:xgboost" is not a configured external trainer; known: external:sklearn',
    });
    const run = await svc.submit(submit({ model: 'm', dataset: 'iris', trainer: 'external:sklearn' }), 'alice');
    expect(executor.queued).toEqual([run.id]);
  });

  it('cancels a queued run', async () => {
    const { svc, repo, executor } = setup();
    const run = await svc.submit(submit({ model: 'm', dataset: 'iris', trainer: 'builtin:linear-regression' }), 'alice');
    const cancelled = await svc.cancel(create(CancelRunRequestSchema, { id: run.id }));
    expect(cancelled.state).toBe(RunState.CANCELLED);
    expect(executor.queued).toEqual([]);
    expect(repo.docs[0]?.state).toBe('RUN_STATE_CANCELLED');
  });

  it('reads runs newest first with filters and pages', async () => {
    const { svc, repo } = setup();
    repo.docs.push(
      runDoc('r1', 'churn', RunState.SUCCEEDED, 1_000),
      runDoc('r2', 'churn', RunState.FAILED, 2_000),
      runDoc('r3', 'fraud', RunState.SUCCEEDED, 2_000),
      runDoc('r4', 'churn', RunState.SUCCEEDED, 3_000),
    );
    const first = await svc.list(create(ListRunsRequestSchema, { pageSize: 2 }));
    expect(first.runs.map((r) => r.id)).toEqual(['r4', 'r3']);
    const second = await svc.list(create(ListRunsRequestSchema, { pageSize: 2, pageToken: first.nextPageToken }));
    expect(second.runs.map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(second.nextPageToken).toBe('');
    const churnOk = await svc.list(create(ListRunsRequestSchema, { model: 'churn', state: RunState.SUCCEEDED }));
    expect(churnOk.runs.map((r) => r.id)).toEqual(['r4', 'r1']);
    await expect(svc.list(create(ListRunsRequestSchema, { state: 42 as RunState }))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    await expect(svc.list(create(ListRunsRequestSchema, { pageToken: 'junk' }))).rejects.toMatchObject({ message: expect.stringMatching(/^page_token: /) as unknown });
    expect((await svc.get('r2')).state).toBe(RunState.FAILED);
  });

  it('answers NOT_FOUND for unknown runs and FAILED_PRECONDITION for cancelling an ended one', async () => {
    const { svc, repo } = setup();
    repo.docs.push(runDoc('done', 'churn', RunState.SUCCEEDED, 1_000));
    await expect(svc.get('nope')).rejects.toMatchObject({ code: Status.NOT_FOUND, message: 'run "nope" not found' });
    await expect(svc.cancel(create(CancelRunRequestSchema, { id: 'nope' }))).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(svc.cancel(create(CancelRunRequestSchema, { id: 'done' }))).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: 'run "done" already ended (RUN_STATE_SUCCEEDED); only queued or running runs can be cancelled',
    });
  });

  it('round-trips run page tokens', () => {
    const cursor = { createTime: new Date(1_700_000_000_123), id: 'run:1' };
    expect(decodeRunToken(encodeRunToken(cursor))).toEqual(cursor);
    expect(decodeRunToken('')).toBeUndefined();
  });
});
