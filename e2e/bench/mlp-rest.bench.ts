// mlp-rest: the gateway's REST (OIP v2 JSON) infer on the MLP against a bare node:http server that
// answers the same body bytes with the gateway's own JSON response.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChildServer } from './lib/child.ts';
import { runAlone, type Benchmark } from './lib/context.ts';
import { sideBySide, type SystemUnderTest } from './lib/measure.ts';
import { mlpModel } from './lib/models.ts';
import { restInferBody, restInferPath, restRawCall } from './lib/oip.ts';
import { peerRestDriver, peersFor } from './lib/peers.ts';
import { existsSync } from 'node:fs';
import { median, type Row } from './lib/result.ts';
import { log } from './lib/options.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_HTTP } from './lib/platform.ts';
import { runPerfAnalyzer, venvDir } from './peers/peers.ts';
import { IN_FLIGHT, peerTargets, ratioTargets, servingNotes } from './mlp-grpc.bench.ts';

export const mlpRest: Benchmark = {
  id: 'mlp-rest',
  title: 'MLP over REST: gateway vs bare node:http server',
  async run(ctx) {
    const model = mlpModel();
    const version = await ctx.platform.publish(model);
    const body = restInferBody(model);
    const urlPath = restInferPath(model.name);
    const response = await restRawCall(GATEWAY_HTTP, urlPath, body, ctx.platform.authMetadata);
    const responseFile = path.join(ctx.workDir, 'mlp-rest.response.json');
    writeFileSync(responseFile, response);
    const bare = await startChildServer(new URL('./baselines/http.server.ts', import.meta.url), [responseFile]);
    try {
      const systems: SystemUnderTest[] = [];
      for (const inFlight of IN_FLIGHT) {
        systems.push({
          system: `gateway REST (${inFlight} in flight)`,
          role: 'subject',
          concurrency: inFlight,
          driver: { kind: 'rest', origin: GATEWAY_HTTP, requests: [{ path: urlPath, body }], headers: ctx.platform.authMetadata },
        });
        systems.push({
          system: `bare node:http (${inFlight} in flight)`,
          role: 'baseline',
          concurrency: inFlight,
          driver: { kind: 'rest', origin: `http://127.0.0.1:${bare.port}`, requests: [{ path: urlPath, body }], headers: ctx.platform.authMetadata },
        });
        for (const peer of peersFor(ctx.peers, 'mlp-rest', 'rest')) {
          systems.push({ system: `${peer.name} (${inFlight} in flight)`, role: 'peer', concurrency: inFlight, driver: peerRestDriver(peer, model.name, body) });
        }
      }
      const rows = await sideBySide(systems, ctx.opts);
      const perf = ctx.opts.withPeers ? await perfAnalyzerRow(model.name, ctx.platform.authMetadata, ctx.opts.runs, ctx.opts.durationMs) : undefined;
      if (perf !== undefined) rows.push(perf);
      return {
        id: 'mlp-rest',
        title: 'MLP 64-256-256-10 over REST JSON (batch 1)',
        setup:
          `Model \`${model.name}\` v${version} deployed as in mlp-grpc (batching ${describeBatching(BENCH_BATCHING)}). Every request is the same ` +
          `${body.length}-byte OIP v2 JSON body (one row of 64 FP32 as flat \`data\`) POSTed to \`${urlPath}\` by node:http over keep-alive ` +
          'sockets (one per request in flight), closed loop at 64 and 128 in flight. The bare node:http server (its own process) reads the whole ' +
          `body and answers with the gateway's own ${response.length}-byte JSON response, parsing nothing.`,
        rows,
        targets: [...ratioTargets(rows, IN_FLIGHT, 'gateway REST', 'bare node:http', 0.8), ...peerTargets(rows, IN_FLIGHT, 'gateway REST')],
        notes: [
          servingNotes(rows, 'gateway REST', 'rest'),
          perf === undefined
            ? ''
            : "Triton's perf_analyzer (C++, JSON tensors, `-H authorization`) drove the gateway too, as a second load generator: its own " +
              'process and client, so its row is not a ratio to the bare server; it shows what the gateway serves when the generator costs less CPU. ' +
              `Its windows are ${PERF_WINDOW_S} s: after each window perf_analyzer works through every request's record, which at ~17k requests/s ` +
              'took it longer than a 10 s window itself (every run was killed at the timeout).',
            ...peersFor(ctx.peers, 'mlp-rest', 'rest').map((p) => p.notes),
          ]
          .filter(Boolean)
          .join('\n\n'),
      };
    } finally {
      await bare.stop();
    }
  },
};

const PERF_IN_FLIGHT = 64;

/** perf_analyzer's measurement window in seconds (see below). */
const PERF_WINDOW_S = 3;

/** The gateway under Triton's perf_analyzer (venv from peers/setup.sh): one row, `runs` windows. */
async function perfAnalyzerRow(model: string, headers: Record<string, string>, runs: number, durationMs: number): Promise<Row | undefined> {
  if (!existsSync(`${venvDir()}/perf`)) {
    log('  perf_analyzer: no venv (e2e/bench/peers/setup.sh), skipped');
    return undefined;
  }
  const results = [];
  for (let i = 0; i < runs; i++) {
    // perf_analyzer repeats its window until three in a row agree within --stability-percentage (default 10%)
    // or gives up; on this shared box the speed swings more than that between windows (two of three runs
    // once never settled and were killed at the timeout), so any three windows within 50% count.
    // Its windows are kept to 3 s: after each window it works through every request's record, which took it
    // longer than the window itself once the gateway served ~17k/s (a 10 s window: over 40 s, and all three
    // runs were killed at the timeout).
    const r = await runPerfAnalyzer({
      url: GATEWAY_HTTP,
      protocol: 'http',
      model,
      concurrency: PERF_IN_FLIGHT,
      seconds: Math.min(PERF_WINDOW_S, durationMs / 1000),
      headers,
      extraArgs: ['--stability-percentage', '50'],
    });
    log(`  perf_analyzer run ${i + 1}/${runs}: ${r.throughput} infer/s, p99 ${r.p99Ms} ms${r.exitCode === 0 ? '' : ` (exit ${r.exitCode}: ${r.errors.slice(0, 2).join('; ')})`}`);
    results.push(r);
  }
  const ok = results.filter((r) => r.exitCode === 0 && Number.isFinite(r.throughput));
  const medianOf = (k: 'throughput' | 'p50Ms' | 'p90Ms' | 'p99Ms'): number => median(ok.map((r) => r[k]));
  return {
    system: `gateway REST driven by perf_analyzer (${PERF_IN_FLIGHT} in flight)`,
    role: 'subject',
    metric: 'req/s',
    runs: ok.map((r) => r.throughput),
    median: medianOf('throughput'),
    // perf_analyzer reports percentiles per run: the median of the runs'.
    p50Ms: medianOf('p50Ms'),
    p90Ms: medianOf('p90Ms'),
    p99Ms: medianOf('p99Ms'),
    errors: results.length - ok.length,
    extra: { 'in flight': PERF_IN_FLIGHT, generator: 'perf_analyzer 2.51, JSON tensors' },
  };
}

if (import.meta.main) await runAlone(mlpRest);
