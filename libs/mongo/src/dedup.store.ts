import type { Connection, mongo } from 'mongoose';
import type { MongoLogger } from './mongo.logger.js';

export interface MongoDedupStoreOptions {
  connection: Connection;
  /** The consumer group whose processed events are remembered; part of every `_id`. */
  consumerGroup: string;
  /** Default `processed_events`; one collection can serve every group of a service. */
  collection?: string;
  /** How long ids are kept by `prune()`. Longer than any redelivery window (topic retention). Default 7 days. */
  retentionMs?: number;
  logger?: MongoLogger;
}

interface ProcessedEvent {
  _id: string;
  group: string;
  createdAt: Date;
}

const DUPLICATE_KEY = 11000;

/**
 * Durable event-id dedup for idempotent consumers: `_id` = `<consumerGroup>:<eventId>`, so `add` is a
 * single insert whose duplicate-key error means "already there". Same shape as @aio/events'
 * DedupStore. Old ids are pruned by a `createdAt` query because FerretDB has no TTL indexes.
 */
export class MongoDedupStore {
  readonly consumerGroup: string;
  readonly retentionMs: number;
  private readonly collection: mongo.Collection<ProcessedEvent>;

  constructor(private readonly options: MongoDedupStoreOptions) {
    if (options.consumerGroup === '') throw new Error('MongoDedupStore needs a consumer group');
    this.consumerGroup = options.consumerGroup;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 60 * 60 * 1000;
    this.collection = options.connection.collection<ProcessedEvent>(options.collection ?? 'processed_events');
  }

  async has(id: string): Promise<boolean> {
    const found = await this.collection.findOne({ _id: this.key(id) }, { projection: { _id: 1 } });
    return found !== null;
  }

  async add(id: string): Promise<void> {
    try {
      await this.collection.insertOne({ _id: this.key(id), group: this.consumerGroup, createdAt: new Date() });
    } catch (err) {
      if (isDuplicateKey(err)) return;
      throw err;
    }
  }

  /** The index `prune` uses. Call once at start (plain compound index: FerretDB builds it). */
  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ group: 1, createdAt: 1 }, { name: 'group_createdAt' });
  }

  /** Deletes this group's ids older than the retention; returns how many. Run it on a timer. */
  async prune(now: Date = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.retentionMs);
    const { deletedCount } = await this.collection.deleteMany({ group: this.consumerGroup, createdAt: { $lt: cutoff } });
    if (deletedCount > 0) this.options.logger?.debug('pruned processed event ids', { group: this.consumerGroup, deleted: deletedCount });
    return deletedCount;
  }

  /** Prunes every `everyMs` until the returned function is called. The timer does not keep the process alive. */
  startPruning(everyMs = 60 * 60 * 1000): () => void {
    const timer = setInterval(() => {
      this.prune().catch((err: unknown) => this.options.logger?.warn('pruning processed event ids failed; will retry', { group: this.consumerGroup }, err));
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private key(id: string): string {
    return `${this.consumerGroup}:${id}`;
  }
}

export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === DUPLICATE_KEY;
}
