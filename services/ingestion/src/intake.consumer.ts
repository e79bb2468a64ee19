import { dlqHeader, ensureTopics, HeartbeatPulse, normalizeHeaders } from '@aio/events';
import { consumerGroup, Platform, Readiness } from '@aio/host';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Consumer, EachBatchPayload, KafkaMessage, Offsets } from 'kafkajs';
import { DatasetsRepository } from './datasets.repository.js';
import { decodeKafkaValue } from './record.decoder.js';
import { IntakeService, type IntakeItem } from './intake.service.js';

/** Records per storage write: a Kafka batch (up to the fetch size) is written in slices of this many. */
export const KAFKA_WRITE_BATCH = 1_000;
/** Partitions of aio.ingest.<dataset> and its DLQ when the service creates them. */
const INGEST_PARTITIONS = 3;
/** How often datasets created by other replicas are looked for. */
const DISCOVERY_INTERVAL_MS = 30_000;

/**
 * Consumes aio.ingest.<dataset> of every dataset, one consumer group per dataset (a slow dataset does
 * not hold up the others). Values are JSON objects of field values from any producer, or
 * aio.ingestion.v1.Record when `content-type` says protobuf. Each Kafka batch goes through
 * IntakeService in slices, and the offsets of a slice are committed only after its records, its
 * dead letters and its counts are written. The counts also record the partition's last offset, so a
 * slice redelivered after a crash between that write and the commit is skipped, not counted twice.
 *
 * Why not `subscribe({ raw })` of @aio/events: it hands over one record at a time and commits after
 * each handler, which would make every record its own storage write; intake throughput needs the
 * whole batch.
 */
@Injectable()
export class IntakeConsumers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumers = new Map<string, Promise<Consumer>>();
  private readonly failed = new Map<string, string>();
  private discovery: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(DatasetsRepository) private readonly datasets: DatasetsRepository,
    @Inject(IntakeService) private readonly intake: IntakeService,
    @Inject(Readiness) readiness: Readiness,
  ) {
    readiness.register('intake-consumers', () =>
      Promise.resolve(this.failed.size === 0 ? undefined : `intake consumers failed to start: ${[...this.failed].map(([d, e]) => `${d} (${e})`).join(', ')}`),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.discover();
    this.discovery = setInterval(() => {
      this.discover().catch((err: unknown) => this.platform.logger.warn('dataset discovery failed; retrying at the next interval', {}, err));
    }, DISCOVERY_INTERVAL_MS);
    this.discovery.unref();
  }

  /** Creates the dataset's intake topic and DLQ (idempotent). */
  async ensureTopics(dataset: string): Promise<void> {
    const admin = this.platform.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [this.platform.topics.ingest(dataset), this.platform.topics.ingestDlq(dataset)], INGEST_PARTITIONS);
    } finally {
      await admin.disconnect();
    }
  }

  /** Starts consuming the dataset's intake topic; resolves once the consumer has joined its group. Idempotent. */
  async start(dataset: string): Promise<void> {
    if (this.stopping) return;
    let started = this.consumers.get(dataset);
    if (started === undefined) {
      started = this.run(dataset);
      this.consumers.set(dataset, started);
      started.then(
        () => this.failed.delete(dataset),
        (err: unknown) => {
          this.consumers.delete(dataset);
          this.failed.set(dataset, err instanceof Error ? err.message : String(err));
          this.platform.logger.error('intake consumer failed to start; retried at the next discovery', { dataset }, err);
        },
      );
    }
    await started;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.discovery);
    // disconnect() lets the batch in hand finish (its offsets are committed after its write), then leaves the group.
    await Promise.all(
      [...this.consumers.values()].map(async (started) => {
        const consumer = await started.catch(() => undefined);
        await consumer?.disconnect();
      }),
    );
  }

  private async discover(): Promise<void> {
    const names = await this.datasets.names();
    const missing = names.filter((name) => !this.consumers.has(name));
    await Promise.allSettled(missing.map((name) => this.ensureTopics(name).then(() => this.start(name))));
  }

  private async run(dataset: string): Promise<Consumer> {
    const topic = this.platform.topics.ingest(dataset);
    const consumer = this.platform.kafka.consumer({
      groupId: consumerGroup(this.platform.topics.prefix, `ingestion.intake.${dataset}`),
      maxWaitTimeInMs: 1_000,
    });
    await consumer.connect();
    try {
      // A new group reads from the start: records produced before the consumer first joined are not lost.
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const joined = new Promise<void>((resolve) => {
        const off = consumer.on(consumer.events.GROUP_JOIN, () => {
          off();
          resolve();
        });
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.eachBatch(dataset, payload),
      });
      await joined;
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    this.platform.logger.info('intake consumer running', { dataset, topic });
    return consumer;
  }

  private async eachBatch(dataset: string, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const pulse = new HeartbeatPulse(() => payload.heartbeat(), 3_000);
    // A slice's offset commit runs while the next slice is written; commits stay in order, each
    // issued after its own slice is counted, and the batch ends only once the last one settled.
    let committing: Promise<void> | undefined;
    try {
      const counted = (await this.datasets.intake(dataset))?.kafka?.[`p${batch.partition}`] ?? -1;
      for (let start = 0; start < batch.messages.length; start += KAFKA_WRITE_BATCH) {
        if (!payload.isRunning() || payload.isStale() || pulse.signal.aborted) break;
        const slice = batch.messages.slice(start, start + KAFKA_WRITE_BATCH);
        const last = slice[slice.length - 1];
        if (last === undefined) break;
        // Already written and counted before a crash that came ahead of the offset commit.
        const fresh = slice.filter((m) => Number(m.offset) > counted);
        if (fresh.length > 0) {
          await this.intake.ingest(
            dataset,
            fresh.map((m) => itemOf(batch.topic, batch.partition, m)),
            'kafka',
            { partition: batch.partition, offset: Number(last.offset) },
          );
        }
        payload.resolveOffset(last.offset);
        await committing;
        // With autoCommit off and no commit interval/threshold, commitOffsetsIfNecessary() without
        // arguments commits nothing (kafkajs 2.2.4); the explicit offsets (next to read) are committed.
        committing = payload.commitOffsetsIfNecessary(nextOffsets(batch.topic, batch.partition, last.offset));
        // Awaited later (next slice, end of batch); a failure meanwhile is not an unhandled rejection.
        void committing.catch(() => undefined);
      }
      await committing;
    } finally {
      // After a failed slice: its error is the batch's; the commit before it still settles first.
      await committing?.catch(() => undefined);
      pulse.stop();
    }
    if (pulse.error !== undefined) throw pulse.error;
  }
}

/** The committed offset of a partition is the next one to read: one past the last record handled. */
export function nextOffsets(topic: string, partition: number, lastOffset: string): Offsets {
  return { topics: [{ topic, partitions: [{ partition, offset: (BigInt(lastOffset) + 1n).toString() }] }] };
}

function itemOf(topic: string, partition: number, message: KafkaMessage): IntakeItem {
  const headers = normalizeHeaders(message.headers);
  const key = message.key === null ? undefined : message.key.toString('utf8');
  return {
    decoded: decodeKafkaValue(message.value, headers['content-type'], key),
    index: Number(message.offset),
    // Stable across redelivery: a keyless record written twice lands on the same document.
    fallbackKey: `p${partition}-${message.offset}`,
    dlq: {
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        [dlqHeader.originalTopic]: topic,
        [dlqHeader.originalPartition]: String(partition),
        [dlqHeader.originalOffset]: message.offset,
      },
    },
  };
}
