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
    'Profiled with `node e2e/bench/profile.ts --transport grpc` (the gateway as the mesh runs it, 64 in flight, 6,877 req/s while sampled): ' +
    "the gateway's main thread was busy 54% of the time. Of the profile: node internals (HTTP/2 sessions, streams) 12.5%, V8 itself 7.9%, " +
    'garbage collection 7.4%, grpc-js 4.9%, the gateway code 4.4% (validation, batching, answers), kafkajs 2.8% (the inference log), the ' +
    '@aio libs 2.8% (auth, gRPC wrapper), socket writes 2.8%, protobuf 2.6%, OpenTelemetry 1.5%, postMessage to the workers 1.3%; the ' +
    'inference workers were mostly idle (a batch of about 30 rows takes 0.2 ms). So no single stage holds it back: the main thread waits ' +
    'for CPU that the load generator (about 0.8 of a core for a grpc-js client), the monitor (consuming the inference log) and Kafka take ' +
    'on the same two cores, and each request costs the gateway about twice what it costs the bare server, which decodes nothing and ' +
    'answers precomputed bytes. What would close the gap: less work per call on the main thread (decode ModelInfer without materialising ' +
    'every field, answer from preallocated buffers, skip per-call span attributes when the trace is not sampled), fewer allocations (see ' +
    'the soak: GC pauses are the latency tail), and on more cores a second main thread (SO_REUSEPORT cluster) so transport work scales.',
  rest:
    'Profiled with `node e2e/bench/profile.ts --transport rest` (64 in flight, 10,356 req/s while sampled): the main thread was busy 83%. ' +
    'Of the profile: node internals 12.6%, Nest with its rxjs interceptor chain 12.3%, socket writes 10.3%, the gateway code 9.2% (the ' +
    'JSON `data` to typed-array conversion included), V8 7.9%, Fastify and secure-json-parse 7.6% (JSON.parse of the body 4.1%), ' +
    'postMessage 4.7%, GC 4.3%, kafkajs 2.2%, protobuf 2.1%. The bare node:http server parses nothing. What would close the gap: a raw ' +
    "node:http route for `/infer` outside Nest's per-request pipeline, and Triton's binary tensor extension so bodies carry bytes, not JSON numbers.",
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
