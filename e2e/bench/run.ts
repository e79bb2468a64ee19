// Runs the serving benchmarks against the running mesh, each writing .infra/bench/results/<id>.json;
// report.ts renders them into docs/benchmarks.md. `npm run bench` starts the mesh and runs both.
//   node e2e/bench/run.ts [--quick] [--only mlp-grpc,soak] [--runs N] [--duration S] [--soak S] [--peers FILE]
// Peer servers join through e2e/bench/peers/ (see lib/peers.ts); they need nothing here.
import { cnnRaw } from './cnn-raw.bench.ts';
import { run as runIngestion } from './ingestion.bench.ts';
import { runBenchmarks, type Benchmark } from './lib/context.ts';
import { log, parseOptions, USAGE } from './lib/options.ts';
import { mlpGrpc } from './mlp-grpc.bench.ts';
import { mlpRest } from './mlp-rest.bench.ts';
import { multiModel } from './multi-model.bench.ts';
import { soak } from './soak.bench.ts';

/** The ingestion benchmark starts its own ingestion service (own ports, topics, database). */
const ingestion: Benchmark = {
  id: 'ingestion',
  title: 'ingestion: Kafka and gRPC intake against the storage and Kafka ceilings',
  run: (ctx) => runIngestion({ quick: ctx.opts.quick, runs: ctx.opts.runs }),
};

/** In this order: soak takes its rate from the mlp-grpc result. */
export const BENCHMARKS: readonly Benchmark[] = [mlpGrpc, mlpRest, cnnRaw, multiModel, ingestion, soak];

try {
  const opts = parseOptions(process.argv.slice(2));
  const unknown = opts.only.filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}\n${USAGE}`);
  const selected = opts.only.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => opts.only.includes(b.id));
  log(`${opts.quick ? 'quick' : 'full'} run: ${selected.map((b) => b.id).join(', ')}; ${opts.runs} runs x ${opts.durationMs / 1000} s after ${opts.warmupMs / 1000} s warm-up`);
  const failed = await runBenchmarks(selected, opts);
  if (failed.length > 0) {
    log(`failed: ${failed.join(', ')} (the others' results are written)`);
    process.exitCode = 1;
  }
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
