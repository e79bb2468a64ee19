// Memory per loaded model, measured where nothing else moves RSS: a fresh process running the gateway's
// own WorkerPool (the part that holds models: one onnxruntime session per model in every worker), with
// the gateway's worker count. The first model is loaded and run before the first reading, so the
// onnxruntime environment and each worker's first-session costs are not charged to the others; then
// every other model is loaded and run once (sessions allocate on their first run) and RSS read again.
// Run by multi-model.bench.ts as a child:
//   node pool-memory.ts <workers> <model-file>...   -> prints one JSON line (PoolMemory)
// A benchmark harness, not a service: it measures the gateway's own worker pool, as the gateway runs it.
// eslint-disable-next-line no-restricted-imports -- see above
import { WorkerPool } from '../../../services/inference-gateway/dist/serving/worker.pool.js';
import { MiB, settledRss } from '../lib/memory.ts';

export interface PoolMemory {
  workers: number;
  models: number;
  /** RSS (bytes, median of reads) with the first model loaded and run, and with all of them. */
  rssFirst: number;
  rssAll: number;
  /** Largest spread of one set of reads (bytes): what RSS wanders by on its own. */
  noise: number;
}

const [workersArg, ...files] = process.argv.slice(2);
const workers = Number(workersArg);
if (!Number.isInteger(workers) || workers < 1 || files.length < 2) throw new Error('usage: pool-memory.ts <workers> <model-file> <model-file>...');
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (msg: string) => void process.stderr.write(`${msg}\n`) };
const pool = new WorkerPool({ size: workers, queueLimit: 64, timeoutMs: 60_000, logger: quiet });
pool.start();

/** Loads one model and runs one zero-filled request on every worker that holds it. */
async function loadAndRun(key: string, file: string): Promise<void> {
  const signature = await pool.load(key, file);
  const feeds = () =>
    signature.inputs.map((input) => {
      const dims = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
      return { name: input.name, type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) };
    });
  const outputs = signature.outputs.map((o) => o.name);
  await Promise.all(Array.from({ length: workers * 2 }, () => pool.run(key, feeds(), outputs)));
}

await loadAndRun('m0', files[0] as string);
const first = await settledRss(process.pid, 1500, 100);
for (const [i, file] of files.slice(1).entries()) await loadAndRun(`m${i + 1}`, file);
const all = await settledRss(process.pid, 1500, 100);
await pool.close();
const result: PoolMemory = { workers, models: files.length, rssFirst: first.median, rssAll: all.median, noise: Math.max(first.spread, all.spread) };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.stderr.write(`pool-memory: ${files.length} models in ${workers} workers: RSS ${(first.median / MiB).toFixed(1)} -> ${(all.median / MiB).toFixed(1)} MiB\n`);
