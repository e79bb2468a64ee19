// Command-line options shared by run.ts and every <id>.bench.ts run on its own.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  quick: boolean;
  /** Measured runs per system (at least 3). */
  runs: number;
  durationMs: number;
  warmupMs: number;
  soakMs: number;
  /** Soak sampling period. */
  sampleEveryMs: number;
  /** Benchmark ids to run; empty = all. */
  only: string[];
  /** A JSON file listing peer systems (see lib/peers.ts). */
  peersFile: string | undefined;
  /** Start MLServer and Ray Serve (peers/peers.ts) and measure them in mlp-grpc / mlp-rest. */
  withPeers: boolean;
  /** The soak's load generator: ghz (Go, its own process) or the grpc-js one of the load worker. */
  soakGenerator: SoakGenerator;
  /** The peak (req/s) the soak takes 70% of, instead of mlp-grpc's latest figure (to soak two generators at one rate). */
  soakPeak: number | undefined;
}

export const SOAK_GENERATORS = ['ghz', 'grpc-js'] as const;
export type SoakGenerator = (typeof SOAK_GENERATORS)[number];

export const USAGE = `options:
  --quick            short runs (3 s per run, 1 s warm-up, 30 s soak)
  --only a,b         only these benchmark ids
  --runs N           measured runs per system (default 3, at least 3)
  --duration S       seconds per measured run (default 10; quick 3)
  --warmup S         seconds of warm-up per system (default 3; quick 1)
  --soak S           soak length in seconds (default 600; quick 30)
  --soak-generator G the soak's load generator: ghz (default) or grpc-js
  --soak-peak R      the peak in req/s the soak runs at 70% of (default: mlp-grpc's latest, same generator)
  --peers FILE       peer systems to measure beside ours (default e2e/bench/peers/peers.json if present)
  --with-peers       start MLServer and Ray Serve (venvs from e2e/bench/peers/setup.sh) for mlp-grpc/mlp-rest`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      soak: { type: 'string' },
      'soak-generator': { type: 'string', default: 'ghz' },
      'soak-peak': { type: 'string' },
      peers: { type: 'string' },
      'with-peers': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const seconds = (raw: string | undefined, fallback: number, name: string): number => {
    if (raw === undefined) return fallback * 1000;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number of seconds, got "${raw}"`);
    return n * 1000;
  };
  const soakGenerator = SOAK_GENERATORS.find((g) => g === values['soak-generator']);
  if (soakGenerator === undefined) throw new Error(`--soak-generator must be one of ${SOAK_GENERATORS.join(', ')}, got "${values['soak-generator']}"`);
  const soakPeak = values['soak-peak'] === undefined ? undefined : Number(values['soak-peak']);
  if (soakPeak !== undefined && !(Number.isFinite(soakPeak) && soakPeak > 0)) throw new Error(`--soak-peak must be a positive number of req/s, got "${values['soak-peak']}"`);
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 3) throw new Error(`--runs must be an integer of at least 3 (medians need it), got "${values.runs}"`);
  return {
    quick,
    runs,
    durationMs: seconds(values.duration, quick ? 3 : 10, 'duration'),
    warmupMs: seconds(values.warmup, quick ? 1 : 3, 'warmup'),
    soakMs: seconds(values.soak, quick ? 30 : 600, 'soak'),
    sampleEveryMs: 10_000,
    only: values.only === undefined ? [] : values.only.split(',').map((s) => s.trim()).filter(Boolean),
    peersFile: values.peers,
    withPeers: values['with-peers'],
    soakGenerator,
    soakPeak,
  };
}

export function log(line: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}
