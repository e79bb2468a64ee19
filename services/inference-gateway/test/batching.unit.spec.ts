// Dynamic batching on real onnxruntime sessions (the gateway's own worker threads): a batch answers
// exactly what each request would get alone, in order, and a request the model refuses fails alone.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GrpcError, Status } from '@aio/grpc';
import { attr, ModelBuilder } from '@aio/onnx';
import type { Logger } from '@aio/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireTensor } from '../src/serving/worker.messages.js';
import { WorkerPool, type RunResult } from '../src/serving/worker.pool.js';

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

/** y = relu(x·W + b) per row, and e = a row of a 10-row table picked by idx (out of range fails). */
function model(): Uint8Array {
  const m = new ModelBuilder({ producerVersion: 'test' });
  const x = m.input('x', 'float32', ['N', 4]);
  const idx = m.input('idx', 'int64', ['N']);
  const w = m.initializer('W', Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2), [4, 3]);
  const b = m.initializer('B', Float32Array.from([0.5, -0.5, 0]), [3]);
  m.output('y', 'float32', ['N', 3], m.relu(m.add(m.matMul(x, w), b)));
  const table = m.initializer('T', Float32Array.from({ length: 30 }, (_, i) => i), [10, 3]);
  const [picked] = m.node('Gather', [table, idx], { attributes: { axis: attr.int(0) } });
  m.output('e', 'float32', ['N', 3], picked);
  return m.toBytes();
}

function request(seed: number, rows: number, idx?: bigint): WireTensor[] {
  return [
    { name: 'x', type: 'float32', dims: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(seed * 7 + i)) },
    { name: 'idx', type: 'int64', dims: [rows], data: BigInt64Array.from({ length: rows }, (_, i) => idx ?? BigInt((seed + i) % 10)) },
  ];
}

const plain = (r: RunResult) => r.outputs.map((t) => ({ name: t.name, dims: t.dims, data: Array.from(t.data as Float32Array) }));

let dir: string;
let pool: WorkerPool;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aio-batching-'));
  await writeFile(path.join(dir, 'model.onnx'), model());
  pool = new WorkerPool({ size: 1, queueLimit: 256, timeoutMs: 30_000, logger });
  pool.start();
  await pool.load('m@1', path.join(dir, 'model.onnx'));
}, 60_000);
afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dynamic batching on onnxruntime', () => {
  it('answers each request of a batch exactly as it would be answered alone, in order', async () => {
    const shapes = Array.from({ length: 24 }, (_, i) => ({ seed: i, rows: 1 + (i % 3) }));
    pool.setPolicy('m@1', { maxBatchSize: 1, maxQueueDelayMicros: 0, preferredBatchSizes: [], maxQueueSize: 256 });
    const alone = await Promise.all(shapes.map((s) => pool.run('m@1', request(s.seed, s.rows), ['y', 'e'])));
    expect(alone.every((r) => r.batchSize === 1)).toBe(true);
    // A queue delay holds them long enough to batch: all 24 were queued in this same tick.
    pool.setPolicy('m@1', { maxBatchSize: 16, maxQueueDelayMicros: 50_000, preferredBatchSizes: [], maxQueueSize: 256 });
    const batched = await Promise.all(shapes.map((s) => pool.run('m@1', request(s.seed, s.rows), ['y', 'e'])));
    expect(batched.some((r) => !r.execution)).toBe(true); // some requests shared a session run
    expect(batched.map(plain)).toEqual(alone.map(plain));
  });

  it('fails only the request the model refuses; the rest of its batch is answered', async () => {
    pool.setPolicy('m@1', { maxBatchSize: 8, maxQueueDelayMicros: 50_000, preferredBatchSizes: [], maxQueueSize: 256 });
    const runs = [request(1, 1), request(2, 2, 99n), request(3, 1)].map((feeds) =>
      pool.run('m@1', feeds, ['e']).then(
        (r) => ({ ok: true as const, e: Array.from(r.outputs[0]?.data as Float32Array) }),
        (err: unknown) => ({ ok: false as const, err: err as GrpcError }),
      ),
    );
    const [a, bad, c] = await Promise.all(runs);
    expect(a).toEqual({ ok: true, e: [3, 4, 5] });
    expect(c).toEqual({ ok: true, e: [9, 10, 11] });
    expect(bad?.ok).toBe(false);
    if (bad?.ok === false) {
      expect(bad.err.code).toBe(Status.INVALID_ARGUMENT);
      expect(bad.err.message).toMatch(/the model rejected the request: .*indices/i);
    }
  });
});
