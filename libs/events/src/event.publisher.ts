import { randomUUID } from 'node:crypto';
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { Partitioners, type Kafka, type Message, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkajs';
import { encodeCloudEventHeaders, type HeaderMap } from './cloudevent.headers.js';
import { consoleLogger, type EventsLogger } from './logger.console.js';
import { headerSetter, messagingAttributes as attr } from './trace.propagation.js';

export interface PublishOptions {
  /** Partition key: the entity (dataset, model name) whose events must stay in order. */
  key: string;
  /** CloudEvents id; a fresh UUID v4 when omitted. Pass a stable one to make retries of a publish dedupable. */
  id?: string;
  /** CloudEvents source, e.g. `aio/registry`. */
  source: string;
  time?: Date;
  /** Extra headers; they cannot override the CloudEvents or trace headers. */
  headers?: HeaderMap;
}

export interface PublishItem<Desc extends DescMessage = DescMessage> {
  topic: string;
  schema: Desc;
  message: MessageInitShape<Desc>;
  options: PublishOptions;
}

export interface PublishedEvent {
  id: string;
  topic: string;
  /** Undefined when the records of one topic in a batch spread over several partitions. */
  partition: number | undefined;
  /** Base offset of the produced batch the event landed in (Kafka reports one per partition). */
  offset: string | undefined;
}

export interface PublisherOptions {
  logger?: EventsLogger;
  tracer?: Tracer;
  /** Passed to kafkajs; idempotence and its in-flight limit are not negotiable and set last. */
  producer?: Omit<ProducerConfig, 'idempotent' | 'maxInFlightRequests' | 'transactionalId'>;
  /** Milliseconds the broker may take to get all in-sync replicas' acknowledgement. */
  ackTimeoutMs?: number;
}

const acksAll = -1;

interface Prepared {
  id: string;
  topic: string;
  record: Message;
  span: Span;
}

export function defaultTracer(): Tracer {
  return trace.getTracer('@aio/events');
}

/**
 * Publishes protobuf messages as CloudEvents (binary mode) through an idempotent producer:
 * a producer retry after a lost acknowledgement does not write the record twice.
 */
export class EventPublisher {
  readonly producer: Producer;
  private readonly logger: EventsLogger;
  private readonly tracer: Tracer;
  private readonly ackTimeoutMs: number | undefined;
  private connecting: Promise<void> | undefined;
  private closing = false;
  // Sends not yet acknowledged; disconnect waits for them, so the close is a flush.
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(kafka: Kafka, options: PublisherOptions = {}) {
    this.logger = options.logger ?? consoleLogger();
    this.tracer = options.tracer ?? defaultTracer();
    this.ackTimeoutMs = options.ackTimeoutMs;
    // kafkajs only guarantees idempotent ordering with one request in flight per broker.
    // The default partitioner is named to silence kafkajs' v2 migration warning: it is Java's
    // murmur2, so keys land on the same partitions as with any other client.
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      ...options.producer,
      idempotent: true,
      maxInFlightRequests: 1,
    });
  }

  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async publish<Desc extends DescMessage>(
    topic: string,
    schema: Desc,
    message: MessageInitShape<Desc>,
    options: PublishOptions,
  ): Promise<PublishedEvent> {
    const [published] = await this.publishBatch([{ topic, schema, message, options }]);
    if (published === undefined) throw new Error(`publish to ${topic}: the broker acknowledged nothing`);
    return published;
  }

  /** One producer request for all items; each event still gets its own PRODUCER span and trace context. */
  async publishBatch(items: readonly PublishItem[]): Promise<PublishedEvent[]> {
    if (this.closing) throw new Error('publisher is disconnecting: publish refused');
    if (items.length === 0) return [];
    await this.connect();
    const prepared: Prepared[] = [];
    try {
      for (const item of items) prepared.push(this.prepare(item));
    } catch (err) {
      // One bad item fails the whole batch before anything is sent; close the spans already open.
      for (const p of prepared) {
        p.span.setStatus({ code: SpanStatusCode.ERROR, message: 'batch not sent: another item failed to encode' });
        p.span.end();
      }
      throw err;
    }
    const byTopic = new Map<string, Message[]>();
    for (const p of prepared) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p.record);
      byTopic.set(p.topic, list);
    }
    const sending = this.producer.sendBatch({
      acks: acksAll,
      ...(this.ackTimeoutMs === undefined ? {} : { timeout: this.ackTimeoutMs }),
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    this.inFlight.add(sending);
    let metadata: RecordMetadata[];
    try {
      metadata = await sending;
    } catch (err) {
      for (const p of prepared) {
        p.span.recordException(err instanceof Error ? err : String(err));
        p.span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        p.span.end();
      }
      throw err;
    } finally {
      this.inFlight.delete(sending);
    }
    return prepared.map((p) => {
      const partition = this.partitionOf(p, metadata);
      const meta = metadata.find((m) => m.topicName === p.topic && m.partition === partition);
      if (partition !== undefined) p.span.setAttribute(attr.partition, String(partition));
      p.span.end();
      return { id: p.id, topic: p.topic, partition, offset: meta?.baseOffset ?? meta?.offset };
    });
  }

  /** Waits for unacknowledged sends, then closes the connections. */
  async disconnect(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.inFlight]);
    if (this.connecting !== undefined) {
      await this.connecting.catch(() => undefined);
      await this.producer.disconnect();
      this.connecting = undefined;
    }
  }

  private prepare(item: PublishItem): Prepared {
    const { topic, schema, options } = item;
    const id = options.id ?? randomUUID();
    const span = this.tracer.startSpan(
      `send ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [attr.system]: 'kafka',
          [attr.destination]: topic,
          [attr.operationType]: 'send',
          [attr.operationName]: 'send',
          [attr.messageId]: id,
          [attr.key]: options.key,
          [attr.eventType]: schema.typeName,
        },
      },
      context.active(),
    );
    try {
      const value = toBinary(schema, create(schema, item.message));
      const headers: HeaderMap = { ...options.headers };
      // The trace context is the producer span's, so the consumer's span becomes its child.
      propagation.inject(trace.setSpan(context.active(), span), headers, headerSetter);
      Object.assign(headers, encodeCloudEventHeaders({ id, type: schema.typeName, source: options.source, time: options.time ?? new Date() }));
      this.logger.debug('publishing event', { topic, id, type: schema.typeName, key: options.key });
      return {
        id,
        topic,
        span,
        record: { key: options.key, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), headers },
      };
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'encode failed' });
      span.end();
      throw err;
    }
  }

  private partitionOf(p: Prepared, metadata: RecordMetadata[]): number | undefined {
    // kafkajs reports one metadata entry per topic-partition, not per record; when a topic's
    // records spread over several partitions the record's own partition is not recoverable here.
    const forTopic = metadata.filter((m) => m.topicName === p.topic);
    return forTopic.length === 1 ? forTopic[0]?.partition : undefined;
  }
}

export function createPublisher(kafka: Kafka, options?: PublisherOptions): EventPublisher {
  return new EventPublisher(kafka, options);
}
