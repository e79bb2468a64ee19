import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { createKafka, ensureTopics, type EventsLogger } from '../src/index.js';

export const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** Quiet by default; AIO_TEST_VERBOSE=1 shows what kafkajs and the lib warn about. */
export const testLogger: EventsLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (msg, attrs, err) => {
    if (process.env['AIO_TEST_VERBOSE'] === '1') console.warn(msg, attrs ?? '', err ?? '');
  },
  error: (msg, attrs, err) => {
    if (process.env['AIO_TEST_VERBOSE'] === '1') console.error(msg, attrs ?? '', err ?? '');
  },
};

/** A fresh name per test: topics, groups and clients never collide between runs. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export interface TestKafka {
  kafka: Kafka;
  admin: Admin;
  close(): Promise<void>;
}

export async function connectKafka(clientPrefix: string): Promise<TestKafka> {
  const kafka = createKafka({ brokers, clientId: unique(clientPrefix), logger: testLogger });
  const admin = kafka.admin();
  await admin.connect();
  return { kafka, admin, close: () => admin.disconnect() };
}

export async function createTopics(admin: Admin, names: string[], partitions: number): Promise<void> {
  await ensureTopics(admin, names, partitions, { replicationFactor: 1 });
}

/** Resolves on the consumer's next GROUP_JOIN (register before starting the consumer). */
export function nextGroupJoin(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
}

/** Resolves when the group has committed `offset` (the next one to read) for topic/partition. */
export function committed(consumer: Consumer, topic: string, partition: number, offset: string): Promise<void> {
  return new Promise((resolve) => {
    const off = consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      const hit = payload.topics.some(
        (t) => t.topic === topic && t.partitions.some((p) => Number(p.partition) === partition && p.offset === offset),
      );
      if (hit) {
        off();
        resolve();
      }
    });
  });
}

/** A promise plus its resolver, for "wait until the handler has seen X". */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
