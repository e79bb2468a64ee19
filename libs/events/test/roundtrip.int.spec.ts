import { equals, fromJson } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, EventHandlers, EventSubscriber, type EventEnvelope } from '../src/index.js';
import { connectKafka, createTopics, nextGroupJoin, signal, testLogger, unique, type TestKafka } from './kafka.harness.js';

// What a service's telemetry start-up does: a real tracer, W3C propagation, async context.
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

let env: TestKafka;

beforeAll(async () => {
  env = await connectKafka('roundtrip');
});

afterAll(async () => {
  await env.close();
  await provider.shutdown();
});

describe('round trip', () => {
  it('delivers typed events in order per key with CloudEvents headers and the publisher trace', async () => {
    const topic = unique('it.roundtrip');
    await createTopics(env.admin, [topic], 3);
    const keys = ['iris', 'mnist', 'wine'];
    const total = 30;
    const sent = Array.from({ length: total }, (_, i) => ({
      key: keys[i % keys.length] ?? 'iris',
      message: fromJson(StructSchema, { seq: i, dataset: keys[i % keys.length] ?? 'iris', nested: { ok: true, values: [1, 2.5, 'x'] } }),
    }));

    const received: EventEnvelope<typeof StructSchema>[] = [];
    const all = signal();
    const subscriber = new EventSubscriber(env.kafka, {
      groupId: unique('g'),
      topics: [topic],
      fromBeginning: true,
      logger: testLogger,
      handlers: new EventHandlers().on(StructSchema, (event) => {
        received.push(event);
        if (received.length === total) all.resolve();
        return Promise.resolve();
      }),
    });
    const joined = nextGroupJoin(subscriber.consumer);
    await subscriber.start();
    await joined;

    const publisher = createPublisher(env.kafka, { logger: testLogger });
    const tracer = trace.getTracer('roundtrip-test');
    const ids: string[] = [];
    const traceId = await tracer.startActiveSpan('publish-all', async (root) => {
      for (const item of sent) {
        const published = await publisher.publish(topic, StructSchema, item.message, { key: item.key, source: 'aio/test' });
        ids.push(published.id);
      }
      root.end();
      return root.spanContext().traceId;
    });

    await all.promise;
    await subscriber.stop();
    await publisher.disconnect();

    for (const key of keys) {
      const seqOf = (m: (typeof sent)[number]['message']) => m.fields['seq']?.kind.value;
      const expected = sent.filter((s) => s.key === key).map((s) => seqOf(s.message));
      const got = received.filter((e) => e.key === key).map((e) => seqOf(e.message));
      expect(got).toEqual(expected);
    }
    for (const event of received) {
      const seq = Number(event.message.fields['seq']?.kind.value);
      const original = sent[seq];
      if (original === undefined) throw new Error(`unexpected seq ${seq}`);
      expect(equals(StructSchema, event.message, original.message)).toBe(true);
      expect(event.id).toBe(ids[seq]);
      expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(event.type).toBe('google.protobuf.Struct');
      expect(event.source).toBe('aio/test');
      expect(event.time).toBeInstanceOf(Date);
      expect(event.headers).toMatchObject({ ce_specversion: '1.0', 'content-type': 'application/protobuf', ce_time: event.time?.toISOString() });
      const traceparent = event.headers['traceparent'] ?? '';
      expect(traceparent.split('-')[1]).toBe(traceId);
    }

    // One trace across both sides: each CONSUMER span is the child of its PRODUCER span.
    const spans = exporter.getFinishedSpans();
    const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.destination.name'] === topic);
    const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.destination.name'] === topic);
    expect(producers).toHaveLength(total);
    expect(consumers).toHaveLength(total);
    const producerSpanIds = new Set(producers.map((s) => s.spanContext().spanId));
    for (const span of [...producers, ...consumers]) expect(span.spanContext().traceId).toBe(traceId);
    for (const span of consumers) expect(producerSpanIds.has(span.parentSpanContext?.spanId ?? '')).toBe(true);
    expect(producers[0]?.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.message.id': ids[0] });
  });
});
