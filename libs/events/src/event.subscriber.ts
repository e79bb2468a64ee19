import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { Partitioners, type Consumer, type ConsumerConfig, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { EventDecodeError, normalizeHeaders } from './cloudevent.headers.js';
import { LruDedupStore, type DedupStore } from './dedup.store.js';
import { buildDlqHeaders, errorMessage } from './dlq.headers.js';
import { keyOf, rawRecordId, type EventHandlers, type HandlerContext, type RawHandler } from './event.handlers.js';
import { defaultTracer } from './event.publisher.js';
import { HeartbeatPulse } from './heartbeat.pulse.js';
import { consoleLogger, type EventsLogger } from './logger.console.js';
import { abortableSleep, backoffDelay, retryOptions, type RetryOptions } from './retry.backoff.js';
import { dlqOf } from './topic.names.js';
import { headerGetter, messagingAttributes as attr } from './trace.propagation.js';

interface SubscribeCommon {
  groupId: string;
  topics: string[];
  /** Where a group without committed offsets starts. kafkajs' default (latest) is kept. */
  fromBeginning?: boolean;
  /** Events whose ce_type has no handler: skipped with a warning (default) or parked in the DLQ. */
  unknownType?: 'skip' | 'dlq';
  retry?: Partial<RetryOptions>;
  /** `false` turns deduplication off; default: an in-memory LruDedupStore of 10,000 ids. */
  dedup?: DedupStore | false;
  dlqTopic?: (topic: string) => string;
  /** Partitions worked on at the same time; order holds within each partition. Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Finished messages between offset commits inside a batch (the batch end always commits). Default 50. */
  commitEvery?: number;
  /** How often the coordinator is heartbeaten while a batch is in progress. Default 3000 ms. */
  heartbeatEveryMs?: number;
  /** How long stop() waits for the in-flight message before giving up on it. Default 30000 ms. */
  stopTimeoutMs?: number;
  logger?: EventsLogger;
  tracer?: Tracer;
  /** Passed to kafkajs' consumer (session timeout, fetch sizes...). */
  consumer?: Omit<ConsumerConfig, 'groupId'>;
}

/** Typed CloudEvents dispatched by ce_type ... */
export interface TypedSubscribeOptions extends SubscribeCommon {
  handlers: EventHandlers;
  raw?: never;
}

/** ... or every record handed over as kafkajs delivered it (topics fed by outside producers). */
export interface RawSubscribeOptions extends SubscribeCommon {
  raw: RawHandler;
  handlers?: never;
}

export type SubscribeOptions = TypedSubscribeOptions | RawSubscribeOptions;

/** A handler failed on every attempt and the record could not be parked either: it must be redelivered. */
export class DlqWriteError extends Error {
  override readonly name = 'DlqWriteError';
}

/** Why a record without a handler went to the DLQ (unknownType: 'dlq'). */
export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
}

type Outcome = 'done' | 'interrupted';

interface Work {
  kind: 'work';
  id: string;
  type: string | undefined;
  invoke(ctx: HandlerContext): Promise<void>;
}

/**
 * Consumes a group's topics with at-least-once delivery and per-id deduplication: an offset is
 * committed only after its handler succeeded (or the record was written to the DLQ), so a crash
 * at any point redelivers work instead of losing it.
 */
export class EventSubscriber {
  readonly consumer: Consumer;
  private readonly dlqProducer: Producer;
  private readonly logger: EventsLogger;
  private readonly tracer: Tracer;
  private readonly retry: RetryOptions;
  private readonly dedup: DedupStore | undefined;
  private readonly dlqTopic: (topic: string) => string;
  private readonly commitEvery: number;
  private readonly heartbeatEveryMs: number;
  private readonly stopTimeoutMs: number;
  // Fires when stop() begins: backoff waits end and their records are left for redelivery.
  private readonly stopping = new AbortController();
  // Fires when stop() stops waiting: handlers that honour their signal give up.
  private readonly giveUp = new AbortController();
  private stopped: Promise<void> | undefined;
  private started = false;

  constructor(
    kafka: Kafka,
    private readonly options: SubscribeOptions,
  ) {
    if (options.topics.length === 0) throw new Error('subscribe: topics must name at least one topic');
    if ((options.handlers === undefined) === (options.raw === undefined)) {
      throw new Error('subscribe: pass exactly one of handlers (typed CloudEvents) or raw');
    }
    this.logger = options.logger ?? consoleLogger();
    this.tracer = options.tracer ?? defaultTracer();
    this.retry = retryOptions(options.retry);
    this.dedup = options.dedup === false ? undefined : (options.dedup ?? new LruDedupStore());
    this.dlqTopic = options.dlqTopic ?? dlqOf;
    this.commitEvery = positive('commitEvery', options.commitEvery ?? 50);
    this.heartbeatEveryMs = positive('heartbeatEveryMs', options.heartbeatEveryMs ?? 3_000);
    this.stopTimeoutMs = positive('stopTimeoutMs', options.stopTimeoutMs ?? 30_000);
    // A 1 s fetch long-poll (kafkajs: 5 s) bounds how long stop() waits for an idle fetch to return.
    this.consumer = kafka.consumer({ maxWaitTimeInMs: 1_000, ...options.consumer, groupId: options.groupId });
    this.dlqProducer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.logger.error('consumer crashed', { groupId: options.groupId, restart: payload.restart }, payload.error);
    });
  }

  /** Connects, subscribes and runs; resolves once the consumer has joined its group. */
  async start(): Promise<void> {
    if (this.started) throw new Error('subscriber already started');
    this.started = true;
    await this.dlqProducer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? false });
    await this.consumer.run({
      // Offsets move only when our code resolves and commits them, never on a timer.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /**
   * Stops fetching, lets the in-flight message finish (up to stopTimeoutMs), commits what is
   * finished, leaves the group and disconnects. A message still running at the deadline is not
   * committed and will be redelivered to the group.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping.abort();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      deadline = setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
    });
    try {
      const result = await Promise.race([this.consumer.disconnect().then(() => 'stopped' as const), timedOut]);
      if (result === 'timeout') {
        this.giveUp.abort();
        this.logger.error('stop: in-flight handler still running at the deadline; its record stays uncommitted and will be redelivered', {
          groupId: this.options.groupId,
          stopTimeoutMs: this.stopTimeoutMs,
        });
      }
    } finally {
      clearTimeout(deadline);
      await this.dlqProducer.disconnect();
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const pulse = new HeartbeatPulse(() => payload.heartbeat(), this.heartbeatEveryMs);
    const interrupt = AbortSignal.any([pulse.signal, this.stopping.signal]);
    let finished = 0;
    let failure: unknown;
    try {
      for (const message of batch.messages) {
        if (interrupt.aborted || !payload.isRunning() || payload.isStale()) break;
        const outcome = await this.process(batch.topic, batch.partition, message, interrupt);
        if (outcome === 'interrupted') break;
        payload.resolveOffset(message.offset);
        if (++finished % this.commitEvery === 0) await this.commit(payload);
      }
    } catch (err) {
      failure = err;
    } finally {
      pulse.stop();
    }
    // Resolved offsets are finished work: commit them even when the batch ends in an error,
    // so the redelivery that follows starts at the failed record, not before it.
    try {
      await this.commit(payload);
    } catch (err) {
      if (failure === undefined) throw err;
      this.logger.warn('commit after a failed batch failed too', { topic: batch.topic, partition: batch.partition }, err);
    }
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(errorMessage(failure), { cause: failure });
    // A failed heartbeat means the group is rebalancing: kafkajs rejoins when it sees the error.
    if (pulse.error !== undefined) throw pulse.error;
  }

  private async commit(payload: EachBatchPayload): Promise<void> {
    const offsets = payload.uncommittedOffsets();
    if (offsets.topics.length > 0) await payload.commitOffsetsIfNecessary(offsets);
  }

  private async process(topic: string, partition: number, message: KafkaMessage, interrupt: AbortSignal): Promise<Outcome> {
    const headers = normalizeHeaders(message.headers);
    const parent = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
    const span = this.tracer.startSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [attr.system]: 'kafka',
          [attr.destination]: topic,
          [attr.operationType]: 'process',
          [attr.operationName]: 'process',
          [attr.partition]: String(partition),
          [attr.offset]: Number(message.offset),
          [attr.consumerGroup]: this.options.groupId,
        },
      },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => this.processInSpan(topic, partition, message, span, interrupt));
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
      throw err;
    } finally {
      span.end();
    }
  }

  private async processInSpan(topic: string, partition: number, message: KafkaMessage, span: Span, interrupt: AbortSignal): Promise<Outcome> {
    const where = { topic, partition, offset: message.offset };
    let work: Work;
    try {
      const found = this.workFor(topic, partition, message);
      if (found.kind === 'unknown') {
        span.setAttributes({ [attr.messageId]: found.id, [attr.eventType]: found.type });
        if ((this.options.unknownType ?? 'skip') === 'skip') {
          this.logger.warn('no handler for event type: skipped', { ...where, id: found.id, type: found.type });
          return 'done';
        }
        await this.park(topic, partition, message, new UnknownEventTypeError(`no handler for event type ${found.type}`), 0, span);
        return 'done';
      }
      work = found;
    } catch (err) {
      if (!(err instanceof EventDecodeError)) throw err;
      this.logger.error('undecodable record: parked without retries', where, err);
      await this.park(topic, partition, message, err, 0, span);
      return 'done';
    }
    span.setAttribute(attr.messageId, work.id);
    if (work.type !== undefined) span.setAttribute(attr.eventType, work.type);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      try {
        if (this.dedup !== undefined && (await this.dedup.has(work.id))) {
          span.setAttribute('aio.duplicate', true);
          this.logger.debug('duplicate event skipped', { ...where, id: work.id });
          return 'done';
        }
        await work.invoke({ attempt, signal: this.giveUp.signal });
        if (this.dedup !== undefined) await this.remember(work.id, where);
        return 'done';
      } catch (err) {
        lastError = err;
        span.recordException(err instanceof Error ? err : String(err));
        if (attempt === this.retry.maxAttempts) break;
        const delay = backoffDelay(attempt, this.retry);
        this.logger.warn('handler failed: retrying', { ...where, id: work.id, attempt, retryInMs: delay }, err);
        if (!(await abortableSleep(delay, interrupt))) return 'interrupted';
      }
    }
    this.logger.error('handler failed on every attempt: parking in the DLQ', { ...where, id: work.id, attempts: this.retry.maxAttempts }, lastError);
    await this.park(topic, partition, message, lastError, this.retry.maxAttempts, span);
    return 'done';
  }

  private workFor(topic: string, partition: number, message: KafkaMessage): Work | { kind: 'unknown'; id: string; type: string } {
    const { handlers, raw } = this.options;
    if (raw !== undefined) {
      const headers = normalizeHeaders(message.headers);
      const record = { topic, partition, offset: message.offset, key: keyOf(message), headers, message };
      return { kind: 'work', id: rawRecordId({ topic, partition }, message, headers), type: headers['ce_type'], invoke: (ctx) => raw(record, ctx) };
    }
    if (handlers === undefined) throw new Error('subscriber has neither handlers nor raw');
    const dispatch = handlers.dispatch({ topic, partition }, message);
    return dispatch.kind === 'unknown' ? dispatch : { kind: 'work', id: dispatch.id, type: dispatch.type, invoke: (ctx) => dispatch.invoke(ctx) };
  }

  /**
   * The effect already happened, so a failing dedup store must not turn it into a retry (which
   * would repeat the effect): log and move on; only a redelivery could then repeat it.
   */
  private async remember(id: string, where: Record<string, unknown>): Promise<void> {
    try {
      await this.dedup?.add(id);
    } catch (err) {
      this.logger.error('dedup store failed to record a handled event', { ...where, id }, err);
    }
  }

  /** Writes the record to the DLQ; throws DlqWriteError when that fails, so nothing is committed. */
  private async park(topic: string, partition: number, message: KafkaMessage, error: unknown, attempts: number, span: Span): Promise<void> {
    const dlq = this.dlqTopic(topic);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    span.setAttribute('aio.dlq.topic', dlq);
    const headers = buildDlqHeaders(message.headers, {
      error,
      topic,
      partition,
      offset: message.offset,
      failedAt: new Date(),
      attempts,
      groupId: this.options.groupId,
    });
    try {
      await this.dlqProducer.send({ topic: dlq, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
    } catch (err) {
      this.logger.error('DLQ write failed: record stays uncommitted and will be redelivered', { topic, partition, offset: message.offset, dlq }, err);
      throw new DlqWriteError(`cannot park ${topic}/${partition}@${message.offset} in ${dlq}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`subscribe: ${name} must be a positive number, got ${value}`);
  return value;
}

export async function subscribe(kafka: Kafka, options: SubscribeOptions): Promise<EventSubscriber> {
  const subscriber = new EventSubscriber(kafka, options);
  await subscriber.start();
  return subscriber;
}
