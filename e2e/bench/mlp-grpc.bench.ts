// mlp-grpc: the gateway's gRPC ModelInfer on a small MLP (batch-1 requests) against the transport
// ceiling: a bare grpc-js server answering the same bytes with the gateway's own response.
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChildServer } from './lib/child.ts';
import { runAlone, type Benchmark } from './lib/context.ts';
import { round, sideBySide, type SystemUnderTest } from './lib/measure.ts';
import { mlpModel } from './lib/models.ts';
import { grpcInferBytes, grpcRawCall, MODEL_INFER_PATH } from './lib/oip.ts';
import { peerGrpcDriver, peersFor } from './lib/peers.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_GRPC } from './lib/platform.ts';
import type { Row, Target } from './lib/result.ts';

export const IN_FLIGHT = [64, 128] as const;

export const mlpGrpc: Benchmark = {
  id: 'mlp-grpc',
  title: 'MLP over gRPC: gateway vs bare grpc-js server',
  async run(ctx) {
    const model = mlpModel();
    const version = await ctx.platform.publish(model);
    const request = grpcInferBytes(model);
    const responseFile = path.join(ctx.workDir, 'mlp-grpc.response.bin');
    writeFileSync(responseFile, await grpcRawCall(GATEWAY_GRPC, request, ctx.platform.authMetadata));
    const bare = await startChildServer(new URL('./baselines/grpc.server.ts', import.meta.url), [responseFile]);
    try {
      const systems: SystemUnderTest[] = [];
      for (const inFlight of IN_FLIGHT) {
        systems.push({
          system: `gateway gRPC (${inFlight} in flight)`,
          role: 'subject',
          concurrency: inFlight,
          driver: { kind: 'grpc', address: GATEWAY_GRPC, path: MODEL_INFER_PATH, requests: [request], metadata: ctx.platform.authMetadata },
        });
        systems.push({
          system: `bare grpc-js (${inFlight} in flight)`,
          role: 'baseline',
          concurrency: inFlight,
          driver: { kind: 'grpc', address: `127.0.0.1:${bare.port}`, path: MODEL_INFER_PATH, requests: [request], metadata: ctx.platform.authMetadata },
        });
        for (const peer of peersFor(ctx.peers, 'mlp-grpc', 'grpc')) {
          systems.push({ system: `${peer.name} (${inFlight} in flight)`, role: 'peer', concurrency: inFlight, driver: peerGrpcDriver(peer, model.name, request) });
        }
      }
      const rows = await sideBySide(systems, ctx.opts);
      return {
        id: 'mlp-grpc',
        title: 'MLP 64-256-256-10 over gRPC (batch 1)',
        setup:
          `Model \`${model.name}\` v${version} (MLP 64→256→256→10 FP32, ${model.params.toLocaleString('en-US')} parameters, input \`x\` [N, 64]) registered and ` +
          `deployed through the registry with batching (${describeBatching(BENCH_BATCHING)}). Every request is the same ${request.length}-byte ` +
          'ModelInfer (one row, `raw_input_contents`, a bearer token in metadata), sent unchanged by a grpc-js client with pass-through codecs over one ' +
          'HTTP/2 connection, closed loop at 64 and 128 in flight. The bare grpc-js server (its own process, no auth, no decoding) answers with the ' +
          `gateway's own ${statSync(responseFile).size}-byte response. Gateway: ${ctx.gatewayWorkers} inference workers.`,
        rows,
        targets: [...ratioTargets(rows, IN_FLIGHT, 'gateway gRPC', 'bare grpc-js', 0.9, 10), ...peerTargets(rows, IN_FLIGHT, 'gateway gRPC')],
        notes: [servingNotes(rows, 'gateway gRPC', 'grpc'), ...peersFor(ctx.peers, 'mlp-grpc', 'grpc').map((p) => p.notes)].filter(Boolean).join('\n\n'),
      };
    } finally {
      await bare.stop();
    }
  },
};

/** Where a gateway request's time goes, from CPU profiles of the gateway under this load (see docs/benchmarks.md). */
const PROFILE: Record<'grpc' | 'rest', string> = {
  grpc:
    'Profiled with `node e2e/bench/profile.ts --transport grpc` (the gateway as the mesh runs it, 64 in flight, 6,170 req/s while sampled): ' +
    "the gateway's main thread was busy 53% of the time. Of the profile: node internals (HTTP/2 sessions, streams) 11.0%, V8 itself 7.9%, " +
    'garbage collection 7.6%, grpc-js 4.6%, the gateway code 4.0% (validation, batching, answers), the @aio libs 3.3% (auth, gRPC wrapper), ' +
    'socket writes 3.2%, protobuf 2.9%, kafkajs 2.7% (the inference log), OpenTelemetry 1.7%, postMessage to the workers 1.3%. ' +
    '`profile.ts --heap` counts about 44 KB allocated on the main thread per request (node internals 28%, grpc-js 18%, the gateway 16%, ' +
    "the @aio libs 10%, protobuf 6%). Per-thread CPU from /proc during this load: the gateway's main thread ~50% of a core, its inference " +
    'worker ~6%, the load generator ~40% (plus ~13% of V8 helper threads), Kafka ~15% and the monitor ~10% (the inference log), and the ' +
    'box as a whole ~27% idle (/proc/stat): neither the gateway nor the generator is CPU-bound. One socket read brings the gateway a wave ' +
    'of requests and a wave of answers goes back together, so in a closed loop on one connection client and server mostly take turns; ' +
    'four connections instead of one did not change the figure (5.7-6.0k vs 5.8k req/s), nor did batch sizes from 8 to 64 or a queue ' +
    'delay of 0. At ~84 µs of main-thread CPU per request the main thread alone would allow ~12k req/s. What would close the gap: less ' +
    'work and fewer allocations per call on the main thread (decode ModelInfer without materialising every field, answer from ' +
    'preallocated buffers, no span object when the trace is not sampled; GC pauses are also the latency tail, see the soak), and on more ' +
    'cores a second main thread (SO_REUSEPORT cluster) so transport work scales.',
  rest:
    'Profiled with `node e2e/bench/profile.ts --transport rest` (64 in flight, 11,143 req/s while sampled): the main thread was busy 81%. ' +
    "Infer is served outside Nest's pipeline (a Fastify route with the same auth, span and errors), which gave +10-20% over the Nest " +
    'route measured before it (Nest and its rxjs interceptor chain were 12.3% of the profile, now 0.5%). Of the profile: socket writes ' +
    '17.4% (one write per answer per connection; on loopback the kernel delivers it inside the write), node internals 12.5%, the gateway ' +
    'code 12.3% (JSON `data` to typed arrays and back included), Fastify and secure-json-parse 9% (JSON.parse of the body ~4%), V8 7.7%, ' +
    'postMessage 4.6%, kafkajs 4.2%, protobuf 3.2%, GC 2.1%. The bare node:http server parses nothing and writes precomputed bytes. ' +
    "What would close the gap: Triton's binary tensor extension so bodies carry bytes, not JSON numbers; answers serialised without the " +
    'intermediate objects.',
};

/**
 * What the figures imply, for the notes: in a closed loop latency is bound to throughput (Little's law),
 * and the gateway does per request what the bare server does not.
 */
export function servingNotes(rows: readonly Row[], subject: string, transport: 'grpc' | 'rest'): string {
  const little = IN_FLIGHT.map((n) => {
    const s = rows.find((r) => r.system === `${subject} (${n} in flight)`);
    return s === undefined ? '' : `${n} in flight at ${s.median} req/s means ${round((n / s.median) * 1000, 1)} ms per request on average`;
  }).filter(Boolean);
  return (
    `Little's law: ${little.join('; ')}. A p99 of 10 ms with 64 requests always in flight needs at least 6,400 req/s, so on this ` +
    'machine the latency target is a throughput target. Per request the gateway verifies the bearer token (cached after the first ' +
    'check), decodes and validates the tensors, queues the rows for dynamic batching, hands the batch to a worker thread, runs ' +
    'onnxruntime once per batch, splits and encodes the answers and samples the request into the Kafka inference log (at most ' +
    '`AIO_INFERENCE_LOG_MAX_PER_SECOND`, 200/s); the bare server does none of that, and all of it shares the two cores with the load ' +
    `generator and the other four services.\n\n${PROFILE[transport]}`
  );
}

/**
 * The peer target: the gateway at >= 5x MLServer's throughput with a p99 no worse, per in-flight level
 * (only when MLServer ran beside it, --with-peers).
 */
export function peerTargets(rows: readonly Row[], inFlight: readonly number[], subject: string): Target[] {
  const targets: Target[] = [];
  for (const n of inFlight) {
    const s = rows.find((r) => r.system === `${subject} (${n} in flight)`);
    const p = rows.find((r) => r.role === 'peer' && r.system.startsWith('MLServer') && r.system.endsWith(`(${n} in flight)`));
    if (s === undefined || p === undefined) continue;
    const ratio = s.median / p.median;
    const p99Ok = s.p99Ms !== undefined && p.p99Ms !== undefined && s.p99Ms <= p.p99Ms;
    targets.push({
      what: `vs MLServer at ${n} in flight`,
      goal: '>= 5x throughput, p99 no worse',
      actual: `${round(ratio, 2)}x (${s.median} vs ${p.median} ${s.metric}); p99 ${s.p99Ms} vs ${p.p99Ms} ms`,
      met: ratio >= 5 && p99Ok,
    });
  }
  return targets;
}

/** Subject/baseline throughput ratio per in-flight level (and the subject's p99, when a bound is given). */
export function ratioTargets(rows: readonly Row[], inFlight: readonly number[], subject: string, baseline: string, minRatio: number, maxP99Ms?: number): Target[] {
  const targets: Target[] = [];
  for (const n of inFlight) {
    const s = rows.find((r) => r.system === `${subject} (${n} in flight)`);
    const b = rows.find((r) => r.system === `${baseline} (${n} in flight)`);
    if (s === undefined || b === undefined) continue;
    const ratio = s.median / b.median;
    targets.push({
      what: `throughput at ${n} in flight`,
      goal: `>= ${minRatio * 100}% of ${baseline}`,
      actual: `${round(ratio * 100)}% (${s.median} vs ${b.median} ${s.metric})`,
      met: ratio >= minRatio,
    });
    if (maxP99Ms !== undefined && s.p99Ms !== undefined) {
      targets.push({ what: `p99 latency at ${n} in flight`, goal: `<= ${maxP99Ms} ms`, actual: `${s.p99Ms} ms`, met: s.p99Ms <= maxP99Ms });
    }
  }
  return targets;
}

if (import.meta.main) await runAlone(mlpGrpc);
