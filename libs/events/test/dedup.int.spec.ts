import { fromJson } from '@bufbuild/protobuf';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, EventHandlers, EventSubscriber } from '../src/index.js';
import { connectKafka, createTopics, nextGroupJoin, signal, testLogger, unique, type TestKafka } from './kafka.harness.js';

let env: TestKafka;

beforeAll(async () => {
  env = await connectKafka('dedup');
});

afterAll(async () => {
  await env.close();
});

describe('deduplication', () => {
  it('handles an event published twice under one ce_id once', async () => {
    const topic = unique('it.dedup');
    await createTopics(env.admin, [topic], 1);
    const handled: string[] = [];
    const sentinelSeen = signal();
    const subscriber = new EventSubscriber(env.kafka, {
      groupId: unique('g'),
      topics: [topic],
      fromBeginning: true,
      logger: testLogger,
      handlers: new EventHandlers().on(StructSchema, (event) => {
        handled.push(`${event.id}@${event.offset}`);
        if (event.id === 'sentinel') sentinelSeen.resolve();
        return Promise.resolve();
      }),
    });
    const joined = nextGroupJoin(subscriber.consumer);
    await subscriber.start();
    await joined;

    const publisher = createPublisher(env.kafka, { logger: testLogger });
    const body = fromJson(StructSchema, { label: 'cat' });
    // The second publish is what a producer-side retry after a lost response looks like end to end.
    await publisher.publish(topic, StructSchema, body, { key: 'req-1', id: 'dup-1', source: 'aio/test' });
    await publisher.publish(topic, StructSchema, body, { key: 'req-1', id: 'dup-1', source: 'aio/test' });
    await publisher.publish(topic, StructSchema, body, { key: 'req-1', id: 'sentinel', source: 'aio/test' });

    await sentinelSeen.promise;
    await Promise.all([subscriber.stop(), publisher.disconnect()]);
    expect(handled).toEqual(['dup-1@0', 'sentinel@2']);
  });
});
