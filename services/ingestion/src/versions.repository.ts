import { Platform } from '@aio/host';
import { ensureIndexes, isDuplicateKey, outboxField, withOutboxOnCreate, type OutboxEntry } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';
import { DatasetsRepository } from './datasets.repository.js';

/** A dataset version: `_id` = `<dataset>:<version, 10 digits>`, `data` the protobuf JSON of aio.ingestion.v1.DatasetVersion. */
export interface VersionDoc {
  _id: string;
  ds: string;
  version: number;
  data: Record<string, unknown>;
  outbox?: OutboxEntry[];
}

const versionSchema = new Schema<VersionDoc>(
  { _id: String, ds: String, version: Number, data: { type: Schema.Types.Mixed, required: true }, outbox: outboxField },
  { collection: 'dataset_versions', versionKey: false, minimize: false },
);
versionSchema.index({ ds: 1, version: -1 });

export const versionId = (dataset: string, version: number): string => `${dataset}:${String(version).padStart(10, '0')}`;

/** Dataset versions, immutable once inserted; each insert carries its DatasetVersionCreated event. */
@Injectable()
export class VersionsRepository implements OnModuleInit {
  readonly versions: Model<VersionDoc>;

  constructor(
    @Inject(Platform) platform: Platform,
    @Inject(DatasetsRepository) datasets: DatasetsRepository,
  ) {
    this.versions = platform.mongo.model<VersionDoc>('DatasetVersion', versionSchema);
    datasets.relayOutboxOf(this.versions as unknown as Model<never>);
    this.platform = platform;
  }

  private readonly platform: Platform;

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.versions);
  }

  /** The highest version number of the dataset; 0 when it has none. */
  async latest(dataset: string): Promise<number> {
    const doc = await this.versions.findOne({ ds: dataset }, { version: 1 }).sort({ version: -1 }).lean<Pick<VersionDoc, 'version'>>().exec();
    return doc?.version ?? 0;
  }

  /** Inserts the version with its event; false when the number is taken. */
  async insert(dataset: string, version: number, data: Record<string, unknown>, event: OutboxEntry): Promise<boolean> {
    try {
      await this.versions.collection.insertOne(withOutboxOnCreate({ _id: versionId(dataset, version), ds: dataset, version, data }, event) as never);
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
    this.platform.nudgeOutbox();
    return true;
  }

  /** Versions newest first, below `before` when given. */
  list(dataset: string, before: number | undefined, limit: number): Promise<VersionDoc[]> {
    const filter = before === undefined ? { ds: dataset } : { ds: dataset, version: { $lt: before } };
    return this.versions.find(filter, { outbox: 0 }).sort({ version: -1 }).limit(limit).lean<VersionDoc[]>().exec();
  }

  find(dataset: string, version: number): Promise<VersionDoc | null> {
    return this.versions.findById(versionId(dataset, version), { outbox: 0 }).lean<VersionDoc>().exec();
  }
}
