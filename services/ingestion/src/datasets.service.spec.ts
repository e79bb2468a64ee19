import type { Platform } from '@aio/host';
import { GrpcError, Status } from '@aio/grpc';
import type { OutboxEntry } from '@aio/mongo';
import { DatasetCreatedSchema, DatasetSchemaUpdatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { CreateDatasetRequestSchema, FieldType, ListDatasetsRequestSchema, UpdateDatasetRequestSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { DatasetDoc, DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';
import type { IntakeConsumers } from './intake.consumer.js';

/** The repository's contract, in memory. */
class FakeRepository {
  readonly docs = new Map<string, DatasetDoc>();
  insert(name: string, data: Record<string, unknown>, event: OutboxEntry): Promise<boolean> {
    if (this.docs.has(name)) return Promise.resolve(false);
    this.docs.set(name, { _id: name, data, outbox: [event] });
    return Promise.resolve(true);
  }
  find(name: string): Promise<DatasetDoc | null> {
    return Promise.resolve(this.docs.get(name) ?? null);
  }
  replaceData(name: string, expected: Record<string, unknown>, data: Record<string, unknown>, event: OutboxEntry): Promise<boolean> {
    const doc = this.docs.get(name);
    if (doc === undefined || JSON.stringify(doc.data) !== JSON.stringify(expected)) return Promise.resolve(false);
    this.docs.set(name, { ...doc, data, outbox: [...(doc.outbox ?? []), event] });
    return Promise.resolve(true);
  }
  list(after: string | undefined, limit: number): Promise<DatasetDoc[]> {
    const names = [...this.docs.keys()].sort().filter((n) => after === undefined || n > after);
    return Promise.resolve(names.slice(0, limit).map((n) => this.docs.get(n) as DatasetDoc));
  }
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const platform = { topics: { dataEvents: 'aio.events.data' }, logger: silent } as unknown as Platform;

/** Intake topics and consumers are exercised by the integration test; here they only record calls. */
class FakeIntake {
  readonly calls: string[] = [];
  ensureTopics(name: string): Promise<void> {
    this.calls.push(`topics ${name}`);
    return Promise.resolve();
  }
  start(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    return Promise.resolve();
  }
}

function service(): { svc: DatasetsService; repo: FakeRepository; intake: FakeIntake } {
  const repo = new FakeRepository();
  const intake = new FakeIntake();
  return { svc: new DatasetsService(repo as unknown as DatasetsRepository, platform, intake as unknown as IntakeConsumers), repo, intake };
}

const request = (name: string) => create(CreateDatasetRequestSchema, { name, schema: { fields: [{ name: 'x', type: FieldType.FLOAT }] } });

describe('DatasetsService', () => {
  it('stores the dataset with its DatasetCreated event for the data topic, keyed by name', async () => {
    const { svc, repo } = service();
    const dataset = await svc.create(request('iris'), 'alice');
    expect(dataset).toMatchObject({ name: 'iris', createdBy: 'alice', latestVersion: 0 });
    const entry = repo.docs.get('iris')?.outbox?.[0];
    expect(entry).toMatchObject({ topic: 'aio.events.data', key: 'iris', type: 'aio.ingestion.v1.DatasetCreated' });
    const event = fromBinary(DatasetCreatedSchema, entry?.payload ?? new Uint8Array());
    expect(event.dataset?.name).toBe('iris');
    expect(event.dataset?.createTime).toEqual(dataset.createTime);
    expect(await svc.get('iris')).toEqual(dataset);
  });

  it('creates the intake topics before the dataset exists and starts its consumer after', async () => {
    const { svc, intake } = service();
    await svc.create(request('iris'), 'alice');
    expect(intake.calls).toEqual(['topics iris', 'start iris']);
    await expect(svc.create(request('Bad'), 'alice')).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    expect(intake.calls).toHaveLength(2);
  });

  it('updates a schema compatibly (new schema version, DatasetSchemaUpdated) and refuses an incompatible change naming the field', async () => {
    const { svc, repo } = service();
    await svc.create(request('iris'), 'alice');
    const widened = await svc.update(
      create(UpdateDatasetRequestSchema, {
        name: 'iris',
        schema: { fields: [{ name: 'x', type: FieldType.FLOAT }, { name: 'y', type: FieldType.BOOL }] },
      }),
    );
    expect(widened.schemaVersion).toBe(2);
    expect(widened.schema?.fields.map((f) => f.name)).toEqual(['x', 'y']);
    const entry = repo.docs.get('iris')?.outbox?.[1];
    expect(entry?.type).toBe('aio.ingestion.v1.DatasetSchemaUpdated');
    expect(fromBinary(DatasetSchemaUpdatedSchema, entry?.payload ?? new Uint8Array()).previousSchemaVersion).toBe(1);
    expect((await svc.get('iris')).schemaVersion).toBe(2);
    await expect(
      svc.update(create(UpdateDatasetRequestSchema, { name: 'iris', schema: { fields: [{ name: 'x', type: FieldType.INT }] } })),
    ).rejects.toMatchObject({ code: Status.FAILED_PRECONDITION, message: 'schema.fields: "x" cannot change type from FLOAT to INT' });
    const same = await svc.update(create(UpdateDatasetRequestSchema, { name: 'iris', schema: widened.schema, description: 'now described' }));
    expect(same).toMatchObject({ schemaVersion: 2, description: 'now described' });
    await expect(svc.update(create(UpdateDatasetRequestSchema, { name: 'wine', schema: widened.schema }))).rejects.toMatchObject({ code: Status.NOT_FOUND });
  });

  it('answers ALREADY_EXISTS for a taken name and NOT_FOUND for an unknown one', async () => {
    const { svc } = service();
    await svc.create(request('iris'), 'alice');
    await expect(svc.create(request('iris'), 'bob')).rejects.toMatchObject({ code: Status.ALREADY_EXISTS, message: 'dataset "iris" already exists' });
    await expect(svc.get('wine')).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(svc.get('Bad Name')).rejects.toBeInstanceOf(GrpcError);
  });

  it('pages by name and leaves the token out on the last page', async () => {
    const { svc } = service();
    for (const name of ['c', 'a', 'b']) await svc.create(request(name), 'alice');
    const first = await svc.list(create(ListDatasetsRequestSchema, { pageSize: 2 }));
    expect(first.datasets.map((d) => d.name)).toEqual(['a', 'b']);
    const second = await svc.list(create(ListDatasetsRequestSchema, { pageSize: 2, pageToken: first.nextPageToken }));
    expect(second.datasets.map((d) => d.name)).toEqual(['c']);
    expect(second.nextPageToken).toBe('');
    const exact = await svc.list(create(ListDatasetsRequestSchema, { pageSize: 3 }));
    expect(exact.nextPageToken).toBe('');
  });
});
