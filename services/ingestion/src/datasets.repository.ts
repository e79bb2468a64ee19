import { Platform } from '@aio/host';
import { outboxField, withOutbox, withOutboxOnCreate, type OutboxEntry } from '@aio/mongo';
import { DatasetCreatedSchema, DatasetSchemaUpdatedSchema, DatasetVersionCreatedSchema, RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

/** A dataset document: `_id` is the dataset name, `data` the protobuf JSON of aio.ingestion.v1.Dataset (the message is the DTO). */
export interface DatasetDoc {
  _id: string;
  data: Record<string, unknown>;
  /** Intake state; absent until the first batch. */
  intake?: IntakeState;
  outbox?: OutboxEntry[];
}

/** Counters and positions of intake, kept on the dataset document so a batch's effect and its event are one write. */
export interface IntakeState {
  /** Highest ingest sequence number handed out; records carry theirs. */
  seq?: number;
  accepted?: number;
  rejected?: number;
  duplicates?: number;
  /** Accepted since the latest version's watermark was taken. */
  sinceVersion?: number;
  /** Per partition of aio.ingest.<dataset> (`p<n>`): the highest offset whose batch is fully counted. */
  kafka?: Record<string, number>;
}

export interface BatchCounts {
  accepted: number;
  rejected: number;
  duplicates: number;
}

/** Totals after a batch, for its RecordBatchCommitted event. */
export interface BatchTotals {
  accepted: number;
  sinceVersion: number;
}

export interface KafkaPosition {
  partition: number;
  offset: number;
}

const COLLECTION = 'datasets';
/** commitBatch's attempts at a write whose expected totals still hold (other replicas count meanwhile). */
const MAX_COMMIT_ATTEMPTS = 10;

const datasetSchema = new Schema<DatasetDoc>(
  { _id: String, data: { type: Schema.Types.Mixed, required: true }, intake: { type: Schema.Types.Mixed }, outbox: outboxField },
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
    this.platform.startOutbox(
      [this.datasets, ...this.extraOutboxSources],
      [DatasetCreatedSchema, RecordBatchCommittedSchema, DatasetVersionCreatedSchema, DatasetSchemaUpdatedSchema],
    );
  }

  /**
   * Per dataset, the totals as of this process's latest allocate or commitBatch: what the next
   * commitBatch expects to find (a guess checked by its write, never trusted).
   */
  private readonly seen = new Map<string, BatchTotals>();

  /** Other collections of this service whose documents carry outbox entries (one relay per service). */
  private readonly extraOutboxSources: Model<never>[] = [];

  relayOutboxOf(model: Model<never>): void {
    this.extraOutboxSources.push(model);
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

  /**
   * Hands out `count` consecutive ingest sequence numbers and returns them with the dataset's
   * definition as of that moment (one round trip); null when the dataset does not exist.
   * Serialised per collection: FerretDB loses concurrent updates of one document.
   */
  allocate(name: string, count: number): Promise<{ first: number; last: number; data: Record<string, unknown> } | null> {
    return this.platform.locks.run(COLLECTION, async () => {
      const doc = (await this.datasets.collection.findOneAndUpdate(
        { _id: name } as never,
        { $inc: { 'intake.seq': count } },
        // No projection: FerretDB 1.24's findAndModify does not implement `fields`.
        { returnDocument: 'after' },
      )) as DatasetDoc | null;
      const last = doc?.intake?.seq;
      if (doc === null || last === undefined) return null;
      this.seen.set(name, totalsOf(doc.intake));
      return { first: last - count + 1, last, data: doc.data };
    });
  }

  /** Intake state of one dataset (undefined fields: nothing ingested yet); null when it does not exist. */
  async intake(name: string): Promise<IntakeState | null> {
    const doc = await this.datasets.findById(name, { intake: 1 }).lean<Pick<DatasetDoc, 'intake'>>().exec();
    return doc === null ? null : (doc.intake ?? {});
  }

  /**
   * Adds a batch's counts, moves the Kafka position (when the batch came from Kafka) and queues its
   * event, in one write: after a crash either all of it happened or none did. The event carries the
   * totals after the batch, computed from the totals this process last saw; the write applies only if
   * the document still has them, else (another replica counted, a version reset the count) they are
   * read again and the write retried, so the totals in an event are exact. One round trip in the
   * usual case.
   */
  async commitBatch(
    name: string,
    counts: BatchCounts,
    kafka: KafkaPosition | undefined,
    event: (totals: BatchTotals) => OutboxEntry | undefined,
  ): Promise<BatchTotals> {
    const update: Record<string, unknown> = {
      $inc: { 'intake.accepted': counts.accepted, 'intake.rejected': counts.rejected, 'intake.duplicates': counts.duplicates, 'intake.sinceVersion': counts.accepted },
    };
    if (kafka !== undefined) update['$max'] = { [`intake.kafka.p${kafka.partition}`]: kafka.offset };
    const totals = await this.platform.locks.run(COLLECTION, async () => {
      for (let attempt = 1, before = this.seen.get(name); ; attempt++, before = undefined) {
        if (attempt > MAX_COMMIT_ATTEMPTS) throw new Error(`dataset "${name}": its counters changed under ${MAX_COMMIT_ATTEMPTS} attempts at adding a batch`);
        if (before === undefined) {
          const intake = await this.intake(name);
          // Nothing to count on: the dataset is gone.
          if (intake === null) return { accepted: counts.accepted, sinceVersion: counts.accepted };
          before = totalsOf(intake);
        }
        const after = { accepted: before.accepted + counts.accepted, sinceVersion: before.sinceVersion + counts.accepted };
        const entry = event(after);
        const res = await this.datasets.collection.updateOne(
          { _id: name, 'intake.accepted': expected(before.accepted), 'intake.sinceVersion': expected(before.sinceVersion) } as never,
          entry === undefined ? update : withOutbox(update, entry),
        );
        if (res.matchedCount === 1) {
          this.seen.set(name, after);
          return after;
        }
      }
    });
    if (counts.accepted > 0) this.platform.nudgeOutbox();
    return totals;
  }

  /** Takes a version's watermark: the highest sequence number handed out so far; restarts the since-version count. */
  sealWatermark(name: string): Promise<number> {
    return this.platform.locks.run(COLLECTION, async () => {
      const seq = (await this.intake(name))?.seq ?? 0;
      await this.datasets.collection.updateOne({ _id: name } as never, { $set: { 'intake.sinceVersion': 0 } });
      this.seen.delete(name);
      return seq;
    });
  }

  /** Records the newest version number on the dataset (never lowers it). */
  async setLatestVersion(name: string, version: number): Promise<void> {
    await this.platform.locks.run(COLLECTION, () => this.datasets.collection.updateOne({ _id: name } as never, { $max: { 'data.latestVersion': version } }));
  }

  /**
   * Replaces the dataset's definition if it is still `expected` (the caller checked compatibility
   * against it); false when someone changed it meanwhile.
   */
  async replaceData(name: string, expected: Record<string, unknown>, data: Record<string, unknown>, event: OutboxEntry): Promise<boolean> {
    const replaced = await this.platform.locks.run(COLLECTION, async () => {
      const current = await this.find(name);
      if (current === null || JSON.stringify(current.data) !== JSON.stringify(expected)) return false;
      await this.datasets.collection.updateOne({ _id: name } as never, withOutbox({ $set: { data } }, event));
      return true;
    });
    if (replaced) this.platform.nudgeOutbox();
    return replaced;
  }

  find(name: string): Promise<DatasetDoc | null> {
    return this.datasets.findById(name, { outbox: 0 }).lean<DatasetDoc>().exec();
  }

  /** Every dataset name (intake starts a consumer per dataset). */
  async names(): Promise<string[]> {
    const docs = await this.datasets.find({}, { _id: 1 }).lean<{ _id: string }[]>().exec();
    return docs.map((d) => d._id);
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

function totalsOf(intake: IntakeState | undefined): BatchTotals {
  return { accepted: intake?.accepted ?? 0, sinceVersion: intake?.sinceVersion ?? 0 };
}

/** Matches a counter holding `n`, or absent when `n` is 0. */
function expected(n: number): number | { $in: (number | null)[] } {
  return n === 0 ? { $in: [0, null] } : n;
}
