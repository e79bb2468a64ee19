import { GrpcError, Status } from '@aio/grpc';
import type { Logger } from '@aio/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerPool } from '../src/serving/worker.pool.js';
import type { WireTensor } from '../src/serving/worker.messages.js';

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const workerUrl = new URL('./fixtures/scripted.worker.mjs', import.meta.url);
const feed = (v: number): WireTensor[] => [{ name: 'x', type: 'float32', dims: [1], data: Float32Array.from([v]) }];

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

function release(p: WorkerPool): void {
  // The scripted worker answers held runs when told; reach its threads through the pool's slots.
  for (const slot of (p as unknown as { slots: { worker: { postMessage(m: unknown): void } }[] }).slots) slot.worker.postMessage({ kind: 'release' });
}

async function failure(p: Promise<unknown>): Promise<GrpcError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GrpcError) return err;
    throw err;
  }
  throw new Error('succeeded');
}

describe('WorkerPool', () => {
  it('runs requests on its workers and moves the buffers back', async () => {
    pool = new WorkerPool({ size: 2, queueLimit: 8, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('echo@1', '/model.onnx');
    const results = await Promise.all([1, 2, 3, 4].map((v) => pool!.run('echo@1', feed(v), ['x'])));
    expect(results.map((r) => Array.from(r.outputs[0]?.data as Float32Array))).toEqual([[1], [2], [3], [4]]);
  });

  it('answers RESOURCE_EXHAUSTED with a retry hint when a version queue is full', async () => {
    pool = new WorkerPool({ size: 1, queueLimit: 2, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('hold@1', '/model.onnx');
    const running = pool.run('hold@1', feed(1), ['x']); // taken by the worker
    const queued = [pool.run('hold@1', feed(2), ['x']), pool.run('hold@1', feed(3), ['x'])];
    const full = await failure(pool.run('hold@1', feed(4), ['x']));
    expect(full.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(full.message).toMatch(/hold@1 has 2 requests waiting \(AIO_INFER_QUEUE_LIMIT\); retry after 100 ms/);
    expect(full.metadata.get('grpc-retry-pushback-ms')).toEqual(['100']);
    release(pool);
    await running;
    release(pool);
    await queued[0];
    release(pool);
    await queued[1];
  });

  it('fails the in-flight request of a crashed worker with UNAVAILABLE and replaces the worker', async () => {
    pool = new WorkerPool({ size: 1, queueLimit: 8, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('crash@1', '/bad.onnx');
    await pool.load('echo@1', '/model.onnx');
    const crashed = await failure(pool.run('crash@1', feed(1), ['x']));
    expect(crashed.code).toBe(Status.UNAVAILABLE);
    expect(crashed.message).toMatch(/the inference worker crashed \(exit code 3\); retry/);
    // The replacement reopens every loaded version and serves.
    const result = await pool.run('echo@1', feed(7), ['x']);
    expect(Array.from(result.outputs[0]?.data as Float32Array)).toEqual([7]);
  });

  it('fails a run that exceeds the deadline with DEADLINE_EXCEEDED and replaces the stuck worker', async () => {
    // The deadline covers the replacement worker's start too: generous, so a loaded machine does not trip it.
    pool = new WorkerPool({ size: 1, queueLimit: 8, timeoutMs: 2_000, logger, workerUrl });
    pool.start();
    await pool.load('hold@1', '/model.onnx');
    await pool.load('echo@1', '/model.onnx');
    const stuck = await failure(pool.run('hold@1', feed(1), ['x']));
    expect(stuck.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(stuck.message).toMatch(/AIO_INFER_TIMEOUT_MS/);
    expect(Array.from((await pool.run('echo@1', feed(2), ['x'])).outputs[0]?.data as Float32Array)).toEqual([2]);
  });

  it('close() lets queued and running requests finish, then refuses new ones', async () => {
    pool = new WorkerPool({ size: 1, queueLimit: 8, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('hold@1', '/model.onnx');
    const inFlight = [pool.run('hold@1', feed(1), ['x']), pool.run('hold@1', feed(2), ['x'])];
    const closing = pool.close();
    expect((await failure(pool.run('hold@1', feed(3), ['x']))).code).toBe(Status.UNAVAILABLE);
    release(pool);
    await inFlight[0];
    release(pool);
    await inFlight[1];
    await closing;
    pool = undefined;
  });
});
