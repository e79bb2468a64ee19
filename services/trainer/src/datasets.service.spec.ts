import type { EventEnvelope } from '@aio/events';
import type { Platform } from '@aio/host';
import { DatasetCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { ListDatasetsRequestSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { DatasetVersionsRepository } from './dataset-versions.repository.js';
import type { DatasetsRepository, TrainingDatasetDoc } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';

class FakeDatasets {
  readonly docs = new Map<string, TrainingDatasetDoc>();
  upsert(doc: TrainingDatasetDoc): Promise<void> {
    this.docs.set(doc._id, doc);
    return Promise.resolve();
  }
  find(name: string): Promise<TrainingDatasetDoc | null> {
    return Promise.resolve(this.docs.get(name) ?? null);
  }
  list(after: string | undefined, limit: number): Promise<TrainingDatasetDoc[]> {
    const names = [...this.docs.keys()].sort().filter((n) => after === undefined || n > after);
    return Promise.resolve(names.slice(0, limit).map((n) => this.docs.get(n) as TrainingDatasetDoc));
  }
}

const logged: { msg: string; attrs: unknown }[] = [];
const logger = { debug: () => undefined, info: (msg: string, attrs: unknown) => logged.push({ msg, attrs }), warn: () => undefined, error: () => undefined };
const platform = { options: { telemetry: { getLogger: () => logger } } } as unknown as Platform;

function event(id: string, init: MessageInitShape<typeof DatasetCreatedSchema>): EventEnvelope<typeof DatasetCreatedSchema> {
  return {
    id,
    type: DatasetCreatedSchema.typeName,
    source: 'aio/ingestion',
    time: new Date(),
    key: init.dataset?.name,
    message: create(DatasetCreatedSchema, init),
    headers: {},
    topic: 'aio.events.data',
    partition: 0,
    offset: '0',
  };
}

describe('DatasetsService (trainer)', () => {
  it('records each announced dataset once, keyed by name, and logs it', async () => {
    const repo = new FakeDatasets();
    const svc = new DatasetsService(repo as unknown as DatasetsRepository, {} as DatasetVersionsRepository, platform);
    await svc.onDatasetCreated(event('e1', { dataset: { name: 'iris', description: 'v1' } }));
    await svc.onDatasetCreated(event('e2', { dataset: { name: 'iris', description: 'v1' } }));
    await svc.onDatasetCreated(event('e3', { dataset: { name: 'wine' } }));
    expect([...repo.docs.keys()]).toEqual(['iris', 'wine']);
    expect((await svc.find('iris'))?.description).toBe('v1');
    expect(await svc.find('mnist')).toBeUndefined();
    expect(logged).toContainEqual({ msg: 'dataset available for training', attrs: { dataset: 'wine', 'event.id': 'e3' } });
    const page = await svc.list(create(ListDatasetsRequestSchema, { pageSize: 1 }));
    expect(page.datasets.map((d) => d.name)).toEqual(['iris']);
    const rest = await svc.list(create(ListDatasetsRequestSchema, { pageToken: page.nextPageToken }));
    expect(rest.datasets.map((d) => d.name)).toEqual(['wine']);
  });

  it('refuses an event without a dataset (the subscriber parks it in the DLQ)', async () => {
    const svc = new DatasetsService(new FakeDatasets() as unknown as DatasetsRepository, {} as DatasetVersionsRepository, platform);
    await expect(svc.onDatasetCreated(event('e9', {}))).rejects.toThrow('DatasetCreated e9 carries no dataset name');
  });
});
