// Opens one model with onnxruntime and posts back its input/output metadata. Loading parses and
// optimises the whole graph synchronously, so it runs here, never on the service's event loop. Only
// erasable TypeScript and no relative imports: unit and integration tests run this file directly.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

interface WireValue {
  name: string;
  isTensor: boolean;
  type: string;
  shape: (number | string)[];
}

function plain(list: readonly ort.InferenceSession.ValueMetadata[]): WireValue[] {
  return list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, type: '', shape: [] }));
}

const { path } = workerData as { path: string };
try {
  // One thread: verification must not compete with serving for cores.
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  const result = { ok: true, inputs: plain(session.inputMetadata), outputs: plain(session.outputMetadata) };
  await session.release();
  parentPort?.postMessage(result);
} catch (err) {
  parentPort?.postMessage({ ok: false, reason: err instanceof Error ? err.message : String(err) });
}
