import { fromJson, toBinary } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, dlqOf, EventHandlers, EventSubscriber, type RawRecord } from '../src/index.js';
import { committed, connectKafka, createTopics, nextGroupJoin, signal, testLogger, unique, type TestKafka } from './kafka.harness.js';

let env: TestKafka;

beforeAll(async () => {
  env = await connectKafka('dlq');
});

afterAll(async () => {
  await env.close();
});

describe('dead-letter queue', () => {
  it('parks a poison event after its retries, keeps going, and commits past it', async () => {
    const topic = unique('it.dlq');
    const dlq = dlqOf(topic);
    await createTopics(env.admin, [topic, dlq], 1);
    const groupId = unique('g');

    const attempts: number[] = [];
    const handled: string[] = [];
    const lastHandled = signal();
    const subscriber = new EventSubscriber(env.kafka, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      logger: testLogger,
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 50, jitter: 0 },
      handlers: new EventHandlers().on(StructSchema, (event, ctx) => {
        if (event.id === 'poison') {
          attempts.push(ctx.attempt);
          return Promise.reject(new RangeError('seq out of range'));
        }
        handled.push(event.id);
        if (event.id === 'after-2') lastHandled.resolve();
        return Promise.resolve();
      }),
    });
    // The DLQ read back through the lib's raw mode: any outside tool sees the same record.
    const parked: RawRecord[] = [];
    const parkedOne = signal();
    const dlqReader = new EventSubscriber(env.kafka, {
      groupId: unique('dlq-reader'),
      topics: [dlq],
      fromBeginning: true,
      logger: testLogger,
      raw: (record) => {
        parked.push(record);
        parkedOne.resolve();
        return Promise.resolve();
      },
    });
    const joined = Promise.all([nextGroupJoin(subscriber.consumer), nextGroupJoin(dlqReader.consumer)]);
    await Promise.all([subscriber.start(), dlqReader.start()]);
    await joined;
    // Offsets 0..3: the commit of 4 proves the group moved past the poison record at offset 1.
    const committedPastAll = committed(subscriber.consumer, topic, 0, '4');

    const publisher = createPublisher(env.kafka, { logger: testLogger });
    const body = fromJson(StructSchema, { rows: 3 });
    for (const id of ['before', 'poison', 'after-1', 'after-2']) {
      await publisher.publish(topic, StructSchema, body, { key: 'iris', id, source: 'aio/test' });
    }

    await Promise.all([lastHandled.promise, parkedOne.promise, committedPastAll]);
    await Promise.all([subscriber.stop(), dlqReader.stop(), publisher.disconnect()]);

    expect(attempts).toEqual([1, 2, 3]);
    expect(handled).toEqual(['before', 'after-1', 'after-2']);
    expect(parked).toHaveLength(1);
    const record = parked[0];
    if (record === undefined) throw new Error('no DLQ record');
    expect(record.key).toBe('iris');
    expect(record.message.value).toEqual(Buffer.from(toBinary(StructSchema, body)));
    expect(record.headers).toMatchObject({
      ce_id: 'poison',
      ce_type: 'google.protobuf.Struct',
      ce_source: 'aio/test',
      aio_error_message: 'seq out of range',
      aio_error_type: 'RangeError',
      aio_original_topic: topic,
      aio_original_partition: '0',
      aio_original_offset: '1',
      aio_attempts: '3',
      aio_consumer_group: groupId,
    });
    expect(Date.parse(record.headers['aio_failed_at'] ?? '')).not.toBeNaN();

    const [offsets] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '4' })]);
  });

  it('commits nothing past a failed record whose DLQ write failed: it is redelivered and parked later', async () => {
    const topic = unique('it.dlqfail');
    const dlq = dlqOf(topic);
    await createTopics(env.admin, [topic, dlq], 1);
    const groupId = unique('g');
    const attempts: number[] = [];
    const handled: string[] = [];
    const after = signal();
    let dlqWrites = 0;
    const subscriber = new EventSubscriber(env.kafka, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      logger: testLogger,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, jitter: 0 },
      // The first DLQ write goes to a name the broker rejects, as if the DLQ were unreachable.
      dlqTopic: (t) => (++dlqWrites === 1 ? 'no spaces allowed' : dlqOf(t)),
      handlers: new EventHandlers().on(StructSchema, (event, ctx) => {
        if (event.id === 'poison') {
          attempts.push(ctx.attempt);
          return Promise.reject(new Error('always fails'));
        }
        handled.push(event.id);
        if (event.id === 'after') after.resolve();
        return Promise.resolve();
      }),
    });
    const joined = nextGroupJoin(subscriber.consumer);
    await subscriber.start();
    await joined;
    const committedPastAll = committed(subscriber.consumer, topic, 0, '2');
    const publisher = createPublisher(env.kafka, { logger: testLogger });
    for (const id of ['poison', 'after']) {
      await publisher.publish(topic, StructSchema, fromJson(StructSchema, {}), { key: 'k', id, source: 'aio/test' });
    }
    await Promise.all([after.promise, committedPastAll]);
    await Promise.all([subscriber.stop(), publisher.disconnect()]);
    // Two full rounds of attempts: the record came back after the failed DLQ write.
    expect(attempts).toEqual([1, 2, 1, 2]);
    expect(dlqWrites).toBe(2);
    expect(handled).toEqual(['after']);
    // Parked exactly once (the failed write left nothing behind), and the group moved past it.
    expect(await env.admin.fetchTopicOffsets(dlq)).toEqual([expect.objectContaining({ partition: 0, high: '1' })]);
    const [offsets] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '2' })]);
  });
});

