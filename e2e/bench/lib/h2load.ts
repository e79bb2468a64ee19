// h2load (nghttp2's HTTP/2 load generator, C; deploy/local/h2load) as the third gRPC load generator,
// behind the LoadGenerator API (DriverSpec kind 'h2load'). It knows HTTP/2, not gRPC: it POSTs the prebuilt
// gRPC-framed request with gRPC's headers and times each stream until its end (trailers included). It
// costs far less CPU per call than the grpc-js and ghz generators (at 64 in flight on one connection it
// drove the gateway at ~2x ghz's rate on the same box), which on two cores leaves the servers more of them.
// gRPC statuses travel in trailers, which h2load does not read; an answer counts as OK when its HTTP
// status is 200 and, over the run, the DATA bytes received cover one expected answer per such response
// (an error is trailers only: no DATA), so a run with failed calls shows them as `grpc_error`.
// Closed loop only (-c connections -m streams each -D seconds); per-request times come from --log-file.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClosedLoad, DriverSpec, LoadRunner, LoadSpec, RunStats } from './load.ts';
import { ROOT } from './result.ts';
import { ToolProcesses } from './tool.process.ts';

export type H2loadSpec = Extract<DriverSpec, { kind: 'h2load' }>;

const { h2load } = (await import(pathToFileURL(path.join(ROOT, 'deploy', 'local', 'h2load', 'tool.mjs')).href)) as { h2load: { build(): Promise<string> } };

let installing: Promise<string> | undefined;

/** The h2load wrapper's path, installed from Debian's archive when missing; rejects with the reason when it cannot be. */
export function h2loadBinary(): Promise<string> {
  installing ??= h2load.build();
  return installing;
}

/** Bytes before a gRPC message in DATA frames: the compressed flag and the 4-byte length. */
const FRAME_HEADER_BYTES = 5;

/** A gRPC message with its frame header (not compressed), as it travels in DATA frames. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

/** What h2load's summary says: its request counters and the DATA bytes received. */
export interface H2loadSummary {
  /** Streams opened, including those still open when the run's time was up (they are not in the log). */
  started: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  dataBytes: number;
}

export function parseSummary(stdout: string): H2loadSummary {
  const req = /requests: \d+ total, (\d+) started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const data = /traffic: .*?\((\d+)\) data/.exec(stdout);
  if (req === null || data === null) throw new Error(`h2load printed no summary: ${stdout.trim().split('\n').slice(-4).join(' | ')}`);
  const [started, succeeded, failed, errored, timeout] = req.slice(1).map(Number) as [number, number, number, number, number];
  return { started, succeeded, failed, errored, timeout, dataBytes: Number(data[1]) };
}

/**
 * One run's figures from h2load's summary and its --log-file (a line per request: start in us since the
 * epoch, HTTP status, us until the stream ended). Elapsed time runs from the first request's start to the
 * last one's end.
 */
export function statsFromLog(summary: H2loadSummary, log: string, responseBytes: number): RunStats {
  const latencies: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const line of log.split('\n')) {
    if (line === '') continue;
    const [start, status, us] = line.split('\t').map(Number) as [number, number, number];
    if (status !== 200) continue;
    latencies.push(us / 1000);
    first = Math.min(first, start);
    last = Math.max(last, start + us);
  }
  const errors: Record<string, number> = {};
  // Every HTTP 200 must have brought one answer's DATA; streams still open at the end may have brought
  // theirs too (whole or in part), but no more than one answer each. A shortfall is answers without a
  // message (gRPC errors: trailers only); a surplus, answers of another size.
  const missing = latencies.length * responseBytes - summary.dataBytes;
  const surplus = summary.dataBytes - summary.started * responseBytes;
  if (missing > 0) errors.grpc_error = Math.ceil(missing / responseBytes);
  else if (surplus > 0) errors.unexpected_answer = 1;
  if (summary.failed) errors.http_status = summary.failed;
  if (summary.errored) errors.h2load_errored = summary.errored;
  if (summary.timeout) errors.timeout = summary.timeout;
  const ok = Math.max(0, latencies.length - (errors.grpc_error ?? 0));
  const elapsedMs = last > first ? (last - first) / 1000 : 0;
  return { ok, errors, elapsedMs, throughput: elapsedMs > 0 ? (ok * 1000) / elapsedMs : 0, latenciesMs: Float64Array.from(latencies).sort() };
}

/** Runs closed loops with one h2load process each; the request body is written once, at start. */
export class H2loadRunner implements LoadRunner {
  private readonly spec: H2loadSpec;
  private readonly tool: ToolProcesses;

  private constructor(spec: H2loadSpec, tool: ToolProcesses) {
    this.spec = spec;
    this.tool = tool;
  }

  /** Installs h2load if needed, writes the body and makes one call: rejects when h2load cannot run or the call fails. */
  static async start(spec: H2loadSpec): Promise<H2loadRunner> {
    const tool = await ToolProcesses.create('h2load', await h2loadBinary());
    const runner = new H2loadRunner(spec, tool);
    try {
      await writeFile(path.join(tool.dir, 'body.bin'), grpcFrame(spec.request));
      const probe = await runner.exec(['-n', '1', '-c', '1', '-m', '1']);
      if (probe.ok !== 1) throw new Error(`h2load's probe call to ${spec.url} did not get the expected answer: ${JSON.stringify(probe.errors)}`);
    } catch (err) {
      await tool.close();
      throw err;
    }
    return runner;
  }

  run(load: LoadSpec): Promise<RunStats> {
    if (load.mode !== 'closed') return Promise.reject(new Error('the h2load driver runs closed loops only'));
    return this.closed(load);
  }

  close(): Promise<void> {
    return this.tool.close();
  }

  private closed(load: ClosedLoad): Promise<RunStats> {
    const connections = this.spec.connections ?? 1;
    const streams = Math.ceil(load.concurrency / connections);
    return this.exec(['-c', String(connections), '-m', String(streams), '-D', String(Math.max(1, Math.round(load.durationMs / 1000)))]);
  }

  private async exec(loadArgs: readonly string[]): Promise<RunStats> {
    const log = this.tool.file('log', 'tsv');
    const headers = Object.entries({ 'content-type': 'application/grpc', te: 'trailers', ...this.spec.headers }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const args = [...loadArgs, '-t', '1', '-d', path.join(this.tool.dir, 'body.bin'), ...headers, `--log-file=${log}`, this.spec.url];
    const out = await this.tool.run(args, `h2load ${loadArgs.join(' ')} against ${this.spec.url}`);
    try {
      return statsFromLog(parseSummary(out), await readFile(log, 'utf8'), FRAME_HEADER_BYTES + this.spec.response.length);
    } finally {
      await rm(log, { force: true });
    }
  }
}
