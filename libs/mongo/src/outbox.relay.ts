import { mongo } from 'mongoose';
import { OUTBOX_FIELD, type OutboxEntry } from './outbox.entry.js';
import type { MongoLogger } from './mongo.logger.js';
import type { WriteLocks } from './write.locks.js';

/** Where an entry came from, for logs and span attributes. */
export interface OutboxOrigin {
  collection: string;
  documentId: unknown;
}

export type OutboxPublish = (entry: OutboxEntry, origin: OutboxOrigin) => Promise<void>;

type OutboxCollection = mongo.Collection<mongo.Document>;

/** A mongoose Model (its `.collection` is used) or a driver collection. */
export type OutboxSource = OutboxCollection | { readonly collection: OutboxCollection };

export interface OutboxRelayOptions {
  sources: readonly OutboxSource[];
  /** Resolves once the broker has acknowledged the event; only then is the entry removed. */
  publish: OutboxPublish;
  logger: MongoLogger;
  /**
   * Poll period when idle. Default 5000 ms. Every write that adds an entry is followed by `nudge()`, which
   * skips the wait: the poll only finds entries nothing nudged for (another replica stopped between its
   * write and its relay), so it can be slow; each poll is a query per source.
   */
  intervalMs?: number;
  /** First wait after a failed pass; it doubles per failure up to maxBackoffMs. Default 1000 ms. */
  retryMs?: number;
  /** Documents read per collection per pass. Default 100. */
  batchSize?: number;
  /** Documents drained in parallel (entries of one document are always sequential). Default 4. */
  concurrency?: number;
  /** Ceiling of the exponential backoff after failed passes. Default 30 s. */
  maxBackoffMs?: number;
  /**
   * On FerretDB, the same WriteLocks the service wraps its writes in (key: collection name). Without
   * it, a removal racing a request's update of the same document can overwrite that update there.
   */
  locks?: WriteLocks;
}

export interface OutboxPassResult {
  published: number;
  failed: number;
  /** A collection returned a full batch: more documents are probably waiting. */
  more: boolean;
}

export interface OutboxRelayStats {
  published: number;
  publishFailures: number;
  passes: number;
  /** Documents with pending entries found by the last pass, at most batchSize per source (cheap gauge). */
  lastPendingDocuments: number;
}

const PENDING = { [`${OUTBOX_FIELD}.0`]: { $exists: true } };

/**
 * Publishes outbox entries and removes them, at least once: an entry leaves its document only after
 * `publish` resolved, so a crash between the two republishes it and consumers dedup on the entry id.
 *
 * Removal is `$pop: { outbox: -1 }` guarded by `{ 'outbox.0.id': <published id> }`, not `$pull` by id:
 * FerretDB 1.24 implements `$pull` by whole-value equality only, so `$pull: { outbox: { id } }` matches
 * nothing there (silently). Entries are appended by `$push` and published front to back, so the first
 * element is always the one just published; the guard makes a racing relay's second pop a no-op.
 */
export class OutboxRelay {
  readonly stats: OutboxRelayStats = { published: 0, publishFailures: 0, passes: 0, lastPendingDocuments: 0 };
  private readonly collections: OutboxCollection[];
  private readonly intervalMs: number;
  private readonly retryMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly maxBackoffMs: number;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private nudged = false;
  private wake: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private consecutiveFailures = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    if (options.sources.length === 0) throw new Error('OutboxRelay needs at least one source collection');
    this.collections = options.sources.map((s) => ('collection' in s && typeof s.collection === 'object' ? s.collection : (s as OutboxCollection)));
    this.intervalMs = positive(options.intervalMs ?? 5_000, 'intervalMs');
    this.retryMs = positive(options.retryMs ?? 1_000, 'retryMs');
    this.batchSize = positive(options.batchSize ?? 100, 'batchSize');
    this.concurrency = positive(options.concurrency ?? 4, 'concurrency');
    this.maxBackoffMs = positive(options.maxBackoffMs ?? 30_000, 'maxBackoffMs');
  }

  /** Starts polling in the background. Idempotent. */
  start(): void {
    if (this.loop !== undefined) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Runs a pass now instead of at the next tick (call after committing a write with an entry). */
  nudge(): void {
    this.nudged = true;
    // During a failure backoff a nudge does not shorten the wait: a broker that is down would be hammered.
    if (this.consecutiveFailures === 0) this.wake?.();
  }

  /** Lets the current publish finish, then stops. Entries not yet published stay for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.chain;
    // Stopped means "no background loop"; an explicit runOnce() afterwards (a final drain) still works.
    this.stopping = false;
  }

  /** One pass over every source. Passes never overlap, whether from the loop or from callers. */
  runOnce(): Promise<OutboxPassResult> {
    const pass = this.chain.then(() => this.pass());
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  /** Entries waiting in all sources (an aggregation; poll it for a metric, not per request). */
  async pendingCount(): Promise<number> {
    let total = 0;
    for (const collection of this.collections) {
      const [row] = await collection.aggregate<{ n: number }>([{ $match: PENDING }, { $unwind: `$${OUTBOX_FIELD}` }, { $count: 'n' }]).toArray();
      total += row?.n ?? 0;
    }
    return total;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.nudged = false;
      let result: OutboxPassResult;
      try {
        result = await this.runOnce();
      } catch (err) {
        this.options.logger.error('outbox pass failed; retrying with backoff', { failures: this.consecutiveFailures + 1 }, err);
        result = { published: 0, failed: 1, more: false };
      }
      if (this.stopping) break;
      if (result.failed > 0) {
        this.consecutiveFailures += 1;
        await this.sleep(Math.min(this.retryMs * 2 ** this.consecutiveFailures, this.maxBackoffMs));
      } else {
        this.consecutiveFailures = 0;
        if (!result.more && !this.nudged) await this.sleep(this.intervalMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async pass(): Promise<OutboxPassResult> {
    const result: OutboxPassResult = { published: 0, failed: 0, more: false };
    let pendingDocuments = 0;
    for (const collection of this.collections) {
      if (this.stopping) break;
      // Oldest first across documents; within a document the array order is the write order.
      const docs = await collection
        .find(PENDING, { projection: { [OUTBOX_FIELD]: 1 }, sort: { [`${OUTBOX_FIELD}.0.createdAt`]: 1 }, limit: this.batchSize })
        .toArray();
      pendingDocuments += docs.length;
      if (docs.length === this.batchSize) result.more = true;
      await eachLimited(docs, this.concurrency, (doc) => this.drain(collection, doc, result));
    }
    this.stats.passes += 1;
    this.stats.lastPendingDocuments = pendingDocuments;
    return result;
  }

  private async drain(collection: OutboxCollection, doc: mongo.WithId<mongo.Document>, result: OutboxPassResult): Promise<void> {
    const origin: OutboxOrigin = { collection: collection.collectionName, documentId: doc._id };
    const raw: unknown = doc[OUTBOX_FIELD];
    const entries: unknown[] = Array.isArray(raw) ? raw : [];
    for (const item of entries) {
      if (this.stopping) return;
      const entry = toEntry(item);
      if (entry === undefined) {
        // Without an id the entry can be neither deduplicated nor removed safely: an operator must look.
        this.options.logger.error('malformed outbox entry blocks its document; fix or remove it by hand', { ...origin });
        result.failed += 1;
        return;
      }
      try {
        await this.options.publish(entry, origin);
      } catch (err) {
        // Later entries of this document wait too: publishing them first would break per-key order.
        this.stats.publishFailures += 1;
        result.failed += 1;
        this.options.logger.warn('outbox publish failed; the entry stays for the next pass', { ...origin, eventId: entry.id, topic: entry.topic }, err);
        return;
      }
      this.stats.published += 1;
      result.published += 1;
      const pop = (): Promise<mongo.UpdateResult> =>
        collection.updateOne({ _id: doc._id, [`${OUTBOX_FIELD}.0.id`]: entry.id }, { $pop: { [OUTBOX_FIELD]: -1 } });
      const popped = this.options.locks ? await this.options.locks.run(collection.collectionName, pop) : await pop();
      if (popped.matchedCount === 0) {
        this.options.logger.debug('outbox entry was already removed (published by another relay too)', { ...origin, eventId: entry.id });
      }
    }
  }
}

function toEntry(value: unknown): OutboxEntry | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['id'] !== 'string' || typeof v['topic'] !== 'string' || typeof v['key'] !== 'string' || typeof v['type'] !== 'string') {
    return undefined;
  }
  const payload = toBytes(v['payload']);
  if (payload === undefined) return undefined;
  const entry: OutboxEntry = {
    id: v['id'],
    topic: v['topic'],
    key: v['key'],
    type: v['type'],
    payload,
    createdAt: v['createdAt'] instanceof Date ? v['createdAt'] : new Date(0),
  };
  if (typeof v['traceparent'] === 'string') entry.traceparent = v['traceparent'];
  if (typeof v['tracestate'] === 'string') entry.tracestate = v['tracestate'];
  return entry;
}

function toBytes(value: unknown): Buffer | undefined {
  if (value instanceof mongo.Binary) return Buffer.from(value.buffer.buffer, value.buffer.byteOffset, value.position);
  if (value instanceof Uint8Array) return Buffer.from(value);
  return undefined;
}

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`OutboxRelay ${name} must be a positive number, got ${value}`);
  return value;
}
