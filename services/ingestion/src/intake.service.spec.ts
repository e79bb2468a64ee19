import type { Platform } from '@aio/host';
import { GrpcError, Status } from '@aio/grpc';
import type { OutboxEntry } from '@aio/mongo';
import { RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { DatasetSchemaSchema, FieldType } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, fromBinary, toJson, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { DatasetGate } from './dataset.gate.js';
import type { BatchCounts, BatchTotals, DatasetsRepository, KafkaPosition } from './datasets.repository.js';
import { IntakeService, type IntakeItem } from './intake.service.js';
import type { RecordDoc, RecordsRepository } from './records.repository.js';

const schemaData = (init: MessageInitShape<typeof DatasetSchemaSchema>): Record<string, unknown> => ({
  schema: toJson(DatasetSchemaSchema, create(DatasetSchemaSchema, init)),
});
const fields = [
  { name: 'id', type: FieldType.STRING, required: true },
  { name: 'x', type: FieldType.FLOAT, max: 10 },
];

/** The repository's intake contract, in memory; `calls` is every round trip in order. */
class FakeDatasets {
  data: Record<string, unknown> | undefined = schemaData({ keyField: 'id', fields });
  seq = 0;
  totals: BatchTotals = { accepted: 0, sinceVersion: 0 };
  readonly calls: string[] = [];
  readonly events: OutboxEntry[] = [];

  find(): Promise<null> {
    this.calls.push('find');
    return Promise.resolve(null);
  }
  allocate(_name: string, count: number): Promise<{ first: number; last: number; data: Record<string, unknown> } | null> {
    this.calls.push(`allocate ${count}`);
    if (this.data === undefined) return Promise.resolve(null);
    this.seq += count;
    return Promise.resolve({ first: this.seq - count + 1, last: this.seq, data: this.data });
  }
  commitBatch(_name: string, counts: BatchCounts, _kafka: KafkaPosition | undefined, event: (totals: BatchTotals) => OutboxEntry | undefined): Promise<BatchTotals> {
    this.calls.push('commit');
    this.totals = { accepted: this.totals.accepted + counts.accepted, sinceVersion: this.totals.sinceVersion + counts.accepted };
    const entry = event(this.totals);
    if (entry !== undefined) this.events.push(entry);
    return Promise.resolve(this.totals);
  }
}

class FakeRecords {
  readonly stored = new Map<string, RecordDoc>();
  /** When set, a write waits for it. */
  hold: Promise<void> | undefined;
  constructor(private readonly calls: string[]) {}
  async write(docs: readonly RecordDoc[]): Promise<{ replaced: number }> {
    this.calls.push('write');
    await this.hold;
    const replaced = docs.filter((d) => this.stored.has(d._id)).length;
    for (const d of docs) this.stored.set(d._id, d);
    return { replaced };
  }
}

function setup(dlqError?: Error): { intake: IntakeService; datasets: FakeDatasets; records: FakeRecords; gate: DatasetGate; parked: unknown[] } {
  const datasets = new FakeDatasets();
  const records = new FakeRecords(datasets.calls);
  const gate = new DatasetGate();
  const parked: unknown[] = [];
  const platform = {
    topics: { dataEvents: 'aio.events.data', ingestDlq: (d: string) => `aio.ingest.${d}.dlq` },
    publisher: {
      producer: {
        send: (req: { messages: unknown[] }) => {
          datasets.calls.push('park');
          if (dlqError !== undefined) return Promise.reject(dlqError);
          parked.push(...req.messages);
          return Promise.resolve([]);
        },
      },
    },
  } as unknown as Platform;
  const intake = new IntakeService(platform, datasets as unknown as DatasetsRepository, records as unknown as RecordsRepository, gate);
  return { intake, datasets, records, gate, parked };
}

const item = (input: Record<string, unknown>, index: number): IntakeItem => ({
  decoded: { ok: true, input: { fields: input } },
  index,
  fallbackKey: `fb-${index}`,
  dlq: { key: null, value: JSON.stringify(input) },
});

describe('IntakeService.ingest', () => {
  it('validates against the schema allocation returned (no separate read) and numbers the stored records from the allocated range', async () => {
    const { intake, datasets, records, parked } = setup();
    const items = [item({ id: 'a', x: 1 }, 0), item({ id: 'b', x: 11 }, 1), item({ id: 'a', x: 2 }, 2), item({ id: 'c', x: 3 }, 3)];
    const outcome = await intake.ingest('ds', items, 'grpc');

    expect(datasets.calls).toEqual(['allocate 4', 'write', 'park', 'commit']);
    expect(outcome).toMatchObject({ accepted: 3, rejected: 1, duplicates: 1 });
    expect(outcome.rejections).toEqual([{ index: 1, key: 'b', field: 'x', rule: 'max', reason: 'x: must be <= 10 (got 11)' }]);
    expect([...records.stored.values()].map((d) => [d.key, d.seq, d.values['x']])).toEqual([
      ['a', 1, 2],
      ['c', 2, 3],
    ]);
    expect(parked).toHaveLength(1);
    const event = fromBinary(RecordBatchCommittedSchema, datasets.events[0]?.payload ?? new Uint8Array());
    expect(event).toMatchObject({ dataset: 'ds', recordCount: 3, rejectedCount: 1, totalRecordCount: 3n, recordsSinceVersion: 3n });

    // The next batch's numbers follow the whole range of this one; a replaced key counts as a duplicate.
    const again = await intake.ingest('ds', [item({ id: 'c', x: 4 }, 0)], 'grpc');
    expect(again).toMatchObject({ accepted: 1, rejected: 0, duplicates: 1 });
    expect(records.stored.get('ds:c')?.seq).toBe(5);
    expect(datasets.events).toHaveLength(2);
  });

  it('applies a schema update from the next batch on', async () => {
    const { intake, datasets } = setup();
    const first = await intake.ingest('ds', [item({ id: 'a', y: true }, 0)], 'rest');
    expect(first).toMatchObject({ accepted: 0, rejected: 1 });
    expect(first.rejections[0]?.rule).toBe('unknown_field');
    // Nothing valid: no event, nothing written.
    expect(datasets.events).toHaveLength(0);

    datasets.data = schemaData({ keyField: 'id', fields: [...fields, { name: 'y', type: FieldType.BOOL }] });
    expect(await intake.ingest('ds', [item({ id: 'a', y: true }, 0)], 'rest')).toMatchObject({ accepted: 1, rejected: 0 });
    expect(datasets.calls.filter((c) => c === 'find')).toEqual([]);
  });

  it('answers NOT_FOUND for a dataset that does not exist, writing and counting nothing', async () => {
    const { intake, datasets, records } = setup();
    datasets.data = undefined;
    const err: unknown = await intake.ingest('gone', [item({ id: 'a' }, 0), item({ id: 'b', x: 99 }, 1)], 'grpc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(Status.NOT_FOUND);
    expect(datasets.calls).toEqual(['allocate 2']);
    expect(records.stored.size).toBe(0);
  });

  it('allocates and writes inside the dataset gate, so a watermark taken exclusively never falls between the two', async () => {
    const { intake, datasets, records, gate } = setup();
    // A version holds the gate: the batch does not even allocate until it is released.
    let release!: () => void;
    const sealing = gate.exclusive('ds', () => new Promise<void>((resolve) => (release = resolve)));
    const ingesting = intake.ingest('ds', [item({ id: 'a' }, 0)], 'kafka');
    await new Promise((resolve) => setImmediate(resolve));
    expect(datasets.calls).toEqual([]);
    release();
    await sealing;

    await ingesting;

    // The batch holds the gate from allocation to its write: a version waits for the write.
    let written!: () => void;
    records.hold = new Promise<void>((resolve) => (written = resolve));
    const next = intake.ingest('ds', [item({ id: 'b' }, 0)], 'kafka');
    await new Promise((resolve) => setImmediate(resolve));
    const sealed = gate.exclusive('ds', () => {
      datasets.calls.push('seal');
      return Promise.resolve();
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(datasets.calls).toEqual(['allocate 1', 'write', 'commit', 'allocate 1', 'write']);
    written();
    await Promise.all([next, sealed]);
    expect(datasets.calls.slice(5).sort()).toEqual(['commit', 'seal']);
  });

  it('counts nothing when the DLQ refuses the rejects, and keeps the gate until the write running beside it is done', async () => {
    const { intake, datasets, records, gate } = setup(new Error('broker down'));
    let written!: () => void;
    records.hold = new Promise<void>((resolve) => (written = resolve));
    const ingesting = intake.ingest('ds', [item({ id: 'a' }, 0), item({ id: 'b', x: 99 }, 1)], 'kafka').catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    const sealed = gate.exclusive('ds', () => {
      datasets.calls.push('seal');
      return Promise.resolve();
    });
    await new Promise((resolve) => setImmediate(resolve));
    // The produce failed at once, the write is still running: no watermark yet.
    expect(datasets.calls).toEqual(['allocate 2', 'write', 'park']);
    written();
    await sealed;
    expect(((await ingesting) as Error).message).toBe('broker down');
    expect(datasets.calls).toEqual(['allocate 2', 'write', 'park', 'seal']);
    expect(datasets.events).toHaveLength(0);
  });
});
