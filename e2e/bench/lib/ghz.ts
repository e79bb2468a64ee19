// ghz (github.com/bojand/ghz: Go, grpc-go) as the second gRPC load generator, behind the LoadGenerator API
// (DriverSpec kind 'ghz'). What perf_analyzer is to REST: an external generator whose own pauses are short
// (Go's collector stops the world for well under a millisecond), where the grpc-js one in the load worker
// has node:http2's mark-compacts of its own. Built from deploy/local/ghz (go.mod pins it) by its tool.mjs
// on first use. One ghz process per run, its JSON report parsed into RunStats:
//   closed loop  -c <in flight> --connections 1 -z <duration> --duration-stop wait
//   open loop    --async -r <rate>, one process per progress window (ghz reports only when it exits);
//                latency counts from when ghz sent a call, and nothing is skipped: --async has no cap
// --duration-stop wait lets the calls in flight at the end finish (the default, close, cuts the connection
// and counts them as Unavailable errors). --disable-template-* keep ghz from rendering the metadata (a
// bearer token) through text/template on every call, which halves its rate.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClosedLoad, DriverSpec, LoadRunner, LoadSpec, OpenLoad, Progress, RunStats } from './load.ts';
import { quantile, ROOT } from './result.ts';
import { ToolProcesses } from './tool.process.ts';

export type GhzSpec = Extract<DriverSpec, { kind: 'ghz' }>;

/** deploy/local/ghz/tool.mjs: the pinned version (go.mod's) and the build (progress on stderr). */
interface GoTool {
  version: string | undefined;
  build(): Promise<string>;
}
const { ghz } = (await import(pathToFileURL(path.join(ROOT, 'deploy', 'local', 'ghz', 'tool.mjs')).href)) as { ghz: GoTool };
/** The version deploy/local/ghz/go.mod pins (what the tool builds). */
export const GHZ_VERSION = ghz.version ?? 'unknown';
/**
 * ghz's Go code on one core (GOMAXPROCS 1; its default is every core), as the grpc-js generator runs on
 * one thread: the generators differ in their runtime, not in the cores they take from the servers.
 */
export const GHZ_CPUS: number = 1;
/** ghz keeps the details of at most this many calls per run (runner/requester.go maxResult). */
const MAX_DETAILS = 1_000_000;
/** Open loop: the goroutines that start calls as they fall due (not a cap on calls in flight: --async has none). */
const ASYNC_WORKERS = 16;

/** The parts of ghz's JSON report (-O json) read here; latencies and durations are in ns. */
interface GhzReport {
  count: number;
  total: number;
  /** Every call (up to MAX_DETAILS): when its answer came (RFC 3339, ns), its latency, grpc-go's status name. */
  details: { timestamp: string; latency: number; status: string; error: string }[] | null;
}

let building: Promise<string> | undefined;

/** The ghz binary's path, built when missing or out of date; rejects with the reason when it cannot be. */
export function ghzBinary(): Promise<string> {
  building ??= ghz.build();
  return building;
}

/** Go's status code names (grpc-go's codes.Code String()) as grpc-js names them, so both generators count errors alike. */
export function statusKind(status: string): string {
  if (status === '') return 'ghz_error';
  if (status === 'Canceled') return 'CANCELLED';
  return status.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Messages prefixed with their length (ghz's --binary-file format for several; one unprefixed message could be misread as several). */
export function countDelimited(messages: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const prefix: number[] = [];
    let n = m.length;
    while (n >= 0x80) {
      prefix.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    prefix.push(n);
    parts.push(Buffer.from(prefix), Buffer.from(m.buffer, m.byteOffset, m.byteLength));
  }
  return Buffer.concat(parts);
}

/** One run's figures from ghz's report: OK calls' latencies, other calls counted by status. */
export function statsFromReport(report: GhzReport, elapsedMs: number): RunStats {
  const details = report.details ?? [];
  if (details.length < report.count) {
    throw new Error(`ghz kept ${details.length} of ${report.count} calls' details (at most ${MAX_DETAILS} per run): run shorter windows`);
  }
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  for (const d of details) {
    if (d.status === 'OK') latencies.push(d.latency / 1e6);
    else {
      const kind = statusKind(d.status);
      errors[kind] = (errors[kind] ?? 0) + 1;
    }
  }
  return { ok: latencies.length, errors, elapsedMs, throughput: (latencies.length * 1000) / elapsedMs, latenciesMs: Float64Array.from(latencies).sort() };
}

const nowMs = (): number => performance.now();

/** Runs loads with ghz processes; the request and metadata files are written once, at start. */
export class GhzRunner implements LoadRunner {
  private readonly spec: GhzSpec;
  private readonly tool: ToolProcesses;
  private readonly connections: number;

  private constructor(spec: GhzSpec, tool: ToolProcesses) {
    this.spec = spec;
    this.tool = tool;
    this.connections = spec.connections ?? 1;
  }

  /** Builds ghz if needed, writes the files and makes one call: rejects when ghz cannot run or connect. */
  static async start(spec: GhzSpec): Promise<GhzRunner> {
    const tool = await ToolProcesses.create('ghz', await ghzBinary());
    const runner = new GhzRunner(spec, tool);
    try {
      await writeFile(path.join(tool.dir, 'requests.bin'), countDelimited(spec.requests));
      await writeFile(path.join(tool.dir, 'metadata.json'), JSON.stringify(spec.metadata));
      const probe = await runner.report(await runner.exec(['-c', String(runner.connections), '-n', String(runner.connections)]));
      const unavailable = probe.details?.find((d) => d.status === 'Unavailable');
      if (unavailable !== undefined) throw new Error(`ghz cannot connect to ${spec.address}: ${unavailable.error}`);
    } catch (err) {
      await tool.close();
      throw err;
    }
    return runner;
  }

  run(load: LoadSpec, onProgress?: (p: Progress) => void): Promise<RunStats> {
    return load.mode === 'closed' ? this.closed(load) : this.open(load, onProgress);
  }

  close(): Promise<void> {
    return this.tool.close();
  }

  private async closed(load: ClosedLoad): Promise<RunStats> {
    const c = Math.max(load.concurrency, this.connections);
    const report = await this.report(await this.exec(['-c', String(c), '-z', `${load.durationMs}ms`, '--duration-stop', 'wait']));
    // ghz's own clock: from its connections being up to the last answer (no process start, no proto parsing).
    return statsFromReport(report, report.total / 1e6);
  }

  /**
   * Windows of progressEveryMs, one ghz process each, spawned on a fixed schedule (window i at i x the
   * window): ghz starts sending ~10 ms after its start and stops -z later, so the next window's process
   * takes over as this one stops, while this one waits for its last answers and writes its report
   * (~1.6 us per call). Elapsed time runs from the first call sent to the last answer.
   */
  private async open(load: OpenLoad, onProgress?: (p: Progress) => void): Promise<RunStats> {
    const rate = Math.max(1, Math.round(load.ratePerSec));
    // A window's calls must fit ghz's details (half of them, for margin).
    const windowMs = Math.min(load.progressEveryMs ?? load.durationMs, Math.floor(((MAX_DETAILS / 2) * 1000) / rate));
    const c = Math.max(ASYNC_WORKERS, this.connections);
    const latencies: Float64Array[] = [];
    const errors: Record<string, number> = {};
    let ok = 0;
    let firstSend = Infinity;
    let lastAnswer = -Infinity;
    const start = nowMs();
    let tallied = Promise.resolve();
    for (let sent = 0; sent < load.durationMs; sent += windowMs) {
      const ms = Math.min(windowMs, load.durationMs - sent);
      const wait = start + sent - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const out = this.exec(['--async', '-r', String(rate), '-c', String(c), '-z', `${ms}ms`, '--duration-stop', 'wait']);
      out.catch(() => undefined); // awaited in turn below
      tallied = tallied.then(async () => {
        const report = await this.report(await out);
        const s = statsFromReport(report, report.total / 1e6);
        for (const d of report.details ?? []) {
          const end = Date.parse(d.timestamp);
          firstSend = Math.min(firstSend, end - d.latency / 1e6);
          lastAnswer = Math.max(lastAnswer, end);
        }
        ok += s.ok;
        latencies.push(s.latenciesMs);
        let windowErrors = 0;
        for (const [k, v] of Object.entries(s.errors)) {
          errors[k] = (errors[k] ?? 0) + v;
          windowErrors += v;
        }
        if (load.progressEveryMs !== undefined) {
          onProgress?.({ atMs: sent + ms, ok: s.ok, errors: windowErrors, p50Ms: quantile(s.latenciesMs, 0.5), p99Ms: quantile(s.latenciesMs, 0.99) });
        }
      });
      // Handled here so a failed window waits for the await below instead of killing the process meanwhile.
      tallied.catch(() => undefined);
    }
    await tallied;
    const elapsedMs = lastAnswer > firstSend ? lastAnswer - firstSend : nowMs() - start;
    const all = new Float64Array(latencies.reduce((n, l) => n + l.length, 0));
    let at = 0;
    for (const l of latencies) {
      all.set(l, at);
      at += l.length;
    }
    return { ok, errors, elapsedMs, throughput: (ok * 1000) / elapsedMs, latenciesMs: all.sort() };
  }

  /** Runs ghz with the load's flags; resolves to its JSON report's path. */
  private async exec(loadArgs: readonly string[]): Promise<string> {
    const out = this.tool.file('report', 'json');
    const { spec } = this;
    const args = [
      '--insecure',
      '--proto',
      spec.proto,
      '--import-paths',
      spec.importPaths.join(','),
      '--call',
      spec.call,
      '--binary-file',
      path.join(this.tool.dir, 'requests.bin'),
      '--metadata-file',
      path.join(this.tool.dir, 'metadata.json'),
      '--disable-template-functions',
      '--disable-template-data',
      '--connections',
      String(this.connections),
      '--cpus',
      String(GHZ_CPUS),
      '--timeout',
      `${spec.timeoutMs ?? 30_000}ms`,
      ...loadArgs,
      '--format',
      'json',
      '--output',
      out,
      spec.address,
    ];
    await this.tool.run(args, `ghz ${loadArgs.join(' ')} against ${spec.address}`);
    return out;
  }

  private async report(file: string): Promise<GhzReport> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as GhzReport;
    } finally {
      await rm(file, { force: true });
    }
  }
}
