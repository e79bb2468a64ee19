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
    'Profiled with `node e2e/bench/profile.ts --transport grpc` (the gateway as the mesh runs it, 64 in flight, 6,229 req/s while sampled): ' +
    "the gateway's main thread was busy 49% of the time. Of the profile: node internals (HTTP/2 sessions, streams) 11.6%, garbage " +
    'collection 8.0%, V8 itself 7.7%, grpc-js 5.1%, the gateway code 4.2% (validation, batching, answers), protobuf 2.8%, the @aio libs ' +
    '2.4% (auth, gRPC wrapper), postMessage to the workers 1.4%, socket writes 0.9%, OpenTelemetry 0.8%, kafkajs 0.6% (the inference ' +
    'log). `profile.ts --heap` counts ~37 KB allocated on the main thread per request, more than half of it in node internals and ' +
    "grpc-js (the same for the bare server). Per-thread CPU from /proc: the gateway's main thread ~45% of a core, its V8 helper threads " +
    '~16%, its inference workers ~4%, the load generator ~43% (+16% V8 helpers), Kafka ~5%, the monitor ~6%; the box ~26% idle. ' +
    "The gateway's own statistics show why neither side is busy: at 64 in flight the average batch is 64 rows and a request spends " +
    '~2 ms inside the gateway (0.5 ms queued, 0.3 ms in onnxruntime) of its ~7-9 ms round trip. The whole window arrives in one socket ' +
    'read and goes back as one wave of answers, so generator and gateway take turns: ~4.4 ms of gateway main-thread work and ~4.2 ms of ' +
    "generator work per cycle of 64. The bare server's turn is ~1.3 ms, which is the ratio. Batch sizes 8-64 (several worker messages " +
    'per wave) did not change it. What this session removed (ratio 48% -> 64% at 64 in flight, 62% -> 74% at 128, full runs ' +
    'a session apart): the inference log published every few records (~200 produce requests a second cost Kafka ~19% and the monitor ~15% of a ' +
    'core and the gateway ~3%; now one batch per 200 ms, `AIO_INFERENCE_LOG_LINGER_MS`), the async layers, AbortController and span ' +
    'attributes of every call (a remembered token is checked synchronously; the signal is made only when a handler reads it), error ' +
    'strings built for every valid request, BigInt statistics, grpc-js channelz bookkeeping, a copy of every raw input (the batch copy ' +
    'is the only one now). What would close the rest: a transport cheaper than grpc-js for the hot method (the bare ceiling is ' +
    "grpc-js' own per-call cost), and more cores: the generator alone takes a core here.",
  rest:
    'Profiled with `node e2e/bench/profile.ts --transport rest` (64 in flight, 18,557 req/s while sampled): the main thread was busy 80%, ' +
    "so REST is bound by the gateway's main thread. Infer is served outside Nest's pipeline (a Fastify route with the same auth, span " +
    'and errors). Of the profile: socket writes 15.6% (one write per answer per connection; on loopback the kernel delivers it inside ' +
    'the write; the bare server pays the same), node internals 13.3%, the gateway code 11.8% (JSON `data` to typed arrays and back ' +
    'included), Fastify and secure-json-parse ~12% (JSON.parse of the 64-number body alone 6.2%), V8 8.4%, postMessage 5.2% (batches ' +
    'of ~4 requests: REST requests arrive one per socket read), the @aio libs 3.2%, protobuf 2.9%, GC 2.7%, OpenTelemetry 1.8%. The ' +
    'bare node:http server parses nothing and writes precomputed bytes. This session took REST from 35% to 63% of it (the inference ' +
    'log batching, a synchronous check of remembered tokens, a flat `data` array used as it is, typed arrays built without iterators). ' +
    "What would close the rest: Triton's binary tensor extension so bodies carry bytes, not JSON numbers; the hot route on node:http " +
    'without Fastify; answers serialised without the intermediate objects.',
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
  const baseline = transport === 'grpc' ? 'bare grpc-js' : 'bare node:http';
  const bareP99 = IN_FLIGHT.map((n) => {
    const b = rows.find((r) => r.system === `${baseline} (${n} in flight)`);
    return b?.p99Ms === undefined ? '' : `${b.p99Ms} ms at ${n}`;
  }).filter(Boolean);
  const tail = bareP99.length === 0 ? '' : ` The ${baseline} server's own p99 in the same runs was ${bareP99.join(' and ')} in flight: the load generator's and the transport's tail on this box (their GC pauses included), which no server behind them can undercut.`;
  return (
    `Little's law: ${little.join('; ')}. A p99 of 10 ms with 64 requests always in flight needs at least 6,400 req/s, so on this ` +
    `machine the latency target is a throughput target.${tail} Per request the gateway verifies the bearer token (cached after the first ` +
    'check), decodes and validates the tensors, queues the rows for dynamic batching, hands the batch to a worker thread, runs ' +
    'onnxruntime once per batch, splits and encodes the answers and samples the request into the Kafka inference log (at most ' +
    '`AIO_INFERENCE_LOG_MAX_PER_SECOND`, 200/s, published in batches every 200 ms); the bare server does none of that, and all of it shares the two cores with the load ' +
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
