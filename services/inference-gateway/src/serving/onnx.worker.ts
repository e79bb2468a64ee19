// An inference worker thread: holds one onnxruntime session per loaded model version and runs one
// request at a time (session.run blocks this thread, never the gateway's event loop). Only erasable
// TypeScript here (type imports, no enums or parameter properties): tests run this file directly.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { FromWorker, RunOutcome, ToWorker, WireMeta, WireTensor } from './worker.messages.js';

// Loaded at run time by URL: under tests this file runs as TypeScript and its sibling is a .ts file.
const batching = (await import(new URL(import.meta.url.endsWith('.ts') ? './tensor.batch.ts' : './tensor.batch.js', import.meta.url).href)) as typeof import('./tensor.batch.js');

const port = parentPort;
if (port === null) throw new Error('onnx.worker must run as a worker thread');

const sessions = new Map<string, ort.InferenceSession>();

function meta(list: readonly ort.InferenceSession.ValueMetadata[]): WireMeta[] {
  return list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, type: 'non-tensor', shape: [] }));
}

// Zero-filled buffers by onnxruntime type; a model with any other input type is not servable.
const ZEROS: Record<string, (n: number) => WireTensor['data']> = {
  bool: (n) => new Uint8Array(n),
  int8: (n) => new Int8Array(n),
  int16: (n) => new Int16Array(n),
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint8: (n) => new Uint8Array(n),
  uint16: (n) => new Uint16Array(n),
  uint32: (n) => new Uint32Array(n),
  uint64: (n) => new BigUint64Array(n),
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
};

/** One run with zeros of the signature (variable dimensions as 1): the first run pays onnxruntime's allocations. */
async function warmUp(session: ort.InferenceSession): Promise<void> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    const zeros = m.isTensor ? ZEROS[m.type] : undefined;
    if (!m.isTensor || zeros === undefined) throw new Error(`input "${m.name}" has type ${m.isTensor ? m.type : 'non-tensor'}, which the gateway does not serve`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    feeds[m.name] = new ort.Tensor(m.type, zeros(dims.reduce((a, b) => a * b, 1)), dims);
  }
  await session.run(feeds);
}

async function runFeeds(session: ort.InferenceSession, feeds: readonly WireTensor[], names: readonly string[]): Promise<WireTensor[]> {
  const inputs: Record<string, ort.Tensor> = {};
  for (const f of feeds) inputs[f.name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data, f.dims);
  const results = await session.run(inputs, names);
  return names.map((name) => {
    const t = results[name];
    if (t === undefined) throw new Error(`the model produced no output "${name}"`);
    let data = t.data as WireTensor['data'];
    // Transfer only a buffer the tensor owns whole; otherwise a copy of its bytes.
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength || !(data.buffer instanceof ArrayBuffer)) data = data.slice();
    return { name, type: t.type, dims: [...t.dims], data };
  });
}

async function runAlone(session: ort.InferenceSession, feeds: readonly WireTensor[], names: readonly string[]): Promise<RunOutcome> {
  try {
    return { ok: true, outputs: await runFeeds(session, feeds, names) };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The requests (feeds concatenated, `rows` each) run as one session.run. When that fails (one bad
 * request) or its outputs do not keep rows apart, each runs alone on its own rows, so every request
 * gets its own answer or its own error.
 */
async function runRequests(
  session: ort.InferenceSession,
  feeds: readonly WireTensor[],
  rows: readonly number[],
  names: readonly string[],
): Promise<{ batch: WireTensor[] } | { results: RunOutcome[] }> {
  if (rows.length === 1) return { results: [await runAlone(session, feeds, names)] };
  try {
    const outputs = await runFeeds(session, feeds, names);
    if (batching.splitRows(outputs, rows) !== undefined) return { batch: outputs };
  } catch {
    // Fall through: find out which request the model refuses.
  }
  const each = batching.splitRows(feeds, rows) ?? [];
  const results: RunOutcome[] = [];
  // Copies: a request's rows are a view into the batch, and onnxruntime takes a tensor's whole buffer.
  for (const request of each) results.push(await runAlone(session, request.map((f) => ({ ...f, data: f.data.slice() })), names));
  return { results };
}

function reply(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.kind) {
    case 'load': {
      let session = sessions.get(msg.key);
      if (session === undefined) {
        // One thread per worker, so one intra-op thread per session: the pool is the parallelism.
        // Errors reach the caller (and the logs) as answers; onnxruntime's own stderr lines would only repeat them.
        const opened = await ort.InferenceSession.create(msg.path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 4 });
        try {
          await warmUp(opened);
        } catch (err) {
          await opened.release();
          throw err;
        }
        sessions.set(msg.key, opened);
        session = opened;
      }
      reply({ kind: 'loaded', id: msg.id, inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
      return;
    }
    case 'unload': {
      const session = sessions.get(msg.key);
      sessions.delete(msg.key);
      await session?.release();
      reply({ kind: 'unloaded', id: msg.id });
      return;
    }
    case 'run': {
      const session = sessions.get(msg.key);
      if (session === undefined) throw new Error(`no session for ${msg.key} in this worker`);
      const started = process.hrtime.bigint();
      const ran = await runRequests(session, msg.feeds, msg.rows, msg.outputs);
      const computeNs = Number(process.hrtime.bigint() - started);
      const outputs = 'batch' in ran ? ran.batch : ran.results.flatMap((r) => (r.ok ? r.outputs : []));
      reply({ kind: 'result', id: msg.id, computeNs, ran }, outputs.map((t) => t.data.buffer as ArrayBuffer));
      return;
    }
  }
}

port.on('message', (msg: ToWorker) => {
  handle(msg).catch((err: unknown) => reply({ kind: 'failed', id: msg.id, message: err instanceof Error ? err.message : String(err) }));
});
