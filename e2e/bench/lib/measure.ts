// Systems measured side by side: every system gets its own generator and a warm-up, then the measured
// runs alternate between systems (run 1 of each, run 2 of each...), so a noisy minute on this shared
// machine spreads over all of them instead of landing on one.
import { LoadGenerator, totalErrors, type DriverSpec, type RunStats } from './load.ts';
import { log } from './options.ts';
import { median, quantile, type Row } from './result.ts';

export interface SystemUnderTest {
  system: string;
  role: Row['role'];
  driver: DriverSpec;
  concurrency: number;
  /** Unit of the figure (default req/s). */
  metric?: string;
  /** Items per request (e.g. images in a batch) for the figure; default 1. */
  itemsPerRequest?: number;
  extra?: Record<string, string | number>;
}

export interface MeasureOptions {
  runs: number;
  durationMs: number;
  warmupMs: number;
}

export function errorSummary(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
}

export function toRow(sut: SystemUnderTest, stats: readonly RunStats[]): Row {
  const items = sut.itemsPerRequest ?? 1;
  const runs = stats.map((s) => round(s.throughput * items));
  const all = Float64Array.from(stats.flatMap((s) => Array.from(s.latenciesMs))).sort();
  const errors: Record<string, number> = {};
  for (const s of stats) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
  const summary = errorSummary(errors);
  return {
    system: sut.system,
    role: sut.role,
    metric: sut.metric ?? 'req/s',
    runs,
    median: round(median(runs)),
    p50Ms: round(quantile(all, 0.5), 3),
    p90Ms: round(quantile(all, 0.9), 3),
    p99Ms: round(quantile(all, 0.99), 3),
    errors: totalErrors(errors),
    extra: { 'in flight': sut.concurrency, ...sut.extra, ...(summary ? { 'error kinds': summary } : {}) },
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Warm-up, then `runs` alternating closed-loop runs of every system; one Row per system. */
export async function sideBySide(systems: readonly SystemUnderTest[], opts: MeasureOptions): Promise<Row[]> {
  const generators: LoadGenerator[] = [];
  try {
    for (const sut of systems) generators.push(await LoadGenerator.start(sut.driver));
    for (const [i, sut] of systems.entries()) {
      const w = await (generators[i] as LoadGenerator).run({ mode: 'closed', concurrency: sut.concurrency, durationMs: opts.warmupMs });
      log(`  warm-up ${sut.system}: ${round(w.throughput * (sut.itemsPerRequest ?? 1))} ${sut.metric ?? 'req/s'}${w.ok === 0 ? ` (no answer: ${errorSummary(w.errors)})` : ''}`);
    }
    const stats: RunStats[][] = systems.map(() => []);
    for (let r = 0; r < opts.runs; r++) {
      for (const [i, sut] of systems.entries()) {
        const s = await (generators[i] as LoadGenerator).run({ mode: 'closed', concurrency: sut.concurrency, durationMs: opts.durationMs });
        stats[i]?.push(s);
        log(
          `  run ${r + 1}/${opts.runs} ${sut.system}: ${round(s.throughput * (sut.itemsPerRequest ?? 1))} ${sut.metric ?? 'req/s'}, ` +
            `p99 ${round(quantile(s.latenciesMs, 0.99), 2)} ms${totalErrors(s.errors) ? `, errors ${errorSummary(s.errors)}` : ''}`,
        );
      }
    }
    return systems.map((sut, i) => toRow(sut, stats[i] ?? []));
  } finally {
    await Promise.all(generators.map((g) => g.close()));
  }
}
