import { fromJson, toBinary } from '@bufbuild/protobuf';
import { StructSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import type { ConsumerRunConfig, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Offsets, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { encodeCloudEventHeaders } from './cloudevent.headers.js';
import { EventHandlers, type EventEnvelope } from './event.handlers.js';
import { DlqWriteError, EventSubscriber, type SubscribeOptions } from './event.subscriber.js';
import type { EventsLogger } from './logger.console.js';

const silent: EventsLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const topic = 'aio.events.data';

/** Just enough of kafkajs to drive eachBatch by hand and watch what gets committed and parked. */
class FakeKafka {
  runConfig: ConsumerRunConfig | undefined;
  readonly parked: ProducerRecord[] = [];
  failDlq = false;

  consumer() {
    return {
      events: { CRASH: 'consumer.crash' },
      on: () => () => undefined,
      connect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      run: (config: ConsumerRunConfig) => {
        this.runConfig = config;
        return Promise.resolve();
      },
      disconnect: () => Promise.resolve(),
    };
  }

  producer() {
    return {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: (record: ProducerRecord) => {
        if (this.failDlq) return Promise.reject(new Error('broker unreachable'));
        this.parked.push(record);
        return Promise.resolve([]);
      },
    };
  }
}

function event(offset: number, id: string, type: string = StructSchema.typeName, raw: { value?: Buffer; headers?: IHeaders } = {}): KafkaMessage {
  return {
    key: Buffer.from('iris'),
    value: raw.value ?? Buffer.from(toBinary(StructSchema, fromJson(StructSchema, { n: String(offset) }))),
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
    headers: raw.headers ?? encodeCloudEventHeaders({ id, type, source: 'test', time: new Date(0) }),
  };
}

/** Runs one batch; returns the committed next-offset (what a restarted consumer would read from). */
async function runBatch(fake: FakeKafka, messages: KafkaMessage[], stopAt?: () => boolean): Promise<{ committed: string | undefined; error: unknown }> {
  let resolved: string | undefined;
  let committed: string | undefined;
  const payload = {
    batch: { topic, partition: 0, messages },
    resolveOffset: (offset: string) => {
      resolved = String(Number(offset) + 1);
    },
    heartbeat: () => Promise.resolve(),
    pause: () => () => undefined,
    uncommittedOffsets: () => ({
      topics: resolved !== undefined && resolved !== committed ? [{ topic, partitions: [{ partition: 0, offset: resolved }] }] : [],
    }),
    commitOffsetsIfNecessary: (offsets?: Offsets) => {
      committed = offsets?.topics[0]?.partitions[0]?.offset ?? committed;
      return Promise.resolve();
    },
    isRunning: () => stopAt === undefined || !stopAt(),
    isStale: () => false,
  } as unknown as EachBatchPayload;
  const eachBatch = fake.runConfig?.eachBatch;
  if (eachBatch === undefined) throw new Error('subscriber did not call run');
  try {
    await eachBatch(payload);
    return { committed, error: undefined };
  } catch (error) {
    return { committed, error };
  }
}

async function start(fake: FakeKafka, options: Partial<SubscribeOptions> & { handlers: EventHandlers }): Promise<EventSubscriber> {
  const subscriber = new EventSubscriber(fake as unknown as Kafka, {
    groupId: 'g',
    topics: [topic],
    logger: silent,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, jitter: 0 },
    ...options,
  });
  await subscriber.start();
  return subscriber;
}

describe('EventSubscriber batch semantics', () => {
  it('runs handlers in offset order and commits past the last handled record', async () => {
    const fake = new FakeKafka();
    const seen: string[] = [];
    await start(fake, { handlers: new EventHandlers().on(StructSchema, (e) => Promise.resolve(void seen.push(e.id))) });
    expect(fake.runConfig).toMatchObject({ autoCommit: false, eachBatchAutoResolve: false });
    const result = await runBatch(fake, [event(0, 'a'), event(1, 'b'), event(2, 'c')]);
    expect(result).toEqual({ committed: '3', error: undefined });
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('retries, then parks a failing record with error headers and goes on with the next', async () => {
    const fake = new FakeKafka();
    const attempts: number[] = [];
    const seen: string[] = [];
    const handlers = new EventHandlers().on(StructSchema, (e, ctx) => {
      if (e.id === 'bad') {
        attempts.push(ctx.attempt);
        return Promise.reject(new RangeError('cannot handle'));
      }
      seen.push(e.id);
      return Promise.resolve();
    });
    await start(fake, { handlers });
    const result = await runBatch(fake, [event(0, 'a'), event(1, 'bad'), event(2, 'c')]);
    expect(result).toEqual({ committed: '3', error: undefined });
    expect(attempts).toEqual([1, 2, 3]);
    expect(seen).toEqual(['a', 'c']);
    expect(fake.parked).toHaveLength(1);
    expect(fake.parked[0]).toMatchObject({ topic: 'aio.events.data.dlq', acks: -1 });
    expect(fake.parked[0]?.messages[0]?.headers).toMatchObject({
      ce_id: 'bad',
      aio_error_message: 'cannot handle',
      aio_error_type: 'RangeError',
      aio_original_topic: topic,
      aio_original_partition: '0',
      aio_original_offset: '1',
      aio_attempts: '3',
    });
  });

  it('does not commit a failed record it could not park', async () => {
    const fake = new FakeKafka();
    fake.failDlq = true;
    const handlers = new EventHandlers().on(StructSchema, (e) => (e.id === 'bad' ? Promise.reject(new Error('no')) : Promise.resolve()));
    await start(fake, { handlers });
    const result = await runBatch(fake, [event(0, 'a'), event(1, 'bad'), event(2, 'c')]);
    expect(result.committed).toBe('1');
    expect(result.error).toBeInstanceOf(DlqWriteError);
  });

  it('parks undecodable records at once, without calling the handler', async () => {
    const fake = new FakeKafka();
    let calls = 0;
    await start(fake, { handlers: new EventHandlers().on(StructSchema, () => Promise.resolve(void calls++)) });
    const poison = event(0, 'p', StructSchema.typeName, { value: Buffer.from([0x0a, 0x05, 0x01]) });
    const noType = event(1, 'q', StructSchema.typeName, { headers: { ce_id: 'q' } });
    const result = await runBatch(fake, [poison, noType, event(2, 'ok')]);
    expect(result.committed).toBe('3');
    expect(calls).toBe(1);
    expect(fake.parked.map((r) => r.messages[0]?.headers?.['aio_error_type'])).toEqual(['EventDecodeError', 'EventDecodeError']);
    expect(fake.parked.map((r) => r.messages[0]?.headers?.['aio_attempts'])).toEqual(['0', '0']);
  });

  it('skips unknown types by default and parks them when asked', async () => {
    const unknown = () => event(0, 'u', TimestampSchema.typeName);
    const skipping = new FakeKafka();
    await start(skipping, { handlers: new EventHandlers().on(StructSchema, () => Promise.resolve()) });
    expect((await runBatch(skipping, [unknown()])).committed).toBe('1');
    expect(skipping.parked).toHaveLength(0);

    const parking = new FakeKafka();
    await start(parking, { handlers: new EventHandlers().on(StructSchema, () => Promise.resolve()), unknownType: 'dlq' });
    expect((await runBatch(parking, [unknown()])).committed).toBe('1');
    expect(parking.parked[0]?.messages[0]?.headers?.['aio_error_type']).toBe('UnknownEventTypeError');
  });

  it('handles a repeated ce_id once', async () => {
    const fake = new FakeKafka();
    const seen: EventEnvelope[] = [];
    await start(fake, { handlers: new EventHandlers().on(StructSchema, (e) => Promise.resolve(void seen.push(e))) });
    const result = await runBatch(fake, [event(0, 'same'), event(1, 'same'), event(2, 'other')]);
    expect(result.committed).toBe('3');
    expect(seen.map((e) => e.offset)).toEqual(['0', '2']);
  });

  it('leaves a record waiting for its retry uncommitted when the subscriber stops', async () => {
    const fake = new FakeKafka();
    let failures = 0;
    let firstFailure: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => {
      firstFailure = resolve;
    });
    const handlers = new EventHandlers().on(StructSchema, (e) => {
      if (e.id !== 'slow') return Promise.resolve();
      failures++;
      firstFailure();
      return Promise.reject(new Error('not yet'));
    });
    const subscriber = await start(fake, { handlers, retry: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 } });
    const batch = runBatch(fake, [event(0, 'a'), event(1, 'slow'), event(2, 'c')]);
    await failed;
    // The record now waits 60 s for its retry; stopping must end that wait without committing it.
    await subscriber.stop();
    const result = await batch;
    expect(result).toEqual({ committed: '1', error: undefined });
    expect(failures).toBe(1);
    expect(fake.parked).toHaveLength(0);
  });
});
