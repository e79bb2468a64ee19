// The ingestion service's main (services/ingestion/src/main.ts) with wall-clock timers around the
// stages of Kafka intake, for the profiled run only: the measured runs start dist/main.js itself.
// The timers wrap the service's own class methods (no product change); their totals are written to
// BENCH_STAGES_FILE when the process exits.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { serviceMain } from '@aio/host/platform';
// A benchmark harness, not a service: it runs the ingestion service itself, with timers around its methods.
// eslint-disable-next-line no-restricted-imports -- see above
import { loadConfig } from '../../../services/ingestion/dist/config.js';

export interface StageStat {
  calls: number;
  totalMs: number;
  maxMs: number;
}

const stages = new Map<string, StageStat>();
const batchSizes: number[] = [];
const lastBatchEnd = new Map<number, number>();
let firstBatchAt = 0;
let lastBatchAt = 0;

function add(stage: string, ms: number): void {
  let s = stages.get(stage);
  if (s === undefined) stages.set(stage, (s = { calls: 0, totalMs: 0, maxMs: 0 }));
  s.calls++;
  s.totalMs += ms;
  if (ms > s.maxMs) s.maxMs = ms;
}

type AnyFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;

function time(proto: Record<string, unknown>, method: string, stage: string): void {
  const original = proto[method] as AnyFn | undefined;
  if (typeof original !== 'function') throw new Error(`staged-main: no method ${method} to time (${stage})`);
  proto[method] = async function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      add(stage, performance.now() - t0);
    }
  };
}

function instrument(mod: {
  IntakeConsumers: { prototype: Record<string, unknown> };
  IntakeService: { prototype: Record<string, unknown> };
  DatasetsRepository: { prototype: Record<string, unknown> };
  RecordsRepository: { prototype: Record<string, unknown> };
}): void {
  time(mod.IntakeService.prototype, 'ingest', 'slice: IntakeService.ingest (total)');
  // The gRPC and REST paths' existence check (once per call); Kafka slices get the schema with the allocation.
  time(mod.IntakeService.prototype, 'schemaOf', 'schema read (datasets.find)');
  time(mod.DatasetsRepository.prototype, 'allocate', 'slice: seq allocate (findOneAndUpdate)');
  time(mod.RecordsRepository.prototype, 'write', 'slice: storage write (insertMany)');
  time(mod.IntakeService.prototype, 'park', 'slice: rejects to DLQ (produce)');
  time(mod.DatasetsRepository.prototype, 'commitBatch', 'slice: counters+offset+event (datasets update)');
  time(mod.DatasetsRepository.prototype, 'intake', 'batch: counted offsets read (datasets.findById)');
  const consumers = mod.IntakeConsumers.prototype;
  const eachBatch = consumers['eachBatch'] as AnyFn;
  consumers['eachBatch'] = async function (this: unknown, ...args: unknown[]) {
    const payload = args[1] as { batch: { partition: number; messages: unknown[] }; commitOffsetsIfNecessary: (...a: unknown[]) => Promise<void> };
    const t0 = performance.now();
    if (firstBatchAt === 0) firstBatchAt = t0;
    const partition = payload.batch.partition;
    const prevEnd = lastBatchEnd.get(partition);
    // Between the end of one batch of a partition and the start of its next: the other partitions'
    // batches (kafkajs runs one at a time), Kafka fetch and kafkajs' own work.
    if (prevEnd !== undefined) add('between batches of a partition (other partitions, fetch)', t0 - prevEnd);
    batchSizes.push(payload.batch.messages.length);
    const commit = payload.commitOffsetsIfNecessary.bind(payload);
    payload.commitOffsetsIfNecessary = async (...a: unknown[]) => {
      const c0 = performance.now();
      try {
        await commit(...a);
      } finally {
        add('slice: offset commit (Kafka)', performance.now() - c0);
      }
    };
    try {
      return await eachBatch.apply(this, args);
    } finally {
      const t1 = performance.now();
      add('batch: eachBatch (total)', t1 - t0);
      lastBatchEnd.set(partition, t1);
      lastBatchAt = t1;
    }
  };
}

process.on('exit', () => {
  const file = process.env['BENCH_STAGES_FILE'];
  if (file === undefined) return;
  writeFileSync(
    file,
    JSON.stringify({ stages: Object.fromEntries(stages), batchSizes, activeMs: lastBatchAt - firstBatchAt }, null, 2),
  );
});

await serviceMain({
  service: 'ingestion',
  version: '0.1.0-bench',
  loadConfig,
  start: async (config, telemetry) => {
    const [app, consumers, intake, datasets, records] = await Promise.all([
      import('../../../services/ingestion/dist/ingestion.app.js'),
      import('../../../services/ingestion/dist/intake.consumer.js'),
      import('../../../services/ingestion/dist/intake.service.js'),
      import('../../../services/ingestion/dist/datasets.repository.js'),
      import('../../../services/ingestion/dist/records.repository.js'),
    ]);
    instrument({
      IntakeConsumers: consumers.IntakeConsumers as never,
      IntakeService: intake.IntakeService as never,
      DatasetsRepository: datasets.DatasetsRepository as never,
      RecordsRepository: records.RecordsRepository as never,
    });
    return app.startIngestion(config, telemetry);
  },
});
