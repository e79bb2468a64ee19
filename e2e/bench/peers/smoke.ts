// Smoke check of the peers (not a benchmark): starts MLServer and Ray Serve on one ONNX file, checks one
// OIP v2 REST answer from each (shape [1,10] for the test MLP), runs a short closed-loop REST load on
// each, then perf_analyzer (gRPC and HTTP) against each (--only ray,perf for Ray's), and stops everything.
//   node e2e/bench/peers/smoke.ts [--model FILE] [--name mlp] [--seconds 5] [--concurrency 64] [--only mlserver|ray|perf]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { quickRestLoad, runPerfAnalyzer, startMlserver, startRayServe, type PeerProcess } from './peers.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.resolve(import.meta.dirname, '../../../.infra/bench/models/mlp-peer-test.onnx') },
    name: { type: 'string', default: 'mlp' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
    only: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const name = values.name;
const body = new TextEncoder().encode(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => (i % 7) / 7) }] }));
const want = (what: string): boolean => values.only === undefined || values.only.split(',').includes(what);

async function check(peer: PeerProcess): Promise<void> {
  const res = await fetch(`${peer.restUrl}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as { outputs?: { name: string; shape: number[]; datatype: string }[] };
  const out = json.outputs?.[0];
  console.log(`${peer.system}: HTTP ${res.status}, output ${out?.name} ${out?.datatype} [${out?.shape.join(',')}] (${body.length}-byte body)`);
  const load = await quickRestLoad({ url: `${peer.restUrl}/v2/models/${name}/infer`, body, concurrency, seconds });
  console.log(`${peer.system}: REST ${concurrency} in flight, ${seconds}s: ${load.rps.toFixed(0)} req/s, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms, ${load.errors} errors${load.firstError ? ` (${load.firstError})` : ''}`);
}

const started: PeerProcess[] = [];
try {
  if (want('mlserver') || want('perf')) {
    const mls = await startMlserver({ model: values.model, name, maxBatchSize: 64, maxBatchDelayMs: 1, threads: 1, workers: 2 });
    started.push(mls);
    console.log(`${mls.system} ready: ${mls.restUrl} grpc ${mls.grpcAddress} pid ${mls.pid} ${JSON.stringify(mls.settings)} log ${mls.logFile}`);
    if (want('mlserver')) await check(mls);
    if (want('perf')) {
      for (const protocol of ['grpc', 'http'] as const) {
        const url = protocol === 'grpc' ? (mls.grpcAddress as string) : mls.restUrl;
        const r = await runPerfAnalyzer({ url, protocol, model: name, shape: { x: [1, 64] }, concurrency, seconds: 3 });
        console.log(`perf_analyzer -i ${protocol} -> ${mls.system}: exit ${r.exitCode}, ${r.throughput.toFixed(0)} infer/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms${r.errors.length ? `; errors: ${[...new Set(r.errors)].slice(0, 3).join(' | ')}` : ''}`);
      }
    }
    await mls.stop();
    started.pop();
  }
  if (want('ray')) {
    const ray = await startRayServe({ model: values.model, name, maxBatchSize: 64, maxBatchDelayMs: 1, threads: 1, replicas: 2 });
    started.push(ray);
    console.log(`${ray.system} ready: ${ray.restUrl} grpc ${ray.grpcAddress} pid ${ray.pid} ${JSON.stringify(ray.settings)} log ${ray.logFile}`);
    await check(ray);
    if (want('perf') && ray.grpcAddress !== undefined) {
      for (const [protocol, url] of [['grpc', ray.grpcAddress], ['http', ray.restUrl]] as const) {
        const r = await runPerfAnalyzer({ url, protocol, model: name, shape: { x: [1, 64] }, concurrency, seconds: 3 });
        console.log(`perf_analyzer -i ${protocol} -> ${ray.system}: exit ${r.exitCode}, ${r.throughput.toFixed(0)} infer/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms${r.errors.length ? `; errors: ${[...new Set(r.errors)].slice(0, 3).join(' | ')}` : ''}`);
      }
    }
    await ray.stop();
    started.pop();
  }
} finally {
  for (const p of started) await p.stop();
}
