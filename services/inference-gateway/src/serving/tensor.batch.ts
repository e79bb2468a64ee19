// Dynamic batching's tensor work: the pool concatenates requests that agree on every dimension but the
// first along it (one buffer per input goes to the worker), the worker runs them once, and the pool
// splits the outputs back by rows as views.
// Only erasable TypeScript (the worker loads this file directly under tests).
import type { TensorData, WireTensor } from './worker.messages.js';

type TypedArrayOf = new (length: number) => TensorData;

/** Elements of one row: the product of every dimension but the first. */
function rowSize(dims: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < dims.length; i++) n *= dims[i] as number;
  return n;
}

/**
 * One feed per input holding every request's rows in order, in buffers of their own (so they can be
 * transferred). The requests must have the same input names, types and non-first dimensions (the pool
 * batches only such requests).
 */
export function concatRequests(requests: readonly WireTensor[][]): WireTensor[] {
  const first = requests[0];
  if (first === undefined) throw new Error('an empty batch');
  const total = requests.reduce((n, r) => n + (r[0]?.dims[0] ?? 0), 0);
  return first.map((feed, i) => {
    const size = rowSize(feed.dims);
    const data = new (feed.data.constructor as TypedArrayOf)(total * size);
    let offset = 0;
    for (const request of requests) {
      const part = request[i]?.data as TensorData;
      (data as Float32Array).set(part as Float32Array, offset);
      offset += part.length;
    }
    return { name: feed.name, type: feed.type, dims: [total, ...feed.dims.slice(1)], data };
  });
}

/**
 * The feeds of a request that runs alone, each in a buffer it alone fills, as postMessage can transfer
 * it: a view into a larger buffer (the request's bytes, a batch's output) is copied, an owned one kept.
 */
export function transferable(feeds: readonly WireTensor[]): WireTensor[] {
  return feeds.map((f) => (f.data.byteOffset === 0 && f.data.byteLength === f.data.buffer.byteLength ? f : { ...f, data: f.data.slice() }));
}

/**
 * Each request's rows of every tensor, as views into the batch's buffers (no copy); undefined when a
 * tensor's first dimension is not the batch's row count, i.e. the model does not keep rows apart.
 */
export function splitRows(tensors: readonly WireTensor[], rows: readonly number[]): WireTensor[][] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  if (tensors.some((t) => t.dims[0] !== total)) return undefined;
  const parts: WireTensor[][] = rows.map(() => []);
  for (const t of tensors) {
    const size = rowSize(t.dims);
    let row = 0;
    rows.forEach((n, r) => {
      const data = t.data.subarray(row * size, (row + n) * size);
      parts[r]?.push({ name: t.name, type: t.type, dims: [n, ...t.dims.slice(1)], data });
      row += n;
    });
  }
  return parts;
}
