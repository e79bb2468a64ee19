// What every benchmark writes: one JSON file per benchmark under .infra/bench/results/, rendered
// into docs/benchmarks.md by report.ts. Figures only, never assertions: a missed target is a row
// that says so, with notes on where the time goes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const RESULTS_DIR = path.join(ROOT, '.infra', 'bench', 'results');

/** One system measured in a benchmark: the subject (ours), its baseline, or a peer server. */
export interface Row {
  system: string;
  role: 'subject' | 'baseline' | 'peer';
  /** Unit of `runs` and `median`, e.g. 'req/s', 'images/s', 'records/s', 'MiB'. */
  metric: string;
  /** The figure of each measured run (after warm-up). */
  runs: number[];
  median: number;
  /** Latency percentiles over all measured runs, when the benchmark measures latency. */
  p50Ms?: number;
  p90Ms?: number;
  p99Ms?: number;
  errors: number;
  /** Anything else worth a column (in-flight, batch sizes seen, RSS...). */
  extra?: Record<string, string | number>;
}

/** A target of the issue and whether this run met it. */
export interface Target {
  what: string;
  goal: string;
  actual: string;
  met: boolean;
}

export interface BenchResult {
  id: string;
  title: string;
  /** Markdown: what is measured and how (load generator, in-flight, bytes, runs). */
  setup: string;
  rows: Row[];
  targets: Target[];
  /** Markdown: where the time goes, what would close a gap. */
  notes?: string;
  /** How it was run, e.g. "quick: 3 runs x 3 s after 1 s warm-up" (set by run.ts). */
  run?: string;
  finishedAt?: string;
}

export function writeResult(result: BenchResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${result.id}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, finishedAt: new Date().toISOString() }, null, 2)}\n`);
  return file;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The q-quantile (0..1) of sorted latencies, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}
