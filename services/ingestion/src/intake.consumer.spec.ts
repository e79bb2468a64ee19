import type { Platform, Readiness } from '@aio/host';
import type { EachBatchPayload, KafkaMessage, Offsets } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { DatasetsRepository, IntakeState } from './datasets.repository.js';
import { IntakeConsumers, KAFKA_WRITE_BATCH, nextOffsets } from './intake.consumer.js';
import type { IntakeItem, IntakeService } from './intake.service.js';

const message = (offset: number): KafkaMessage =>
  ({ offset: String(offset), key: null, value: Buffer.from(`{"id":"k${offset}"}`), headers: {}, timestamp: '0', attributes: 0 });

/** Runs IntakeConsumers' eachBatch on a fake payload; returns what it wrote and committed. */
async function consume(messages: KafkaMessage[], counted: IntakeState = {}): Promise<{ written: number[][]; committed: (Offsets | undefined)[] }> {
  const written: number[][] = [];
  const committed: (Offsets | undefined)[] = [];
  const datasets = { intake: () => Promise.resolve(counted) } as unknown as DatasetsRepository;
  const intake = {
    ingest: (_dataset: string, items: readonly IntakeItem[]) => {
      written.push(items.map((i) => i.index));
      return Promise.resolve({ accepted: items.length, rejected: 0, duplicates: 0, rejections: [] });
    },
  } as unknown as IntakeService;
  const readiness = { register: () => undefined } as unknown as Readiness;
  const consumers = new IntakeConsumers({} as Platform, datasets, intake, readiness);
  const payload = {
    batch: { topic: 'aio.ingest.iris', partition: 2, messages },
    resolveOffset: () => undefined,
    commitOffsetsIfNecessary: (offsets?: Offsets) => {
      committed.push(offsets);
      return Promise.resolve();
    },
    heartbeat: () => Promise.resolve(),
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  await (consumers as unknown as { eachBatch(d: string, p: EachBatchPayload): Promise<void> }).eachBatch('iris', payload);
  return { written, committed };
}

describe('IntakeConsumers.eachBatch', () => {
  it('commits, after each written slice, the next offset to read (kafkajs commits nothing without explicit offsets when autoCommit is off)', async () => {
    const messages = Array.from({ length: KAFKA_WRITE_BATCH + 2 }, (_, i) => message(100 + i));
    const { written, committed } = await consume(messages);
    expect(written.map((w) => w.length)).toEqual([KAFKA_WRITE_BATCH, 2]);
    expect(committed).toEqual([nextOffsets('aio.ingest.iris', 2, String(100 + KAFKA_WRITE_BATCH - 1)), nextOffsets('aio.ingest.iris', 2, String(101 + KAFKA_WRITE_BATCH))]);
    expect(committed[1]).toEqual({ topics: [{ topic: 'aio.ingest.iris', partitions: [{ partition: 2, offset: String(102 + KAFKA_WRITE_BATCH) }] }] });
  });

  it('skips records already counted before a crash but still commits past them', async () => {
    const { written, committed } = await consume([message(5), message(6), message(7)], { kafka: { p2: 6 } });
    expect(written).toEqual([[7]]);
    expect(committed).toEqual([nextOffsets('aio.ingest.iris', 2, '7')]);
  });
});
