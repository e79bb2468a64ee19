import { GrpcError, Status } from '@aio/grpc';
import type { Logger } from '@aio/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { waitStep, WorkerPool, type BatchPolicy } from '../src/serving/worker.pool.js';
import type { WireTensor } from '../src/serving/worker.messages.js';

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const workerUrl = new URL('./fixtures/scripted.worker.mjs', import.meta.url);
const feed = (v: number): WireTensor[] => [{ name: 'x', type: 'float32', dims: [1], data: Float32Array.from([v]) }];
/** A request of `rows` rows of width `width`, every value v. */
const rowsOf = (v: number, rows = 1, width = 2): WireTensor[] => [{ name: 'x', type: 'float32', dims: [rows, width], data: new Float32Array(rows * width).fill(v) }];
const batching = (p: Partial<BatchPolicy> = {}): BatchPolicy => ({ maxBatchSize: 4, maxQueueDelayMicros: 0, preferredBatchSizes: [], maxQueueSize: 64, ...p });
const values = (r: { outputs: WireTensor[] }): number[] => Array.from(r.outputs[0]?.data as Float32Array);

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

function release(p: WorkerPool): void {
  // The scripted worker answers held runs when told; reach its threads through the pool's slots.
  for (const slot of (p as unknown as { slots: { worker: { postMessage(m: unknown): void } }[] }).slots) slot.worker.postMessage({ kind: 'release' });
}

/** One event-loop turn: the pool hands queued requests to workers after the current I/O callbacks. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

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
    const running = pool.run('hold@1', feed(1), ['x']);
    await tick(); // taken by the worker
    const queued = [pool.run('hold@1', feed(2), ['x']), pool.run('hold@1', feed(3), ['x'])];
    const full = await failure(pool.run('hold@1', feed(4), ['x']));
    expect(full.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(full.message).toMatch(/hold@1 has 2 requests waiting, its queue limit \(.*AIO_INFER_QUEUE_LIMIT\); retry after 100 ms/);
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
    await tick();
    const closing = pool.close();
    expect((await failure(pool.run('hold@1', feed(3), ['x']))).code).toBe(Status.UNAVAILABLE);
    release(pool);
    await inFlight[0];
    release(pool);
    await inFlight[1];
    await closing;
    pool = undefined;
  });

  it('hands requests that arrive in one event-loop turn to an idle worker as one batch', async () => {
    pool = new WorkerPool({ size: 2, queueLimit: 64, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('echo@1', '/model.onnx');
    pool.setPolicy('echo@1', batching({ maxBatchSize: 8 }));
    const results = await Promise.all([1, 2, 3].map((v) => pool!.run('echo@1', rowsOf(v), ['x'])));
    expect(results.map((r) => [r.batchSize, r.execution])).toEqual([[3, true], [3, false], [3, false]]);
    expect(results.map(values)).toEqual([[1, 1], [2, 2], [3, 3]]);
  });

  it('batches what queued while the worker was busy, up to the max batch size in rows, answers in order', async () => {
    pool = new WorkerPool({ size: 1, queueLimit: 64, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('hold@1', '/model.onnx');
    pool.setPolicy('hold@1', batching({ maxBatchSize: 4 }));
    const first = pool.run('hold@1', rowsOf(0), ['x']);
    await tick(); // the idle worker takes it alone
    const rest = [1, 2, 3, 4, 5].map((v) => pool!.run('hold@1', rowsOf(v), ['x']));
    expect(pool.depth('hold@1')).toBe(6);
    release(pool);
    expect((await first).batchSize).toBe(1);
    release(pool);
    const batch = await Promise.all(rest.slice(0, 4));
    expect(batch.map((r) => r.batchSize)).toEqual([4, 4, 4, 4]);
    expect(batch.map(values)).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]]);
    release(pool);
    expect(values(await (rest[4] as Promise<{ outputs: WireTensor[] }>))).toEqual([5, 5]);
  });

  it('never batches requests whose non-batch dimensions or outputs differ, nor beyond the row budget', async () => {
    pool = new WorkerPool({ size: 1, queueLimit: 64, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('hold@1', '/model.onnx');
    pool.setPolicy('hold@1', batching({ maxBatchSize: 4 }));
    const first = pool.run('hold@1', rowsOf(0), ['x']);
    await tick();
    const narrow = [pool.run('hold@1', rowsOf(1, 1, 2), ['x']), pool.run('hold@1', rowsOf(2, 3, 2), ['x'])];
    const wide = pool.run('hold@1', rowsOf(3, 1, 3), ['x']);
    const tooMany = pool.run('hold@1', rowsOf(4, 1, 2), ['x']); // 1 + 3 rows fill the budget of 4
    release(pool);
    await first;
    release(pool);
    // batchSize counts rows, as Triton's batch statistics do.
    expect((await Promise.all(narrow)).map((r) => [r.batchSize, r.outputs[0]?.dims])).toEqual([[4, [1, 2]], [4, [3, 2]]]);
    release(pool);
    expect((await wide).batchSize).toBe(1);
    release(pool);
    expect((await tooMany).batchSize).toBe(1);
  });

  it('waits up to the queue delay for companions; a preferred size runs at once', async () => {
    pool = new WorkerPool({ size: 2, queueLimit: 64, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('echo@1', '/model.onnx');
    pool.setPolicy('echo@1', batching({ maxBatchSize: 8, maxQueueDelayMicros: 20_000 }));
    // Idle workers, yet the three wait out the delay together instead of running alone.
    const three = await Promise.all([1, 2, 3].map((v) => pool!.run('echo@1', rowsOf(v), ['x'])));
    expect(three.map((r) => r.batchSize)).toEqual([3, 3, 3]);
    // With a preferred size of 2 and a delay far beyond the test's timeout, two requests run at once.
    pool.setPolicy('echo@1', batching({ maxBatchSize: 8, maxQueueDelayMicros: 60_000_000, preferredBatchSizes: [2] }));
    const two = await Promise.all([1, 2].map((v) => pool!.run('echo@1', rowsOf(v), ['x'])));
    expect(two.map((r) => r.batchSize)).toEqual([2, 2]);
  });

  it("honours the caller's deadline and cancellation without harming the worker", async () => {
    pool = new WorkerPool({ size: 1, queueLimit: 64, timeoutMs: 10_000, logger, workerUrl });
    pool.start();
    await pool.load('hold@1', '/model.onnx');
    const past = await failure(pool.run('hold@1', feed(0), ['x'], { deadline: new Date(Date.now() - 1) }));
    expect([past.code, past.message]).toEqual([Status.DEADLINE_EXCEEDED, "hold@1 could not answer before the call's deadline"]);
    const running = pool.run('hold@1', feed(1), ['x']);
    await tick();
    const late = failure(pool.run('hold@1', feed(2), ['x'], { deadline: new Date(Date.now() + 30) }));
    let cancel: (reason: Error) => void = () => undefined;
    let removed = 0;
    const onCancel = (listener: (reason: Error) => void) => {
      cancel = listener;
      return () => void removed++;
    };
    const cancelled = failure(pool.run('hold@1', feed(3), ['x'], { onCancel }));
    cancel(new GrpcError(Status.CANCELLED, 'the client cancelled the call'));
    expect((await late).code).toBe(Status.DEADLINE_EXCEEDED);
    expect((await cancelled).message).toBe('the client cancelled the call');
    expect(pool.depth('hold@1')).toBe(1); // only the running one: the others left the queue
    expect(removed).toBe(1); // a settled job drops its cancellation listener
    // A call that ended before it was queued never waits in the queue.
    const ended = (listener: (reason: Error) => void) => {
      listener(new GrpcError(Status.CANCELLED, 'gone already'));
      return () => undefined;
    };
    expect((await failure(pool.run('hold@1', feed(4), ['x'], { onCancel: ended }))).message).toBe('gone already');
    expect(pool.depth('hold@1')).toBe(1);
    release(pool);
    expect(values(await running)).toEqual([1]);
  });
});

describe('waitStep (how a batch waits out its queue delay)', () => {
  it('leaves sub-millisecond delays to event-loop turns: a timer would wait a whole millisecond or two', () => {
    expect(waitStep(0.2)).toEqual({});
    expect(waitStep(0)).toEqual({});
    expect(waitStep(1.9)).toEqual({});
  });

  it('uses a timer for all but the last whole millisecond of longer delays', () => {
    expect(waitStep(2)).toEqual({ timeoutMs: 1 });
    expect(waitStep(20.7)).toEqual({ timeoutMs: 19 });
  });
});
