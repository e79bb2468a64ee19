// The memory budget: least recently used idle versions are unloaded to make room and load again on
// their next request; a busy version is never unloaded; a version larger than the budget is refused.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@aio/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager, SESSION_OVERHEAD_BYTES, type ServingPlan } from '../src/serving/model.manager.js';
import { WorkerPool } from '../src/serving/worker.pool.js';

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const workerUrl = new URL('./fixtures/scripted.worker.mjs', import.meta.url);
const KIB = 1024;

let dir: string;
let manager: ModelManager | undefined;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aio-budget-'));
  for (const [name, size] of [['a', 100], ['b', 100], ['c', 100], ['huge', 2000]] as const) {
    files[name] = path.join(dir, `${name}.onnx`);
    await writeFile(files[name], new Uint8Array(size * KIB));
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  await manager?.close();
  manager = undefined;
});

const plan = (file: string): ServingPlan => ({ generation: 1, routes: [{ version: 1, weight: 1, canary: false }], shadows: [], artifacts: new Map([[1, { path: file }]]) });

/** Two workers, so each 100 KiB artifact is estimated at (100 KiB + session overhead) x 2; the budget holds two of them. */
const ESTIMATE = (100 * KIB + SESSION_OVERHEAD_BYTES) * 2;
function start(): ModelManager {
  const pool = new WorkerPool({ size: 2, queueLimit: 8, timeoutMs: 10_000, logger, workerUrl });
  const m = new ModelManager(pool, Math.random, logger, { batch: { maxBatchSize: 1, maxQueueDelayMicros: 0, queueLimit: 8 }, memoryBudgetBytes: 2.5 * ESTIMATE });
  m.start();
  return m;
}

const states = (m: ModelManager) => Object.fromEntries(m.versions().map((v) => [v.model, v.evicted ? 'evicted' : v.state]));

describe('ModelManager memory budget', () => {
  it('unloads the least recently used idle version to load another, and loads it again on demand', async () => {
    manager = start();
    await manager.apply('a', plan(files.a as string));
    await manager.apply('b', plan(files.b as string));
    (await manager.acquire('a', '')).release(); // b is now the least recently used
    await manager.apply('c', plan(files.c as string));
    expect(states(manager)).toEqual({ a: 'READY', b: 'evicted', c: 'READY' });
    expect(manager.memory().usedBytes).toBe(2 * ESTIMATE);
    expect(manager.versions('b')[0]?.reason).toMatch(/memory budget.*next request loads it again/);
    expect(manager.isReady('b', '')).toBe(true); // still servable
    // A request for b loads it again, making room by unloading the least recently used (a).
    const lease = await manager.acquire('b', '');
    expect(lease.version.state).toBe('READY');
    expect((await manager.run(lease, [{ name: 'x', type: 'float32', dims: [1], data: Float32Array.from([4]) }], ['x'])).outputs[0]?.data).toEqual(Float32Array.from([4]));
    lease.release();
    expect(states(manager)).toEqual({ a: 'evicted', b: 'READY', c: 'READY' });
  });

  it('never unloads a version with requests in flight, and refuses a version larger than the budget', async () => {
    manager = start();
    await manager.apply('a', plan(files.a as string));
    await manager.apply('b', plan(files.b as string));
    const leases = [await manager.acquire('a', ''), await manager.acquire('b', '')];
    await manager.apply('c', plan(files.c as string)); // over the budget: both others are busy
    expect(states(manager)).toEqual({ a: 'READY', b: 'READY', c: 'READY' });
    for (const l of leases) l.release();
    await expect(manager.apply('huge', plan(files.huge as string))).rejects.toThrow(/over the memory budget of 1 MiB \(AIO_MODEL_MEMORY_BUDGET_MB\)/);
    expect(manager.versions('huge')[0]?.state).toBe('UNAVAILABLE');
  });
});
