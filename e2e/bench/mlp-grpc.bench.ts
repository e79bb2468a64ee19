// mlp-grpc: the gateway's gRPC ModelInfer on a small MLP (batch-1 requests) against the transport
// ceiling: a bare grpc-js server answering the same bytes with the gateway's own response. Each pair is
// measured with two generators: the grpc-js one of the load worker and ghz (Go, grpc-go; lib/ghz.ts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChildServer } from './lib/child.ts';
import { runAlone, type Benchmark } from './lib/context.ts';
import { GHZ_CPUS, GHZ_VERSION, ghzBinary } from './lib/ghz.ts';
import { round, sideBySide, type SystemUnderTest } from './lib/measure.ts';
import { mlpModel } from './lib/models.ts';
import { h2loadBinary } from './lib/h2load.ts';
import { ghzInferDriver, grpcInferBytes, grpcRawCall, h2loadInferDriver, MODEL_INFER_PATH } from './lib/oip.ts';
import { peerGrpcDriver, peersFor } from './lib/peers.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_GRPC } from './lib/platform.ts';
import type { Row, Target } from './lib/result.ts';

export const IN_FLIGHT = [64, 128] as const;
/** What the ghz rows' names carry after the system's: `gateway gRPC, ghz (64 in flight)`. */
export const GHZ = 'ghz';
/** And the h2load rows': `gateway gRPC, h2load (64 in flight)`. */
export const H2LOAD = 'h2load';

/** The reason a tool could not be had, or undefined when it is ready. */
function failure(ready: Promise<unknown>): Promise<string | undefined> {
  return ready.then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
}

export const mlpGrpc: Benchmark = {
  id: 'mlp-grpc',
  title: 'MLP over gRPC: gateway vs bare grpc-js server',
  async run(ctx) {
    const model = mlpModel();
    const version = await ctx.platform.publish(model);
    const request = grpcInferBytes(model);
    const responseFile = path.join(ctx.workDir, 'mlp-grpc.response.bin');
    // A project tool, built on first use (~40 s once); a failed build costs the ghz rows, not the benchmark.
    const ghzError = await failure(ghzBinary());
    // From Debian's archive on first use; a failed install costs the h2load rows.
    const h2loadError = await failure(h2loadBinary());
    const response = await grpcRawCall(GATEWAY_GRPC, request, ctx.platform.authMetadata);
    writeFileSync(responseFile, response);
    const bare = await startChildServer(new URL('./baselines/grpc.server.ts', import.meta.url), [responseFile]);
    try {
      const systems: SystemUnderTest[] = [];
      for (const inFlight of IN_FLIGHT) {
        systems.push({
          system: `gateway gRPC (${inFlight} in flight)`,
          role: 'subject',
          concurrency: inFlight,
          driver: { kind: 'grpc', address: GATEWAY_GRPC, path: MODEL_INFER_PATH, requests: [request], metadata: ctx.platform.authMetadata },
          extra: { generator: 'grpc-js' },
        });
        systems.push({
          system: `bare grpc-js (${inFlight} in flight)`,
          role: 'baseline',
          concurrency: inFlight,
          driver: { kind: 'grpc', address: `127.0.0.1:${bare.port}`, path: MODEL_INFER_PATH, requests: [request], metadata: ctx.platform.authMetadata },
          extra: { generator: 'grpc-js' },
        });
        if (ghzError === undefined) {
          systems.push({
            system: `gateway gRPC, ${GHZ} (${inFlight} in flight)`,
            role: 'subject',
            concurrency: inFlight,
            driver: ghzInferDriver(GATEWAY_GRPC, request, ctx.platform.authMetadata),
            extra: { generator: GHZ },
          });
          systems.push({
            system: `bare grpc-js, ${GHZ} (${inFlight} in flight)`,
            role: 'baseline',
            concurrency: inFlight,
            driver: ghzInferDriver(`127.0.0.1:${bare.port}`, request, ctx.platform.authMetadata),
            extra: { generator: GHZ },
          });
        }
        if (h2loadError === undefined) {
          for (const [system, role, address] of [
            ['gateway gRPC', 'subject', GATEWAY_GRPC],
            ['bare grpc-js', 'baseline', `127.0.0.1:${bare.port}`],
          ] as const) {
            systems.push({
              system: `${system}, ${H2LOAD} (${inFlight} in flight)`,
              role,
              concurrency: inFlight,
              driver: h2loadInferDriver(address, request, ctx.platform.authMetadata, response),
              extra: { generator: H2LOAD },
            });
          }
        }
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
          'ModelInfer (one row, `raw_input_contents`, a bearer token in metadata) over one HTTP/2 connection, closed loop at 64 and 128 in flight, ' +
          'from three generators, each system measured with every one: **grpc-js** (rows without a generator in their name: a grpc-js client with ' +
          'pass-through codecs in a worker thread of the benchmark, the same bytes on every call) and **ghz** (rows `..., ghz`: ' +
          `[ghz](https://github.com/bojand/ghz) ${GHZ_VERSION}, Go and grpc-go, its own process per run on ${GHZ_CPUS === 1 ? 'one core' : `${GHZ_CPUS} cores`} (\`--cpus ${GHZ_CPUS}\`), ` +
          '`-c N --connections 1 -z <run> --duration-stop wait`, call templates off; it sends the same bytes) and **h2load** (rows `..., h2load`: ' +
          'nghttp2\'s HTTP/2 load generator, C, the same bytes gRPC-framed as a POST, `-c 1 -m N -D <run>`; see its note). The bare grpc-js server (its own ' +
          `process, no auth, no decoding) answers with the gateway's own ${response.length}-byte response. Gateway: ${ctx.gatewayWorkers} inference workers.`,
        rows,
        targets: [
          ...ratioTargets(rows, IN_FLIGHT, 'gateway gRPC', 'bare grpc-js', 0.9, 10, 'grpc-js generator'),
          ...(ghzError === undefined
            ? ratioTargets(rows, IN_FLIGHT, `gateway gRPC, ${GHZ}`, `bare grpc-js, ${GHZ}`, 0.9, 10, 'ghz generator')
            : [{ what: 'ghz generator', goal: 'built from deploy/local/ghz', actual: 'build failed (see notes)', met: false }]),
          ...(h2loadError === undefined
            ? ratioTargets(rows, IN_FLIGHT, `gateway gRPC, ${H2LOAD}`, `bare grpc-js, ${H2LOAD}`, 0.9, 10, 'h2load generator')
            : [{ what: 'h2load generator', goal: 'installed by deploy/local/h2load', actual: 'install failed (see notes)', met: false }]),
          ...peerTargets(rows, IN_FLIGHT, 'gateway gRPC'),
        ],
        notes: [
          generatorNotes(rows, ghzError),
          h2loadNotes(rows, h2loadError),
          servingNotes(rows, 'gateway gRPC', 'grpc'),
          ...peersFor(ctx.peers, 'mlp-grpc', 'grpc').map((p) => p.notes),
        ]
          .filter(Boolean)
          .join('\n\n'),
      };
    } finally {
      await bare.stop();
    }
  },
};

/** Where a gateway request's time goes, from CPU profiles of the gateway under this load (see docs/benchmarks.md). */
const PROFILE: Record<'grpc' | 'rest', string> = {
  grpc:
    'Profiled with `node e2e/bench/profile.ts --transport grpc` (the gateway as the mesh runs it, the grpc-js generator, 64 in flight, ' +
    "12,686 req/s while sampled): the gateway's main thread was busy 29% of the time, ~23 us per request. Of the profile: the gateway " +
    'code 4.4% (validation, batching, answers), GC 4.1%, the @aio libs 3.8% (HTTP/2, HPACK, gRPC framing, auth), node internals 3.4%, ' +
    'protobuf 3.1%, V8 2.7%, the socket write 2.3%, postMessage to the workers 1.7%, OpenTelemetry 0.9%, kafkajs 0.6% (the inference ' +
    "log). The gateway waits on the generator most of the time: with the grpc-js generator the rate is the generator's. This session " +
    "the gateway's gRPC transport moved off node:http2 onto our own HTTP/2 connection and HPACK codec (@aio/grpc h2/): ~36 -> ~23 us of " +
    "main thread per request, mark-compacts rare (a closed stream is a plain object; header values are ordinary young strings), and " +
    "the gateway now answers faster than the bare grpc-js server (whose per-call cost is grpc-js' and node:http2's). The grpc-js " +
    "generator's own node:http2 client does a mark-compact every ~0.6-1.4 s (7-39 ms pauses, `--trace-gc` of its worker), which sets " +
    "every server's p99 in its rows; ghz (Go, grpc-go, one core) and h2load (C) show the servers' own tail, h2load at the least CPU " +
    "per call. Earlier sessions: own wire-protocol transport instead of grpc-js' Server (64% -> ~80%), no per-call inference " +
    'log publishing, async layers, AbortController, span attributes, error strings for valid requests, BigInt statistics, raw-input ' +
    'copies, protobuf-es create(). Where the tail goes (`--trace-gc-nvp` of the gateway under h2load at 128 in flight): young-' +
    "generation collections, which every request in flight waits out. V8's allocation-site pretenuring had moved the sites of the " +
    'per-request objects to the old generation (requests are always in flight when a scavenge samples them), where they died ' +
    'and kept the young objects they pointed at alive until promoted: 6-17% of allocation promoted, 0.7-1.1 s of every 8 s ' +
    'scavenging, a mark-compact every 2-8 s. The gateway now turns pretenuring off itself (src/v8.flags.ts): 0.3-0.4% promoted, ' +
    '0.15 s scavenging, no mark-compact, so it keeps V8\'s default young generation (the former --max-semi-space-size=16 would ' +
    'now triple the scavenging); no Map or Set on the serving path churns per call (a retired V8 hash table points at its ' +
    'successor). What is left is the box: under load the stalls are events where all requests in flight finish late together ' +
    "(~3 a second), and the gateway's main thread waits for a CPU 10-20% of a run (schedstat). The h2load rows are the gateway's own " +
    "tail on this box; more cores would take it lower still (the generator, the gateway's main thread and its two workers share two).",
  rest:
    'Profiled with `node e2e/bench/profile.ts --transport rest` (64 in flight, 23,458 req/s while sampled): the main thread was busy 74%, ' +
    '~31 us per request. Of the profile: writing the answer to the socket 16.7% (one write per answer per connection; on loopback the ' +
    'kernel delivers it inside the write and wakes the generator; the bare server pays the same), postMessage 7.9% (batches of a few ' +
    'requests: REST requests arrive one per socket read), JSON.parse of the body 7.1%, V8 6.7%, node internals 6.8% (socket reads, ' +
    'timers), the gateway code, our HTTP/1.1 head parsing 2.3%, GC 2.5%, OpenTelemetry 1.6%. This session the fast routes moved off ' +
    "node:http onto the host's own HTTP/1.1 front (@aio/host http1.front.ts; node:http still serves every other route): node's " +
    'IncomingMessage/ServerResponse machinery and the garbage it made (GC 10.9% -> 2.5% of the profile) were ~10 us of the ~41 us per ' +
    "request the gateway spent before (quick runs: ~64-72% -> ~73-94% of the bare server). Earlier sessions answered the infer routes " +
    'before Fastify and Nest (same auth, span, error bodies and body rules). What would take more: Triton\'s binary tensor extension ' +
    '(bytes instead of JSON numbers: parse and stringify are a tenth of the profile) and larger batches per worker message.',
};

/** The two generators side by side, from this run's rows: throughput and p99 per system and in-flight level. */
export function generatorNotes(rows: readonly Row[], ghzError: string | undefined): string {
  if (ghzError !== undefined) {
    return (
      `**ghz could not be built**, so only the grpc-js generator measured: ${ghzError.replace(/\s+/g, ' ')}. It builds with ` +
      '`node deploy/local/ghz/tool.mjs` (Go >= 1.24 on PATH, the Go module proxy once; then cached in `.infra/ghz`).'
    );
  }
  const figure = (system: string): string => {
    const r = rows.find((x) => x.system === system);
    return r === undefined ? '-' : `${r.median} req/s, p99 ${r.p99Ms} ms${r.errors ? `, ${r.errors} errors` : ''}`;
  };
  const side = IN_FLIGHT.map(
    (n) =>
      `at ${n} in flight the gateway ${figure(`gateway gRPC (${n} in flight)`)} from grpc-js, ${figure(`gateway gRPC, ${GHZ} (${n} in flight)`)} from ghz; ` +
      `the bare grpc-js server ${figure(`bare grpc-js (${n} in flight)`)} and ${figure(`bare grpc-js, ${GHZ} (${n} in flight)`)}`,
  );
  return (
    `**grpc-js and ghz.** In this run: ${side.join('; ')}. The grpc-js generator is Node: its node:http2 client allocates per call as ` +
    'a node:http2 server does, and at ~9k req/s it ran a mark-compact every ~650 ms with 7-20 ms pauses (up to 40 ms on a busy box; `--trace-gc` of the benchmark ' +
    'process); every answer that arrives during a pause is timed with it, so it set every server\'s p99 at 20-50 ms, the bare ' +
    "server's included: the generator's tail, not the servers'. ghz is Go and grpc-go (what perf_analyzer is to REST in mlp-rest: an " +
    "external generator whose own pauses are short; Go's collector stops the world for well under a millisecond), so its rows show the " +
    `servers' own tail. It runs on ${GHZ_CPUS === 1 ? 'one core' : `${GHZ_CPUS} cores`} (\`--cpus ${GHZ_CPUS}\`; its default is every core), as the grpc-js generator ` +
    'runs on one thread; it decodes the request once and re-encodes it per call (the same bytes on the wire, checked against a capture), ' +
    'decodes every answer, and times a call from when grpc-go starts it to its end. Its call templates are off: on, they render the ' +
    'bearer token through text/template on every call and halve its rate.'
  );
}

/** The third generator, from this run's rows. */
export function h2loadNotes(rows: readonly Row[], h2loadError: string | undefined): string {
  if (h2loadError !== undefined) {
    return `**h2load could not be installed**, so its rows are missing: ${h2loadError.replace(/\s+/g, ' ')}. It installs with \`node deploy/local/h2load/tool.mjs\`.`;
  }
  const figure = (system: string): string => {
    const r = rows.find((x) => x.system === system);
    return r === undefined ? '-' : `${r.median} req/s, p99 ${r.p99Ms} ms${r.errors ? `, ${r.errors} errors` : ''}`;
  };
  const side = IN_FLIGHT.map((n) => `at ${n} in flight the gateway ${figure(`gateway gRPC, ${H2LOAD} (${n} in flight)`)}, the bare server ${figure(`bare grpc-js, ${H2LOAD} (${n} in flight)`)}`);
  return (
    `**h2load** (rows \`..., h2load\`: nghttp2's HTTP/2 load generator, C, from Debian's archive, \`-c 1 -m N -D <run>\`, one thread): ${side.join('; ')}. ` +
    'It sends the gRPC-framed request bytes as an HTTP/2 POST with the gRPC headers and times each stream to its end; it does not ' +
    "read gRPC statuses (trailers), so an answer counts as OK only if the run's DATA bytes cover one expected response per HTTP 200 " +
    '(a gRPC error carries no DATA). Per call it costs a fraction of what grpc-js and ghz cost, so of the two cores more is left to the ' +
    "servers: in a closed loop that is both more throughput and, by Little's law, less latency at the same number in flight."
  );
}

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

/**
 * Subject/baseline throughput ratio per in-flight level (and the subject's p99, when a bound is given);
 * `generator` names the load generator in the targets when a benchmark measures with several.
 */
export function ratioTargets(
  rows: readonly Row[],
  inFlight: readonly number[],
  subject: string,
  baseline: string,
  minRatio: number,
  maxP99Ms?: number,
  generator?: string,
): Target[] {
  const by = generator === undefined ? '' : `, ${generator}`;
  const targets: Target[] = [];
  for (const n of inFlight) {
    const s = rows.find((r) => r.system === `${subject} (${n} in flight)`);
    const b = rows.find((r) => r.system === `${baseline} (${n} in flight)`);
    if (s === undefined || b === undefined) continue;
    const ratio = s.median / b.median;
    targets.push({
      what: `throughput at ${n} in flight${by}`,
      goal: `>= ${minRatio * 100}% of ${baseline}`,
      actual: `${round(ratio * 100)}% (${s.median} vs ${b.median} ${s.metric})`,
      met: ratio >= minRatio,
    });
    if (maxP99Ms !== undefined && s.p99Ms !== undefined) {
      targets.push({ what: `p99 latency at ${n} in flight${by}`, goal: `<= ${maxP99Ms} ms`, actual: `${s.p99Ms} ms`, met: s.p99Ms <= maxP99Ms });
    }
  }
  return targets;
}

if (import.meta.main) await runAlone(mlpGrpc);
