import type { Platform, Readiness } from '@aio/host';
import type { EachBatchPayload, KafkaMessage, Offsets } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { DatasetsRepository, IntakeState } from './datasets.repository.js';
import { IntakeConsumers, KAFKA_WRITE_BATCH, nextOffsets } from './intake.consumer.js';
import type { IntakeItem, IntakeService } from './intake.service.js';

const message = (offset: number): KafkaMessage =>
  ({ offset: String(offset), key: null, value: Buffer.from(`{"id":"k${offset}"}`), headers: {}, timestamp: '0', attributes: 0 });

interface Consumed {
  written: number[][];
  committed: (Offsets | undefined)[];
  /** Writes and commits in the order they started and ended. */
  log: string[];
  error?: unknown;
}

/** Runs IntakeConsumers' eachBatch on a fake payload; returns what it wrote and committed. */
async function consume(
  messages: KafkaMessage[],
  counted: IntakeState = {},
  fail: { write?: number; commit?: number } = {},
): Promise<Consumed> {
  const out: Consumed = { written: [], committed: [], log: [] };
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
  const datasets = { intake: () => Promise.resolve(counted) } as unknown as DatasetsRepository;
  const intake = {
    ingest: async (_dataset: string, items: readonly IntakeItem[]) => {
      const n = out.written.length;
      out.written.push(items.map((i) => i.index));
      out.log.push(`write ${n}`);
      await tick();
      if (fail.write === n) throw new Error(`write ${n} failed`);
      out.log.push(`written ${n}`);
      return { accepted: items.length, rejected: 0, duplicates: 0, rejections: [] };
    },
  } as unknown as IntakeService;
  const readiness = { register: () => undefined } as unknown as Readiness;
  const consumers = new IntakeConsumers({} as Platform, datasets, intake, readiness);
  const payload = {
    batch: { topic: 'aio.ingest.iris', partition: 2, messages },
    resolveOffset: () => undefined,
    commitOffsetsIfNecessary: async (offsets?: Offsets) => {
      const n = out.committed.length;
      out.committed.push(offsets);
      out.log.push(`commit ${n}`);
      await tick();
      await tick();
      if (fail.commit === n) throw new Error(`commit ${n} failed`);
      out.log.push(`committed ${n}`);
    },
    heartbeat: () => Promise.resolve(),
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  try {
    await (consumers as unknown as { eachBatch(d: string, p: EachBatchPayload): Promise<void> }).eachBatch('iris', payload);
  } catch (err) {
    out.error = err;
  }
  return out;
}

const slices = (n: number): KafkaMessage[] => Array.from({ length: n * KAFKA_WRITE_BATCH }, (_, i) => message(i));

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

  it('commits a slice\'s offsets while the next slice is written, in order, and ends the batch only after the last commit', async () => {
    const { log, error } = await consume(slices(3));
    expect(error).toBeUndefined();
    // Each commit starts after its own slice is written and before the next commit; the next write overlaps it.
    expect(log).toEqual(['write 0', 'written 0', 'commit 0', 'write 1', 'written 1', 'committed 0', 'commit 1', 'write 2', 'written 2', 'committed 1', 'commit 2', 'committed 2']);
  });

  it('fails the batch on a failed commit before writing further, and on a failed write only after the commit in flight settled', async () => {
    const commitFailed = await consume(slices(3), {}, { commit: 0 });
    expect((commitFailed.error as Error).message).toBe('commit 0 failed');
    expect(commitFailed.log).toEqual(['write 0', 'written 0', 'commit 0', 'write 1', 'written 1']);

    const writeFailed = await consume(slices(3), {}, { write: 1 });
    expect((writeFailed.error as Error).message).toBe('write 1 failed');
    expect(writeFailed.log).toEqual(['write 0', 'written 0', 'commit 0', 'write 1', 'committed 0']);
  });
});
