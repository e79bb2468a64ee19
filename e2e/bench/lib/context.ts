// What a benchmark gets from run.ts (or from its own command line when run alone).
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadPeers, type PeerSystem } from './peers.ts';
import { log, parseOptions, type BenchOptions } from './options.ts';
import { Platform } from './platform.ts';
import { ROOT, writeResult, type BenchResult } from './result.ts';

export interface BenchContext {
  opts: BenchOptions;
  platform: Platform;
  peers: PeerSystem[];
  /** Scratch files (precomputed responses for the bare servers). */
  workDir: string;
  /** Inference worker threads of the gateway (its AIO_INFER_WORKERS default: the cores). */
  gatewayWorkers: number;
}

export interface Benchmark {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export const WORK_DIR = path.join(ROOT, '.infra', 'bench', 'tmp');

export function gatewayWorkers(): number {
  const fromEnv = Number(process.env['AIO_INFER_WORKERS']);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

export function describeRun(opts: BenchOptions): string {
  return `${opts.quick ? 'quick' : 'full'}: ${opts.runs} runs x ${opts.durationMs / 1000} s after ${opts.warmupMs / 1000} s warm-up per system; soak ${opts.soakMs / 1000} s`;
}

/**
 * Runs benchmarks in order against the running mesh, writing each result as it finishes. A benchmark
 * that fails is reported and the others still run; resolves to the ids that failed.
 */
export async function runBenchmarks(benchmarks: readonly Benchmark[], opts: BenchOptions): Promise<string[]> {
  mkdirSync(WORK_DIR, { recursive: true });
  const platform = await Platform.connect();
  const peers = await loadPeers(opts.peersFile, opts.withPeers);
  const failed: string[] = [];
  try {
    const ctx: BenchContext = { opts, platform, peers: peers.systems, workDir: WORK_DIR, gatewayWorkers: gatewayWorkers() };
    for (const b of benchmarks) {
      log(`${b.id}: ${b.title}`);
      try {
        const file = writeResult({ ...(await b.run(ctx)), run: describeRun(opts) });
        log(`${b.id}: wrote ${path.relative(ROOT, file)}`);
      } catch (err) {
        log(`${b.id}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        failed.push(b.id);
      }
    }
  } finally {
    await peers.stop();
    platform.close();
  }
  return failed;
}

/** `node <id>.bench.ts [options]`: one benchmark on its own. */
export async function runAlone(benchmark: Benchmark): Promise<void> {
  try {
    if ((await runBenchmarks([benchmark], parseOptions(process.argv.slice(2)))).length > 0) process.exitCode = 1;
  } catch (err) {
    process.stderr.write(`${benchmark.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
