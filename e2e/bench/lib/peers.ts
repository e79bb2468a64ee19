// Peer servers (MLServer, Ray Serve, Triton via perf_analyzer...) measured beside ours with the same
// generator and the same request bytes. They come from
//   - `--with-peers` (or AIO_BENCH_PEERS=mlserver,ray): peers/index.ts starts MLServer and Ray Serve, or
//   - e2e/bench/peers/index.ts exporting `startPeers(): Promise<{ systems: PeerSystem[]; stop(): Promise<void> }>`
//     (starts its servers, serving the models in .infra/bench/models/<name>.onnx under the same names), or
//   - a JSON file (--peers FILE, default e2e/bench/peers/peers.json) listing servers already running.
// A benchmark takes the peers whose `benchmarks` name it and that speak its transport.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelInferRequestSchema } from '@aio/proto/inference/grpc_service';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DriverSpec } from './load.ts';
import { MODEL_INFER_PATH } from './oip.ts';

export interface PeerSystem {
  /** Shown in the tables, e.g. "MLServer 1.7 (REST)". */
  name: string;
  /** Benchmark ids it joins: mlp-grpc, mlp-rest, cnn-raw. */
  benchmarks: string[];
  /** An OIP v2 / Triton gRPC endpoint (host:port). */
  grpc?: { address: string; metadata?: Record<string, string> };
  /** An OIP v2 REST endpoint (origin, e.g. http://127.0.0.1:9080). */
  rest?: { origin: string; headers?: Record<string, string> };
  /** The model name the peer serves, when it differs from ours (the request's model_name / URL change; nothing else does). */
  modelNames?: Record<string, string>;
  /** Shown under the benchmark's notes (version, workers, settings). */
  notes?: string;
}

export interface Peers {
  systems: PeerSystem[];
  stop(): Promise<void>;
}

const PEERS_DIR = path.resolve(import.meta.dirname, '..', 'peers');

export async function loadPeers(file: string | undefined, withServers = false): Promise<Peers> {
  const systems: PeerSystem[] = [];
  const stops: (() => Promise<void>)[] = [];
  // peers/index.ts starts the servers AIO_BENCH_PEERS names; --with-peers means all of them.
  if (withServers && !process.env['AIO_BENCH_PEERS']) process.env['AIO_BENCH_PEERS'] = 'mlserver,ray';
  const hook = path.join(PEERS_DIR, 'index.ts');
  if (existsSync(hook)) {
    const mod = (await import(pathToFileURL(hook).href)) as { startPeers?: () => Promise<Peers> };
    if (typeof mod.startPeers === 'function') {
      const started = await mod.startPeers();
      systems.push(...started.systems);
      stops.push(() => started.stop());
    }
  }
  const json = file ?? path.join(PEERS_DIR, 'peers.json');
  if (existsSync(json)) systems.push(...(JSON.parse(readFileSync(json, 'utf8')) as PeerSystem[]));
  return { systems, stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}

export function peersFor(peers: readonly PeerSystem[], benchmark: string, transport: 'grpc' | 'rest'): PeerSystem[] {
  return peers.filter((p) => p.benchmarks.includes(benchmark) && p[transport] !== undefined);
}

/** The same gRPC request, with only model_name changed when the peer serves the model under another name. */
export function peerGrpcDriver(peer: PeerSystem, model: string, request: Uint8Array, timeoutMs?: number): DriverSpec {
  const name = peer.modelNames?.[model];
  let bytes = request;
  if (name !== undefined) {
    const msg = fromBinary(ModelInferRequestSchema, request);
    msg.modelName = name;
    bytes = toBinary(ModelInferRequestSchema, msg);
  }
  return { kind: 'grpc', address: peer.grpc?.address ?? '', path: MODEL_INFER_PATH, requests: [bytes], metadata: peer.grpc?.metadata ?? {}, timeoutMs };
}

export function peerRestDriver(peer: PeerSystem, model: string, body: Uint8Array): DriverSpec {
  const name = peer.modelNames?.[model] ?? model;
  return { kind: 'rest', origin: peer.rest?.origin ?? '', requests: [{ path: `/v2/models/${encodeURIComponent(name)}/infer`, body }], headers: peer.rest?.headers ?? {} };
}
