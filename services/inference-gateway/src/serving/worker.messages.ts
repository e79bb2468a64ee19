// The messages between the worker pool and its inference workers. Types only: onnx.worker.ts imports
// them with `import type`, so it stays runnable by Node's type stripping in tests.

/** onnxruntime tensor types the gateway moves across the thread boundary. */
export type OrtType = 'bool' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float32' | 'float64';

export type TensorData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** A tensor on the wire: its buffer is transferred, never copied. */
export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data: TensorData;
}

/** What the session reports about one of its inputs or outputs (symbolic dimensions as strings or -1). */
export interface WireMeta {
  name: string;
  isTensor: boolean;
  type: string;
  shape: (number | string)[];
}

export type ToWorker =
  | { kind: 'load'; id: number; key: string; path: string }
  | { kind: 'unload'; id: number; key: string }
  /**
   * One or more requests of one model version: their feeds already concatenated along dimension 0 by
   * the pool (one buffer per input crosses the thread boundary, not one per request), `rows` per request.
   */
  | { kind: 'run'; id: number; key: string; feeds: WireTensor[]; rows: number[]; outputs: string[] };

/** The answer to one request of a run: its outputs, or why the model refused it. */
export type RunOutcome = { ok: true; outputs: WireTensor[] } | { ok: false; message: string };

export type FromWorker =
  | { kind: 'loaded'; id: number; inputs: WireMeta[]; outputs: WireMeta[] }
  | { kind: 'unloaded'; id: number }
  /**
   * `batch`: the requests ran as one session.run and these outputs hold every request's rows in order
   * (the pool splits them); otherwise `results`, one outcome per request, each run alone.
   */
  | { kind: 'result'; id: number; computeNs: number; ran: { batch: WireTensor[] } | { results: RunOutcome[] } }
  | { kind: 'failed'; id: number; message: string };
