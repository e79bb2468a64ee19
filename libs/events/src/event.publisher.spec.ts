import { fromBinary, fromJson } from '@bufbuild/protobuf';
import { StructSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import type { Kafka, ProducerBatch, ProducerConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createPublisher } from './event.publisher.js';
import type { EventsLogger } from './logger.console.js';

propagation.setGlobalPropagator(new W3CTraceContextPropagator());
context.setGlobalContextManager(new AsyncLocalStorageContextManager());
const silent: EventsLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

class FakeKafka {
  config: ProducerConfig | undefined;
  readonly batches: ProducerBatch[] = [];
  disconnected = false;

  producer(config: ProducerConfig) {
    this.config = config;
    return {
      connect: () => Promise.resolve(),
      disconnect: () => {
        this.disconnected = true;
        return Promise.resolve();
      },
      sendBatch: (batch: ProducerBatch) => {
        this.batches.push(batch);
        return Promise.resolve([{ topicName: 'aio.events.data', partition: 2, errorCode: 0, baseOffset: '17' }]);
      },
    };
  }
}

describe('EventPublisher', () => {
  it('sends through an idempotent producer with acks=all and CloudEvents + W3C trace headers', async () => {
    const fake = new FakeKafka();
    const publisher = createPublisher(fake as unknown as Kafka, { logger: silent, producer: { idempotent: false } as ProducerConfig });
    const parent = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
    const message = fromJson(StructSchema, { rows: 2 });
    // No SDK here: the API's no-op tracer carries the active parent's context into the header.
    const published = await context.with(trace.setSpan(context.active(), parent), () =>
      publisher.publish('aio.events.data', StructSchema, message, {
        key: 'iris',
        source: 'aio/ingestion',
        time: new Date('2026-01-02T03:04:05.000Z'),
        headers: { ce_type: 'spoofed', 'x-tenant': 'a' },
      }),
    );
    expect(fake.config).toMatchObject({ idempotent: true, maxInFlightRequests: 1 });
    expect(published).toMatchObject({ topic: 'aio.events.data', partition: 2, offset: '17' });
    expect(published.id).toMatch(/^[0-9a-f-]{36}$/);
    const batch = fake.batches[0];
    expect(batch?.acks).toBe(-1);
    const record = batch?.topicMessages?.[0]?.messages[0];
    expect(record?.key).toBe('iris');
    expect(record?.headers).toMatchObject({
      ce_id: published.id,
      ce_type: 'google.protobuf.Struct',
      ce_source: 'aio/ingestion',
      ce_time: '2026-01-02T03:04:05.000Z',
      ce_specversion: '1.0',
      'content-type': 'application/protobuf',
      'x-tenant': 'a',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(fromBinary(StructSchema, record?.value as Buffer)).toEqual(message);
  });

  it('groups a batch by topic in one request and keeps given ids', async () => {
    const fake = new FakeKafka();
    const publisher = createPublisher(fake as unknown as Kafka, { logger: silent });
    const results = await publisher.publishBatch([
      { topic: 'a', schema: StructSchema, message: {}, options: { key: 'k', id: 'e1', source: 's' } },
      { topic: 'b', schema: TimestampSchema, message: { seconds: 5n }, options: { key: 'k', id: 'e2', source: 's' } },
      { topic: 'a', schema: StructSchema, message: {}, options: { key: 'k', id: 'e3', source: 's' } },
    ]);
    expect(results.map((r) => r.id)).toEqual(['e1', 'e2', 'e3']);
    expect(fake.batches).toHaveLength(1);
    expect(fake.batches[0]?.topicMessages?.map((t) => [t.topic, t.messages.length])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('refuses to publish once disconnecting, after flushing', async () => {
    const fake = new FakeKafka();
    const publisher = createPublisher(fake as unknown as Kafka, { logger: silent });
    await publisher.publish('a', StructSchema, {}, { key: 'k', source: 's' });
    await publisher.disconnect();
    expect(fake.disconnected).toBe(true);
    await expect(publisher.publish('a', StructSchema, {}, { key: 'k', source: 's' })).rejects.toThrow(/disconnecting/);
  });
});
