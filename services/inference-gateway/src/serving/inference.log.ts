import { setTimeout as sleep } from 'node:timers/promises';
import type { PublishItem } from '@aio/events';
import { InferenceRecordSchema, type InferenceRecord } from '@aio/proto/aio/gateway/v1/inference_log';
import { RateLimiter, type Logger } from '@aio/telemetry';
import type { MessageInitShape } from '@bufbuild/protobuf';

export type InferenceRecordInit = MessageInitShape<typeof InferenceRecordSchema>;

export interface InferenceLogOptions {
  /** Share of requests recorded, 0..1. */
  sampleRate: number;
  /** Most records per second (a token bucket holding one second's worth); 0 = no limit. */
  maxPerSecond: number;
  /** Most input bytes recorded per second; 0 = no limit. */
  maxBytesPerSecond: number;
  /** Records waiting to be published; beyond it new records are dropped and counted. */
  queueLimit: number;
  /** Records per producer request. */
  batchSize: number;
  /**
   * How long a record waits for companions before a batch smaller than batchSize is published (Kafka's
   * linger.ms): at 200 records/s, 200 ms turns ~200 produce requests, fetches and offset commits a
   * second into ~5. 0 = publish as soon as the current event-loop turn ends.
   */
  lingerMs: number;
  topic: string;
  source: string;
  publish: (items: PublishItem[]) => Promise<unknown>;
  logger: Logger;
  random?: () => number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface InferenceLogCounts {
  published: number;
  droppedQueueFull: number;
  droppedPublishFailed: number;
  /** Sampled requests not recorded because the records-per-second limit was reached. */
  rateLimited: number;
}

/**
 * Inference records on their way to `aio.inference.log`. A request only ever appends to a bounded
 * in-memory queue (or drops, counted, when it is full); a background loop publishes the queue in
 * batches, so records accumulate into larger batches exactly when the load is high. Nothing here
 * waits on Kafka in a request's path, and a broker outage costs records, never requests.
 */
export class InferenceLog {
  private readonly queue: InferenceRecordInit[] = [];
  private flushing: Promise<void> | undefined;
  /** Ends the current linger early (a full batch, close()). */
  private wake: (() => void) | undefined;
  private closed = false;
  private outage = false;
  readonly counts: InferenceLogCounts = { published: 0, droppedQueueFull: 0, droppedPublishFailed: 0, rateLimited: 0 };
  private readonly random: () => number;
  private readonly limiter: RateLimiter;
  private readonly bytes: RateLimiter;

  constructor(private readonly options: InferenceLogOptions) {
    this.random = options.random ?? Math.random;
    this.limiter = new RateLimiter(options.maxPerSecond, options.now);
    this.bytes = new RateLimiter(options.maxBytesPerSecond, options.now);
  }

  /**
   * Whether a sampled request's inputs (`n` bytes) fit the bytes-per-second budget: large tensors
   * (images) would otherwise be copied and shipped through the broker with every request.
   */
  admit(n: number): boolean {
    if (this.bytes.take(n)) return true;
    this.counts.rateLimited++;
    return false;
  }

  /**
   * Whether this request is recorded; decide before its input buffers are handed to a worker. Under
   * light load every sampled request is; under heavy load at most maxPerSecond are, so recording
   * (copies, encoding, the broker's work) stays a bounded cost however many requests come.
   */
  sample(): boolean {
    const rate = this.options.sampleRate;
    if (this.closed || rate <= 0 || (rate < 1 && this.random() >= rate)) return false;
    if (this.limiter.take()) return true;
    this.counts.rateLimited++;
    return false;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Appends a record; never blocks, never throws. */
  push(record: InferenceRecordInit): void {
    if (this.closed || this.queue.length >= this.options.queueLimit) {
      this.counts.droppedQueueFull++;
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= this.options.batchSize) this.wake?.();
    this.flushing ??= this.flushLoop();
  }

  /** Publishes what is queued (the last batches of a shutdown) and refuses records from then on. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      await this.linger();
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.batchSize);
        try {
          await this.options.publish(
            batch.map((message) => ({
              topic: this.options.topic,
              schema: InferenceRecordSchema,
              message,
              options: { key: message.model ?? '', source: this.options.source },
            })),
          );
          this.counts.published += batch.length;
          if (this.outage) {
            this.outage = false;
            this.options.logger.info('inference log publishing recovered', { 'messaging.destination.name': this.options.topic });
          }
        } catch (err) {
          this.counts.droppedPublishFailed += batch.length;
          if (!this.outage) {
            this.outage = true;
            this.options.logger.warn('inference log records could not be published; dropping them (counted) until Kafka answers', { 'messaging.destination.name': this.options.topic }, err);
          }
        }
        if (this.queue.length > 0) await this.linger();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Waits for companions of the queued records: until the event-loop turn ends (records pushed in the
   * same turn go out together), and up to lingerMs while the batch is not full and the log is open.
   */
  private linger(): Promise<void> {
    const { lingerMs, batchSize } = this.options;
    if (lingerMs <= 0 || this.closed || this.queue.length >= batchSize) return new Promise<void>((resolve) => setImmediate(resolve));
    // Node's cancellable sleep: wake() aborts it (an aborted sleep rejects; either way the linger is over).
    const early = new AbortController();
    this.wake = () => early.abort();
    return sleep(lingerMs, undefined, { signal: early.signal })
      .catch(() => undefined)
      .finally(() => {
        this.wake = undefined;
      });
  }
}

export type { InferenceRecord };
