import { decodePageToken, encodePageToken, pageSize, Platform } from '@aio/host';
import { DatasetCreatedSchema, DatasetSchemaUpdatedSchema, DatasetVersionCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { DatasetSchema$, DatasetVersionSchema, type Dataset, type DatasetVersion, type ListDatasetsRequest, type ListDatasetsResponse } from '@aio/proto/aio/ingestion/v1/ingestion';
import type { EventEnvelope } from '@aio/events';
import { fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import type { Logger } from '@aio/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetVersionsRepository } from './dataset-versions.repository.js';
import { DatasetsRepository, type TrainingDatasetDoc } from './datasets.repository.js';

/** The datasets the trainer can train on, learned from ingestion's DatasetCreated events. */
@Injectable()
export class DatasetsService {
  private readonly logger: Logger;

  constructor(
    @Inject(DatasetsRepository) private readonly repository: DatasetsRepository,
    @Inject(DatasetVersionsRepository) private readonly versions: DatasetVersionsRepository,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('trainer.datasets');
  }

  /** Handles one DatasetCreated; idempotent (keyed by dataset name), so redelivery is harmless. */
  onDatasetCreated(event: EventEnvelope<typeof DatasetCreatedSchema>): Promise<void> {
    return this.record(event.message.dataset, event.id, 'DatasetCreated', 'dataset available for training');
  }

  /** A compatible schema change: the trainer trains on the new schema from now on. */
  onDatasetSchemaUpdated(event: EventEnvelope<typeof DatasetSchemaUpdatedSchema>): Promise<void> {
    return this.record(event.message.dataset, event.id, 'DatasetSchemaUpdated', 'dataset schema updated');
  }

  private async record(dataset: Dataset | undefined, eventId: string, type: string, message: string): Promise<void> {
    if (dataset === undefined || dataset.name === '') {
      // Nothing to record, and retrying cannot fix the payload: the subscriber parks it in the DLQ.
      throw new Error(`${type} ${eventId} carries no dataset name`);
    }
    await this.repository.upsert({ _id: dataset.name, data: toJson(DatasetSchema$, dataset) as JsonObject, eventId, receivedAt: new Date() });
    this.logger.info(message, { dataset: dataset.name, 'event.id': eventId });
  }

  /** Handles one DatasetVersionCreated: the snapshot (and its export) becomes trainable. Idempotent. */
  async onDatasetVersionCreated(event: EventEnvelope<typeof DatasetVersionCreatedSchema>): Promise<void> {
    const version = event.message.version;
    if (version === undefined || version.dataset === '' || version.version === 0) {
      throw new Error(`DatasetVersionCreated ${event.id} carries no dataset version`);
    }
    await this.recordVersion(version, event.id);
  }

  /**
   * Records a dataset version; `source` is the event id, or the call that returned it (a retrain's own
   * CreateDatasetVersion, recorded before its event arrives). Idempotent: keyed by dataset and version.
   */
  async recordVersion(version: DatasetVersion, source: string): Promise<void> {
    await this.versions.upsert({
      _id: `${version.dataset}:${version.version}`,
      dataset: version.dataset,
      version: version.version,
      data: toJson(DatasetVersionSchema, version) as JsonObject,
      eventId: source,
    });
    this.logger.info('dataset version available for training', { dataset: version.dataset, 'dataset.version': version.version, records: Number(version.recordCount) });
  }

  /** A known dataset version (0 = the newest), or undefined. */
  async findVersion(dataset: string, version: number): Promise<DatasetVersion | undefined> {
    const doc = await this.versions.find(dataset, version);
    return doc === null ? undefined : fromJson(DatasetVersionSchema, doc.data as JsonObject, { ignoreUnknownFields: true });
  }

  async find(name: string): Promise<Dataset | undefined> {
    const doc = await this.repository.find(name);
    return doc === null ? undefined : datasetOf(doc);
  }

  async list(request: ListDatasetsRequest): Promise<Omit<ListDatasetsResponse, '$typeName'>> {
    const size = pageSize(request.pageSize);
    const docs = await this.repository.list(decodePageToken(request.pageToken), size + 1);
    const page = docs.slice(0, size).map(datasetOf);
    const last = page.at(-1);
    return { datasets: page, nextPageToken: docs.length > size && last !== undefined ? encodePageToken(last.name) : '' };
  }
}

function datasetOf(doc: TrainingDatasetDoc): Dataset {
  return fromJson(DatasetSchema$, doc.data as JsonObject, { ignoreUnknownFields: true });
}
