// soak: the gateway under a steady open-loop load at 70% of its mlp-grpc peak for a long time (10 min;
// --quick 30 s), sampling its RSS and its responsiveness, to show leaks and drift. The load comes from ghz
// (default) or the grpc-js generator (--soak-generator), the peak from mlp-grpc's rows of the same one.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runAlone, type Benchmark } from './lib/context.ts';
import { ghzBinary } from './lib/ghz.ts';
import { LoadGenerator, totalErrors, type DriverSpec, type Progress } from './lib/load.ts';
import { errorSummary, round } from './lib/measure.ts';
import { mlpModel } from './lib/models.ts';
import { ghzInferDriver, grpcInferBytes, MODEL_INFER_PATH } from './lib/oip.ts';
import { log, type SoakGenerator } from './lib/options.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_GRPC, GATEWAY_HTTP, gatewayPid } from './lib/platform.ts';
import { MiB, rssBytes } from './lib/memory.ts';
import { median, quantile, RESULTS_DIR, type BenchResult, type Row } from './lib/result.ts';

const LOAD_SHARE = 0.7;
const PEAK_IN_FLIGHT = 64;
const MAX_IN_FLIGHT = 1024;
/**
 * The soak's deployment queue: about half a second of arrivals at the soak rate, so a collection pause of
 * tens of ms does not shed requests (the default, 256, did in a quick soak: see the notes).
 */
const SOAK_QUEUE = 2048;

interface Sample {
  atS: number;
  rssMiB: number;
  /** Median of a few GET /v2/health/live round trips: the gateway's event loop answers it. */
  probeMs: number;
  /** The gateway's own event-loop delay p99 and max since the previous sample (its :8002 metrics). */
  lagP99Ms: number;
  lagMaxMs: number;
  progress?: Progress;
  /** Answers per second in the window that ended at this sample. */
  rate?: number;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return num / den;
}

async function probeMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    try {
      await (await fetch(`${GATEWAY_HTTP}/v2/health/live`, { signal: AbortSignal.timeout(5000) })).arrayBuffer();
      times.push(performance.now() - t0);
    } catch {
      times.push(5000);
    }
  }
  return median(times);
}

const GATEWAY_METRICS = 'http://127.0.0.1:8002/metrics';

/**
 * The gateway's event-loop delay since the previous scrape (nodejs_eventloop_delay_seconds, which every
 * service exports; a scrape starts a new window), p99 and max in ms; NaN when it cannot be read.
 */
async function eventLoopLagMs(): Promise<{ p99: number; max: number }> {
  try {
    const text = await (await fetch(GATEWAY_METRICS, { signal: AbortSignal.timeout(5000) })).text();
    const at = (q: string): number => {
      const m = new RegExp(`^nodejs_eventloop_delay_seconds\\{quantile="${q.replace('.', '\\.')}"[^}]*\\} ([\\d.e+-]+)$`, 'm').exec(text);
      return m === null ? Number.NaN : Number(m[1]) * 1000;
    };
    return { p99: at('0.99'), max: at('1') };
  } catch {
    return { p99: Number.NaN, max: Number.NaN };
  }
}

/** The soak's unmeasured warm-up at its own rate: 30 s, or the run's warm-up when that is longer (quick runs: the run's). */
export function soakWarmupMs(opts: { quick: boolean; warmupMs: number }): number {
  return opts.quick ? opts.warmupMs : Math.max(30_000, opts.warmupMs);
}

/** What the soak's errors mean, and what is known of their cause. */
export function soakErrorNotes(errors: Record<string, number>, rate: number, generator: SoakGenerator): string {
  const parts: string[] = [];
  if (errors['RESOURCE_EXHAUSTED']) {
    parts.push(
      `RESOURCE_EXHAUSTED (${errors['RESOURCE_EXHAUSTED']}) is the gateway refusing requests beyond the deployment's queue (${SOAK_QUEUE}): for a while ` +
        'it served slower than the offered rate.',
    );
  }
  if (errors['skipped_overload']) {
    parts.push(
      `skipped_overload (${errors['skipped_overload']}) is the load generator finding ${MAX_IN_FLIGHT} requests already in flight when the next was due ` +
        `(at ${rate} req/s that is ${round((MAX_IN_FLIGHT / rate) * 1000)} ms of latency): the gateway refused nothing, it stalled. The cap is ` +
        'fixed, so the higher the mlp-grpc peak (and with it the soak rate), the shorter the stall it absorbs.',
    );
  }
  parts.push(
    'Where the stalls came from before this session: garbage collection in node:http2, under the gateway\'s gRPC transport. Mark-compacts ' +
      'every ~5 s at ~7.7k req/s with 50-100 ms pauses, half or more of each spent finalising the external strings node:http2 makes of ' +
      'every request header value not in the HPACK static table (V8 allocates those in the old generation), and closed streams kept ' +
      "reachable until a mark-compact by their native wrappers, so each call's garbage was promoted (measured on a bare node:http2 server " +
      'too); `--heap-growing-percent` only traded pause length for frequency. The transport now runs on our own HTTP/2 and HPACK (@aio/grpc ' +
      "h2/): header values are ordinary young strings and a closed stream is a plain object, so a call's garbage dies in the young " +
      'generation and mark-compacts are rare. ' +
      (generator === 'grpc-js'
        ? 'The load generator is a Node process too, with its own pauses (mark-compacts of 7-40 ms every ~650 ms at 9k req/s), and a ' +
          'response it has not read yet still counts as in flight; '
        : "The load generator is ghz (Go): its own pauses are well under a millisecond, so the stalls here are the gateway's (or the box's); ") +
      "the box also runs Kafka's and OpenSearch's JVMs.",
  );
  parts.push(
    'Why ghz is the default generator: at one rate (`--soak-peak 14944`: 10,461 req/s, 60 s after 10 s of warm-up, twice each, ' +
      'alternating) the grpc-js generator skipped 227 and 1,891 requests (skipped_overload) with a p99 of 50 and 95 ms (38-123 ms per ' +
      "window), while the gateway's own event-loop delay p99 was 4.7-8.6 ms per window (max 49-75 ms; a window with 1,062 skips had a max of " +
      "26 ms); ghz: no errors, p99 13 and 11 ms (10-21 ms per window), the gateway's loop delay p99 3.1-5.0 ms (max 22 ms). The skips and " +
      "most of the tail were the grpc-js generator's own pauses. ghz's higher mlp-grpc figure makes its soak rate higher too (18.8-20.5k " +
      'instead of 10.5-10.8k req/s in the quick runs of this change): there three quick soaks had no errors but a p99 growing over the ' +
      'run (per window 46 -> 59 -> 244, 68 -> 369 -> 643 and 85 -> 171 -> 354 ms), the gateway loop delay p99 9-23 ms: at 70% of its closed-loop peak, ' +
      'where a window of 64 requests goes as one batch, the open loop (requests one by one) is near what this box serves. The full ' +
      '10-minute ghz soak at 18.4k req/s did not show that growth: its p99 per window stayed between 60 and 700 ms with no trend, ' +
      'and its loop-delay p99 per window had a median of 11 ms.',
  );
  parts.push(
    'With the default queue (`AIO_INFER_QUEUE_LIMIT`, 256 requests, about 70 ms of arrivals at this rate) a quick 30 s soak shed 139 ' +
      `requests (RESOURCE_EXHAUSTED) in its first 20 s; the soak therefore deploys with max_queue_size ${SOAK_QUEUE}, what an operator sets for this rate.`,
  );
  return `${parts.join('\n\n')}\n\n`;
}

/** The gateway's mlp-grpc figure at 64 in flight measured by `generator`, from the latest result, if there is one. */
function peakFromResult(generator: SoakGenerator): number | undefined {
  const file = path.join(RESULTS_DIR, 'mlp-grpc.json');
  if (!existsSync(file)) return undefined;
  const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  const system = generator === 'ghz' ? `gateway gRPC, ghz (${PEAK_IN_FLIGHT} in flight)` : `gateway gRPC (${PEAK_IN_FLIGHT} in flight)`;
  return result.rows.find((r) => r.system === system)?.median;
}

/** The generator asked for, or grpc-js (and why) when ghz cannot be built. */
async function soakGenerator(wanted: SoakGenerator): Promise<{ generator: SoakGenerator; fallback?: string }> {
  if (wanted !== 'ghz') return { generator: wanted };
  try {
    await ghzBinary();
    return { generator: 'ghz' };
  } catch (err) {
    return { generator: 'grpc-js', fallback: err instanceof Error ? err.message : String(err) };
  }
}

/** How each generator times a request in the open loop, and what it does when it falls behind. */
const OPEN_LOOP: Record<SoakGenerator, string> = {
  'grpc-js':
    "the grpc-js generator (load worker, one HTTP/2 connection); latency counts from when each request was due (no coordinated omission); " +
    `a request due while ${MAX_IN_FLIGHT} are in flight is not sent and counts as an error (skipped_overload).`,
  ghz:
    'ghz (Go, grpc-go, one HTTP/2 connection, one core; `--async -r <rate>`, one process per window, each taking over as the last ' +
    'stops sending); latency counts from when ghz sent each request (it paces by the clock and sends the ones it is late for at once, ' +
    'so a pause of its own would shorten latencies rather than lengthen them, but its pauses are well under a millisecond); ghz has no ' +
    'in-flight cap, so nothing is skipped (no skipped_overload).',
};

export const soak: Benchmark = {
  id: 'soak',
  title: 'soak at 70% of the mlp-grpc peak',
  async run(ctx) {
    const model = mlpModel();
    const batching = { ...BENCH_BATCHING, maxQueueSize: SOAK_QUEUE };
    const version = await ctx.platform.publish(model, batching);
    const request = grpcInferBytes(model);
    const { generator: generatorKind, fallback } = await soakGenerator(ctx.opts.soakGenerator);
    if (fallback !== undefined) log(`  ghz could not be built, soaking with the grpc-js generator: ${fallback}`);
    const driver: DriverSpec =
      generatorKind === 'ghz'
        ? ghzInferDriver(GATEWAY_GRPC, request, ctx.platform.authMetadata)
        : { kind: 'grpc', address: GATEWAY_GRPC, path: MODEL_INFER_PATH, requests: [request], metadata: ctx.platform.authMetadata };
    const generator = await LoadGenerator.start(driver);
    try {
      let peak = ctx.opts.soakPeak ?? peakFromResult(generatorKind);
      const peakSource =
        ctx.opts.soakPeak !== undefined
          ? '`--soak-peak`'
          : peak !== undefined
            ? `the latest mlp-grpc result (gateway, 64 in flight, ${generatorKind} generator)`
            : `a ${ctx.opts.durationMs / 1000} s closed-loop run at 64 in flight just before (${generatorKind} generator)`;
      if (peak === undefined) {
        await generator.run({ mode: 'closed', concurrency: PEAK_IN_FLIGHT, durationMs: ctx.opts.warmupMs });
        peak = (await generator.run({ mode: 'closed', concurrency: PEAK_IN_FLIGHT, durationMs: ctx.opts.durationMs })).throughput;
      }
      const rate = Math.max(1, Math.round(peak * LOAD_SHARE));
      // Warm-up first, as every benchmark: a gateway just started (JIT, consumers joining, arenas) stalls
      // in its first seconds under this load, which says nothing about a long run.
      const warmupMs = soakWarmupMs(ctx.opts);
      log(`  ${generatorKind} generator; peak ${round(peak)} req/s (${peakSource}); warming up at ${rate} req/s for ${warmupMs / 1000} s, then soaking for ${ctx.opts.soakMs / 1000} s`);
      await generator.run({ mode: 'open', ratePerSec: rate, durationMs: warmupMs, maxInFlight: MAX_IN_FLIGHT });
      const pid = gatewayPid();
      const samples: Sample[] = [];
      const started = performance.now();
      let lastProgressMs = 0;
      const sample = async (progress?: Progress): Promise<void> => {
        // The window's own length: the last one also holds the answers that came after the last send.
        const rate = progress ? round((progress.ok * 1000) / (progress.atMs - lastProgressMs)) : undefined;
        if (progress) lastProgressMs = progress.atMs;
        const lag = await eventLoopLagMs();
        const s: Sample = {
          atS: round((performance.now() - started) / 1000),
          rssMiB: round(rssBytes(pid) / MiB),
          probeMs: round(await probeMs(), 2),
          lagP99Ms: round(lag.p99, 2),
          lagMaxMs: round(lag.max, 2),
          progress,
          rate,
        };
        samples.push(s);
        log(`  t=${s.atS}s RSS ${s.rssMiB} MiB, event-loop delay p99 ${s.lagP99Ms} ms (max ${s.lagMaxMs}), probe ${s.probeMs} ms${progress ? `, ${rate} req/s, p99 ${round(progress.p99Ms, 2)} ms, errors ${progress.errors}` : ''}`);
      };
      await eventLoopLagMs(); // the first window starts here
      await sample();
      const pending: Promise<void>[] = [];
      const stats = await generator.run(
        { mode: 'open', ratePerSec: rate, durationMs: ctx.opts.soakMs, maxInFlight: MAX_IN_FLIGHT, progressEveryMs: ctx.opts.sampleEveryMs },
        (p) => void pending.push(sample(p)),
      );
      await Promise.all(pending);
      const xsMin = samples.map((s) => s.atS / 60);
      const rss = samples.map((s) => s.rssMiB);
      const probes = samples.map((s) => s.probeMs);
      // The first sample's window is the idle moment before the load: lag is read over the loaded ones.
      const lags = samples.slice(1).map((s) => s.lagP99Ms).filter((v) => Number.isFinite(v));
      const first = samples[0] as Sample;
      const last = samples.at(-1) as Sample;
      // RSS grows to its working size in the first seconds of load (heap, onnxruntime arenas): whether it
      // stays flat is read after a warm-up (the first minute, or quarter of a shorter soak).
      const warmS = Math.min(60, ctx.opts.soakMs / 4000);
      const settled = samples.filter((s) => s.atS >= warmS);
      const rssSlope = slope(settled.map((s) => s.atS / 60), settled.map((s) => s.rssMiB));
      const intervals = samples.flatMap((s) => (s.rate !== undefined ? [s.rate] : []));
      const errors = totalErrors(stats.errors);
      const rows: Row[] = [
        {
          system: `gateway gRPC at ${rate} req/s offered`,
          role: 'subject',
          metric: 'req/s',
          runs: intervals,
          median: round(median(intervals)),
          p50Ms: round(quantile(stats.latenciesMs, 0.5), 3),
          p90Ms: round(quantile(stats.latenciesMs, 0.9), 3),
          p99Ms: round(quantile(stats.latenciesMs, 0.99), 3),
          errors,
          extra: { generator: generatorKind, overall: round(stats.throughput), ...(errors ? { 'error kinds': errorSummary(stats.errors) } : {}) },
        },
        {
          system: 'gateway RSS',
          role: 'subject',
          metric: 'MiB',
          runs: rss,
          median: round(median(rss)),
          errors: 0,
          extra: { 'before the load': first.rssMiB, [`at ${round(warmS)} s`]: settled[0]?.rssMiB ?? '-', last: last.rssMiB, [`slope after ${round(warmS)} s (MiB/min)`]: round(rssSlope, 2) },
        },
        {
          system: 'gateway event-loop delay p99 per window',
          role: 'subject',
          metric: 'ms',
          runs: lags,
          median: round(median(lags), 2),
          errors: 0,
          extra: { first: lags[0] ?? '-', last: lags.at(-1) ?? '-', max: Math.max(...samples.slice(1).map((s) => s.lagMaxMs).filter((v) => Number.isFinite(v))), 'slope (ms/min)': round(slope(xsMin.slice(1, 1 + lags.length), lags), 3) },
        },
        {
          system: 'gateway responsiveness (GET /v2/health/live)',
          role: 'subject',
          metric: 'ms',
          runs: probes,
          median: round(median(probes), 2),
          errors: 0,
          extra: { first: first.probeMs, last: last.probeMs, max: Math.max(...probes), 'slope (ms/min)': round(slope(xsMin, probes), 3) },
        },
      ];
      const table = [
        '| t (s) | RSS (MiB) | loop delay p99 / max (ms) | probe (ms) | req/s | p50 (ms) | p99 (ms) | errors |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...samples.map(
          (s) =>
            `| ${s.atS} | ${s.rssMiB} | ${s.lagP99Ms} / ${s.lagMaxMs} | ${s.probeMs} | ${s.rate ?? '-'} | ` +
            `${s.progress ? round(s.progress.p50Ms, 2) : '-'} | ${s.progress ? round(s.progress.p99Ms, 2) : '-'} | ${s.progress?.errors ?? '-'} |`,
        ),
      ].join('\n');
      return {
        id: 'soak',
        title: `${round(ctx.opts.soakMs / 60000, 1)} min at ${LOAD_SHARE * 100}% of the mlp-grpc peak (open loop)`,
        setup:
          `The MLP of mlp-grpc (\`${model.name}\` v${version}, batching ${describeBatching(batching)}) under an open-loop load: ${rate} req/s ` +
          `(${LOAD_SHARE * 100}% of ${round(peak)} req/s, from ${peakSource}) for ${ctx.opts.soakMs / 1000} s after ${warmupMs / 1000} s of unmeasured warm-up at the same rate, the same request bytes as mlp-grpc, ` +
          `from ${OPEN_LOOP[generatorKind]}${fallback === undefined ? '' : ` ghz was asked for but could not be built, hence grpc-js: ${fallback.replace(/\s+/g, ' ')}.`} ` +
          `Every ${ctx.opts.sampleEveryMs / 1000} s: the gateway's VmRSS from /proc (main thread and workers), its own event-loop delay p99 and max over the window ` +
          '(`nodejs_eventloop_delay_seconds` on :8002) and the median of 5 `GET /v2/health/live` round trips from outside.',
        rows,
        targets: [
          { what: 'errors during the soak', goal: '0', actual: String(errors), met: errors === 0 },
          { what: 'achieved vs offered rate', goal: '>= 99%', actual: `${round((stats.throughput / rate) * 100)}%`, met: stats.throughput / rate >= 0.99 },
        ],
        notes:
          soakErrorNotes(stats.errors, rate, generatorKind) +
          `RSS ${first.rssMiB} MiB before the load, ${settled[0]?.rssMiB ?? '-'} MiB at ${round(warmS)} s, ${last.rssMiB} MiB at the end: ` +
          `slope ${round(rssSlope, 2)} MiB/min after the warm-up; probe first ${first.probeMs} ms, last ${last.probeMs} ms.\n\n${table}`,
      };
    } finally {
      await generator.close();
    }
  },
};

if (import.meta.main) await runAlone(soak);
