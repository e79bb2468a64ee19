import { describe, expect, it } from 'vitest';
import { resolveBatching, type BatchingRequest } from './batch.policy.js';
import type { LoadedSignature } from './worker.pool.js';

const meta = (name: string, shape: (number | string)[]) => ({ name, isTensor: true, type: 'float32', shape });
const sig = (inDim: number | string, outDim: number | string): LoadedSignature => ({ inputs: [meta('x', [inDim, 4])], outputs: [meta('y', [outDim, 2])] });
const defaults = { maxBatchSize: 32, maxQueueDelayMicros: 0, queueLimit: 256 };
const ask = (p: Partial<BatchingRequest>): BatchingRequest => ({ maxBatchSize: 0, maxQueueDelayMicros: 0, preferredBatchSizes: [], maxQueueSize: 0, ...p });

describe('resolveBatching', () => {
  it('batches by default only when every input and output names the same symbolic first dimension', () => {
    expect(resolveBatching(sig('N', 'N'), undefined, defaults).policy).toEqual({ maxBatchSize: 32, maxQueueDelayMicros: 0, preferredBatchSizes: [], maxQueueSize: 256 });
    expect(resolveBatching(sig('N', 'M'), undefined, defaults).policy.maxBatchSize).toBe(1);
    expect(resolveBatching(sig(-1, -1), undefined, defaults).note).toMatch(/do not share a symbolic first dimension/);
    expect(resolveBatching(sig(1, 1), undefined, defaults).policy.maxBatchSize).toBe(1);
    expect(resolveBatching(sig('N', 'N'), undefined, { ...defaults, maxBatchSize: 1 }).note).toMatch(/AIO_BATCH_MAX_SIZE/);
  });

  it("follows the deployment's settings: size, delay, preferred sizes, queue size, and 1 = off", () => {
    const r = resolveBatching(sig(-1, 'batch'), ask({ maxBatchSize: 8, maxQueueDelayMicros: 500, preferredBatchSizes: [8, 4, 4, 1, 16], maxQueueSize: 10 }), defaults);
    expect(r.policy).toEqual({ maxBatchSize: 8, maxQueueDelayMicros: 500, preferredBatchSizes: [4, 8], maxQueueSize: 10 });
    expect(resolveBatching(sig('N', 'N'), ask({ maxBatchSize: 1 }), defaults).policy.maxBatchSize).toBe(1);
    expect(resolveBatching(sig('N', 'N'), ask({ maxQueueDelayMicros: 200 }), defaults).policy).toMatchObject({ maxBatchSize: 32, maxQueueDelayMicros: 200 });
  });

  it('refuses to batch a model with a fixed first dimension even when asked, and says why', () => {
    const r = resolveBatching(sig(1, 1), ask({ maxBatchSize: 8 }), defaults);
    expect(r.policy.maxBatchSize).toBe(1);
    expect(r.note).toMatch(/no dynamic first dimension/);
  });
});
