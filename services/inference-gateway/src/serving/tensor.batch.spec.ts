import { describe, expect, it } from 'vitest';
import { concatRequests, splitOutputs } from './tensor.batch.js';
import type { WireTensor } from './worker.messages.js';

const req = (x: number[], rows: number, ids: bigint[]): WireTensor[] => [
  { name: 'x', type: 'float32', dims: [rows, x.length / rows], data: Float32Array.from(x) },
  { name: 'id', type: 'int64', dims: [rows], data: BigInt64Array.from(ids) },
];

describe('concatRequests / splitOutputs', () => {
  it('stacks requests along the first dimension, per input, keeping each type', () => {
    const { feeds, rows } = concatRequests([req([1, 2], 1, [7n]), req([3, 4, 5, 6], 2, [8n, 9n])]);
    expect(rows).toEqual([1, 2]);
    expect(feeds.map((f) => [f.name, f.dims, Array.from(f.data as Float32Array)])).toEqual([
      ['x', [3, 2], [1, 2, 3, 4, 5, 6]],
      ['id', [3], [7n, 8n, 9n]],
    ]);
    expect(feeds[1]?.data).toBeInstanceOf(BigInt64Array);
  });

  it('gives each request its rows of every output, in buffers of their own', () => {
    const out: WireTensor[] = [{ name: 'y', type: 'float32', dims: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }];
    const parts = splitOutputs(out, [1, 2]);
    expect(parts?.map((p) => p.map((t) => [t.dims, Array.from(t.data as Float32Array)]))).toEqual([[[[1, 2], [1, 2]]], [[[2, 2], [3, 4, 5, 6]]]]);
    expect(parts?.[1]?.[0]?.data.byteLength).toBe(parts?.[1]?.[0]?.data.buffer.byteLength);
  });

  it('refuses to split an output whose first dimension is not the batch (the model mixes rows)', () => {
    expect(splitOutputs([{ name: 's', type: 'float32', dims: [1], data: Float32Array.from([21]) }], [1, 2])).toBeUndefined();
  });
});
