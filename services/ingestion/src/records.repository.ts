import { Platform } from '@aio/host';
import { ensureIndexes, isDuplicateKey } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';
import type { FieldValue } from './record.validator.js';

/**
 * The latest value of one key: `_id` = `<dataset>:<key>`, so storing a key again replaces it (dedup by
 * key, last write wins). `seq` is the dataset's ingest sequence number of this write.
 */
export interface RecordDoc {
  _id: string;
  ds: string;
  key: string;
  seq: number;
  values: Record<string, FieldValue>;
  eventTime?: Date;
  ingestTime: Date;
}

const mixed = Schema.Types.Mixed;
const recordFields = { _id: String, ds: String, key: String, seq: Number, values: mixed, eventTime: Date, ingestTime: Date };
const recordSchema = new Schema<RecordDoc>(recordFields, { collection: 'records', versionKey: false, minimize: false });
recordSchema.index({ ds: 1, seq: 1 });

/** Attempts at replacing keys when another writer keeps re-creating them between our delete and insert. */
const MAX_REPLACE_ROUNDS = 5;

export const recordId = (dataset: string, key: string): string => `${dataset}:${key}`;

/**
 * Record storage, the only I/O on records. Writes go in bulk: FerretDB 1.24 inserts ~15k documents/s
 * with insertMany but runs each update or upsert as a scan of the collection (~200/s at a few thousand
 * documents), so a batch is inserted first and only the keys that already exist are replaced, with one
 * deleteMany + one insertMany whatever their number.
 */
@Injectable()
export class RecordsRepository implements OnModuleInit {
  readonly records: Model<RecordDoc>;

  constructor(@Inject(Platform) platform: Platform) {
    this.records = platform.mongo.model<RecordDoc>('Record', recordSchema);
  }

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.records);
  }

  /**
   * Stores the batch (one document per key; the caller collapsed repeats). Returns how many keys
   * already existed and were replaced.
   */
  async write(docs: readonly RecordDoc[]): Promise<{ replaced: number }> {
    if (docs.length === 0) return { replaced: 0 };
    let existing = await this.insertNew(docs);
    const replaced = existing.length;
    for (let round = 1; existing.length > 0; round++) {
      if (round > MAX_REPLACE_ROUNDS) {
        throw new Error(`could not replace ${existing.length} records after ${MAX_REPLACE_ROUNDS} rounds: another writer keeps re-creating the same keys`);
      }
      const ids = existing.map((d) => d._id);
      await this.records.collection.deleteMany({ _id: { $in: ids } } as never);
      existing = await this.insertNew(existing);
    }
    return { replaced };
  }

  /** Inserts what it can; returns the documents whose `_id` was taken. */
  private async insertNew(docs: readonly RecordDoc[]): Promise<RecordDoc[]> {
    try {
      await this.records.collection.insertMany(docs.map((d) => ({ ...d })) as never[], { ordered: false });
      return [];
    } catch (err) {
      const errors = writeErrorsOf(err);
      if (errors === undefined || errors.some((e) => e.code !== 11000)) throw err;
      return errors.map((e) => docs[e.index]).filter((d): d is RecordDoc => d !== undefined);
    }
  }

  /**
   * The records of `dataset` with seq <= watermark, streamed with a bounded cursor batch. While no
   * batch writes to the dataset (the caller holds its gate exclusively) this is the dataset as of the
   * watermark; writes after it carry higher sequence numbers and are left out.
   */
  async *upTo(dataset: string, watermark: number): AsyncGenerator<RecordDoc> {
    for await (const doc of this.records.find({ ds: dataset, seq: { $lte: watermark } }).lean<RecordDoc>().batchSize(1_000).cursor()) {
      yield doc;
    }
  }
}

interface WriteErrorLike {
  index: number;
  code: number;
}

function writeErrorsOf(err: unknown): WriteErrorLike[] | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(writeErrors)) return writeErrors as WriteErrorLike[];
  // A single failed insert may surface as one error instead of a list.
  if (isDuplicateKey(err) && typeof (err as { index?: unknown }).index === 'number') return [err as WriteErrorLike];
  return undefined;
}
