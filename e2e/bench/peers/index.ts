// The peers hook that e2e/bench/lib/peers.ts loads: `startPeers()` starts the peer servers named in
// AIO_BENCH_PEERS (comma list: mlserver, ray; unset or empty = none, so a plain bench run starts
// nothing) on the benchmark models in .infra/bench/models/, under the same model names, with the
// gateway's batching (BENCH_BATCHING: max batch 64 requests, max delay 200 µs) and its threading
// (AIO_BENCH_PEER_WORKERS processes, default 2 = the gateway's AIO_INFER_WORKERS on 2 cores, one
// onnxruntime intra-op thread each). Needs the venvs from e2e/bench/peers/setup.sh.
//   AIO_BENCH_PEERS=mlserver,ray node e2e/bench/run.ts --only mlp-rest
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BENCH_BATCHING } from '../lib/platform.ts';
import { MODELS_DIR } from '../lib/models.ts';
import type { Peers, PeerSystem } from '../lib/peers.ts';
import { startMlserver, startRayServe, type PeerProcess } from './peers.ts';

const MLP = 'bench-mlp';
const CNN = 'bench-resnet18';

export async function startPeers(): Promise<Peers> {
  const wanted = (process.env.AIO_BENCH_PEERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const workers = Number(process.env.AIO_BENCH_PEER_WORKERS ?? 2);
  const maxBatchSize = BENCH_BATCHING.maxBatchSize ?? 64;
  const maxBatchDelayMs = (BENCH_BATCHING.maxQueueDelayMicros ?? 200) / 1000;
  const file = (name: string): string => path.join(MODELS_DIR, `${name}.onnx`);
  const systems: PeerSystem[] = [];
  const running: PeerProcess[] = [];
  const stop = async (): Promise<void> => void (await Promise.all(running.map((p) => p.stop())));
  try {
    if (wanted.includes('mlserver')) {
      const withCnn = existsSync(file(CNN));
      const p = await startMlserver({
        model: file(MLP),
        name: MLP,
        moreModels: withCnn ? [{ model: file(CNN), name: CNN }] : [],
        maxBatchSize,
        maxBatchDelayMs,
        threads: 1,
        workers,
      });
      running.push(p);
      const notes = `${p.system}: custom onnxruntime runtime (e2e/bench/peers/mlserver_onnx_runtime.py), parallel_workers ${workers}, 1 intra-op thread each, adaptive batching max_batch_size ${maxBatchSize} / max_batch_time ${maxBatchDelayMs} ms.`;
      systems.push({ name: `${p.system} (gRPC)`, benchmarks: ['mlp-grpc', ...(withCnn ? ['cnn-raw'] : [])], grpc: { address: p.grpcAddress as string }, notes });
      systems.push({ name: `${p.system} (REST)`, benchmarks: ['mlp-rest'], rest: { origin: p.restUrl }, notes });
    }
    if (wanted.includes('ray')) {
      const p = await startRayServe({ model: file(MLP), name: MLP, maxBatchSize, maxBatchDelayMs, threads: 1, replicas: workers });
      running.push(p);
      const notes = `${p.system}: e2e/bench/peers/ray_serve.py, ${workers} replicas, 1 intra-op thread each, @serve.batch max_batch_size ${maxBatchSize} / batch_wait_timeout ${maxBatchDelayMs} ms; Serve's HTTP and gRPC proxy actor in front.`;
      systems.push({ name: `${p.system} (REST)`, benchmarks: ['mlp-rest'], rest: { origin: p.restUrl }, notes });
      if (p.grpcAddress !== undefined) systems.push({ name: `${p.system} (gRPC)`, benchmarks: ['mlp-grpc'], grpc: { address: p.grpcAddress }, notes });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { systems, stop };
}
