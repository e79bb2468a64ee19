import { describe, expect, it } from 'vitest';
import { concatRequests, splitRows, transferable } from './tensor.batch.js';
import type { WireTensor } from './worker.messages.js';

const req = (x: number[], rows: number, ids: bigint[]): WireTensor[] => [
  { name: 'x', type: 'float32', dims: [rows, x.length / rows], data: Float32Array.from(x) },
  { name: 'id', type: 'int64', dims: [rows], data: BigInt64Array.from(ids) },
];

describe('concatRequests / splitRows', () => {
  it('stacks requests along the first dimension, per input, keeping each type', () => {
    const a = req([1, 2], 1, [7n]);
    const feeds = concatRequests([a, req([3, 4, 5, 6], 2, [8n, 9n])]);
    expect(feeds.map((f) => [f.name, f.dims, Array.from(f.data as Float32Array)])).toEqual([
      ['x', [3, 2], [1, 2, 3, 4, 5, 6]],
      ['id', [3], [7n, 8n, 9n]],
    ]);
    expect(feeds[1]?.data).toBeInstanceOf(BigInt64Array);
    // Buffers of their own: transferring them leaves the requests' buffers alone.
    expect(feeds[0]?.data.byteLength).toBe(feeds[0]?.data.buffer.byteLength);
    expect(feeds[0]?.data.buffer).not.toBe(a[0]?.data.buffer);
  });

  it('gives a request that runs alone buffers of its own to transfer, copying only views', () => {
    const owned = req([1, 2], 1, [7n]);
    const shared = new Float32Array([0, 1, 2, 0]);
    const view: WireTensor = { name: 'x', type: 'float32', dims: [1, 2], data: shared.subarray(1, 3) };
    const [keptX, keptId] = transferable(owned);
    expect(keptX?.data).toBe(owned[0]?.data);
    expect(keptId?.data).toBe(owned[1]?.data);
    const [copied] = transferable([view]);
    expect(Array.from(copied?.data as Float32Array)).toEqual([1, 2]);
    expect(copied?.data.buffer).not.toBe(shared.buffer);
    expect(copied?.data.byteLength).toBe(copied?.data.buffer.byteLength);
  });

  it('gives each request its rows of every tensor, as views into the batch (no copy)', () => {
    const out: WireTensor[] = [{ name: 'y', type: 'float32', dims: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }];
    const parts = splitRows(out, [1, 2]);
    expect(parts?.map((p) => p.map((t) => [t.dims, Array.from(t.data as Float32Array)]))).toEqual([[[[1, 2], [1, 2]]], [[[2, 2], [3, 4, 5, 6]]]]);
    expect(parts?.[1]?.[0]?.data.buffer).toBe(out[0]?.data.buffer);
    expect(parts?.[1]?.[0]?.data.byteOffset).toBe(2 * 4);
  });

  it('splits what it concatenated back into the same requests', () => {
    const requests = [req([1, 2], 1, [7n]), req([3, 4, 5, 6], 2, [8n, 9n])];
    const parts = splitRows(concatRequests(requests), [1, 2]);
    expect(parts?.map((p) => p.map((t) => [t.name, t.dims, Array.from(t.data as Float32Array)]))).toEqual(
      requests.map((r) => r.map((t) => [t.name, t.dims, Array.from(t.data as Float32Array)])),
    );
  });

  it('refuses to split an output whose first dimension is not the batch (the model mixes rows)', () => {
    expect(splitRows([{ name: 's', type: 'float32', dims: [1], data: Float32Array.from([21]) }], [1, 2])).toBeUndefined();
  });
});
