import { Platform } from '@aio/host';
import { Inject, Injectable } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

/** A dataset the trainer can train on: `_id` is its name, `data` the protobuf JSON of aio.ingestion.v1.Dataset. */
export interface TrainingDatasetDoc {
  _id: string;
  data: Record<string, unknown>;
  /** Id of the DatasetCreated event that last wrote it. */
  eventId: string;
  receivedAt: Date;
}

const COLLECTION = 'training_datasets';

const trainingDatasetSchema = new Schema<TrainingDatasetDoc>(
  { _id: String, data: { type: Schema.Types.Mixed, required: true }, eventId: String, receivedAt: Date },
  { collection: COLLECTION, versionKey: false, minimize: false },
);

/** The trainer's copy of the datasets announced by ingestion (no service reads another's collections). */
@Injectable()
export class DatasetsRepository {
  readonly datasets: Model<TrainingDatasetDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.datasets = platform.mongo.model<TrainingDatasetDoc>('TrainingDataset', trainingDatasetSchema);
  }

  /** Idempotent: keyed by dataset name, so a redelivered event rewrites the same document. */
  async upsert(doc: TrainingDatasetDoc): Promise<void> {
    const { _id, ...fields } = doc;
    await this.platform.locks.run(COLLECTION, () => this.datasets.updateOne({ _id }, { $set: fields }, { upsert: true }).exec());
  }

  find(name: string): Promise<TrainingDatasetDoc | null> {
    return this.datasets.findById(name).lean<TrainingDatasetDoc>().exec();
  }

  /** Datasets ordered by name, starting after `after`. */
  list(after: string | undefined, limit: number): Promise<TrainingDatasetDoc[]> {
    return this.datasets
      .find(after === undefined ? {} : { _id: { $gt: after } })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<TrainingDatasetDoc[]>()
      .exec();
  }
}
