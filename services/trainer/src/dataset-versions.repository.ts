import { Platform } from '@aio/host';
import { ensureIndexes } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

/** A dataset version (snapshot) announced by ingestion; `data` is the protobuf JSON of aio.ingestion.v1.DatasetVersion. */
export interface DatasetVersionDoc {
  _id: string;
  dataset: string;
  version: number;
  data: Record<string, unknown>;
  eventId: string;
}

const COLLECTION = 'training_dataset_versions';

const versionSchema = new Schema<DatasetVersionDoc>(
  { _id: String, dataset: { type: String, required: true }, version: { type: Number, required: true }, data: { type: Schema.Types.Mixed, required: true }, eventId: String },
  { collection: COLLECTION, versionKey: false, minimize: false },
);
versionSchema.index({ dataset: 1, version: -1 }, { unique: true });

/** The trainer's copy of the dataset versions it can train on (learned from DatasetVersionCreated). */
@Injectable()
export class DatasetVersionsRepository implements OnModuleInit {
  readonly versions: Model<DatasetVersionDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.versions = platform.mongo.model<DatasetVersionDoc>('TrainingDatasetVersion', versionSchema);
  }

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.versions, this.platform.logger);
  }

  /** Idempotent: keyed by dataset and version, so a redelivered event rewrites the same document. */
  async upsert(doc: DatasetVersionDoc): Promise<void> {
    const { _id, ...fields } = doc;
    await this.platform.locks.run(COLLECTION, () => this.versions.updateOne({ _id }, { $set: fields }, { upsert: true }).exec());
  }

  /** The given version, or the newest one when `version` is 0. */
  find(dataset: string, version: number): Promise<DatasetVersionDoc | null> {
    const query = version === 0 ? this.versions.findOne({ dataset }).sort({ version: -1 }) : this.versions.findById(`${dataset}:${version}`);
    return query.lean<DatasetVersionDoc>().exec();
  }
}
