import { Platform } from '@aio/host';
import { outboxField, withOutboxOnCreate, type OutboxEntry } from '@aio/mongo';
import { DatasetCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

/** A dataset document: `_id` is the dataset name, `data` the protobuf JSON of aio.ingestion.v1.Dataset (the message is the DTO). */
export interface DatasetDoc {
  _id: string;
  data: Record<string, unknown>;
  outbox?: OutboxEntry[];
}

const COLLECTION = 'datasets';

const datasetSchema = new Schema<DatasetDoc>(
  { _id: String, data: { type: Schema.Types.Mixed, required: true }, outbox: outboxField },
  { collection: COLLECTION, versionKey: false, minimize: false },
);

/** The ingestion service's only MongoDB I/O, and the outbox relay of its collection. */
@Injectable()
export class DatasetsRepository implements OnApplicationBootstrap {
  readonly datasets: Model<DatasetDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.datasets = platform.mongo.model<DatasetDoc>('Dataset', datasetSchema);
  }

  onApplicationBootstrap(): void {
    this.platform.startOutbox([this.datasets], [DatasetCreatedSchema]);
  }

  /** Inserts the dataset and its DatasetCreated entry in one write; false when the name is taken. */
  async insert(name: string, data: Record<string, unknown>, event: OutboxEntry): Promise<boolean> {
    const inserted = await this.platform.locks.run(COLLECTION, async () => {
      const res = await this.datasets.updateOne({ _id: name }, { $setOnInsert: withOutboxOnCreate({ data }, event) }, { upsert: true }).exec();
      return res.upsertedCount === 1;
    });
    if (inserted) this.platform.nudgeOutbox();
    return inserted;
  }

  find(name: string): Promise<DatasetDoc | null> {
    return this.datasets.findById(name, { outbox: 0 }).lean<DatasetDoc>().exec();
  }

  /** Datasets ordered by name, starting after `after`. */
  list(after: string | undefined, limit: number): Promise<DatasetDoc[]> {
    return this.datasets
      .find(after === undefined ? {} : { _id: { $gt: after } }, { outbox: 0 })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<DatasetDoc[]>()
      .exec();
  }
}
