// Dynamic batching's tensor work, done inside the inference worker: requests that agree on every
// dimension but the first are concatenated along it, run once, and the outputs split back by rows.
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
 * One feed per input holding every request's rows in order. The requests must have the same input
 * names, types and non-first dimensions (the pool batches only such requests); `rows` is each
 * request's first dimension.
 */
export function concatRequests(requests: readonly WireTensor[][]): { feeds: WireTensor[]; rows: number[] } {
  const first = requests[0];
  if (first === undefined) throw new Error('an empty batch');
  const rows = requests.map((r) => r[0]?.dims[0] ?? 0);
  const total = rows.reduce((a, b) => a + b, 0);
  const feeds = first.map((feed, i) => {
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
  return { feeds, rows };
}

/**
 * Each request's share of the batch's outputs (copies that own their buffers, so they can be
 * transferred); undefined when an output's first dimension is not the batch's row count, i.e. the
 * model does not keep rows apart and the requests must run one by one.
 */
export function splitOutputs(outputs: readonly WireTensor[], rows: readonly number[]): WireTensor[][] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  if (outputs.some((o) => o.dims[0] !== total)) return undefined;
  const parts: WireTensor[][] = rows.map(() => []);
  for (const out of outputs) {
    const size = rowSize(out.dims);
    let row = 0;
    rows.forEach((n, r) => {
      const data = out.data.slice(row * size, (row + n) * size) as TensorData;
      parts[r]?.push({ name: out.name, type: out.type, dims: [n, ...out.dims.slice(1)], data });
      row += n;
    });
  }
  return parts;
}
