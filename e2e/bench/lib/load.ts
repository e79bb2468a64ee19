// The load generators every system is measured with. The grpc-js / node:http / module drivers run in a
// worker thread (lib/load.worker.ts) rather than in the process that orchestrates the benchmark: the
// orchestrator's own work (sampling /proc, polling readiness, logging) then never delays a request, and the
// generator costs the same thread and the same code for the gateway, the bare baselines and the peers. A
// worker thread rather than a child process because it shares nothing with the servers measured (they are
// other processes) and can be handed request bytes and hand back latencies without a pipe. The `ghz` and
// `h2load` drivers are external generators instead (lib/ghz.ts: Go, grpc-go; lib/h2load.ts: nghttp2, C;
// one process per run), behind the same LoadGenerator API.
import { Worker } from 'node:worker_threads';
import { GhzRunner } from './ghz.ts';
import { H2loadRunner } from './h2load.ts';

/** How requests are made: serializable, so it crosses into the worker. */
export type DriverSpec =
  /** grpc-js unary calls with pass-through codecs: the same prebuilt bytes go out on every call. */
  | { kind: 'grpc'; address: string; path: string; requests: Uint8Array[]; metadata: Record<string, string>; timeoutMs?: number }
  /** node:http POSTs over a keep-alive Agent: the same prebuilt body bytes on every call. */
  | { kind: 'rest'; origin: string; requests: { path: string; body: Uint8Array }[]; headers: Record<string, string>; timeoutMs?: number }
  /**
   * Any async function: `module` (a file URL) exports `exportName(args)`, which resolves to the call
   * `(i) => Promise<void>` (i counts calls; rejecting counts an error of kind `err.kind ?? err.name`).
   */
  | { kind: 'module'; module: string; exportName: string; args: unknown }
  /**
   * ghz (lib/ghz.ts: Go, grpc-go), one process per run: unary calls of `call` ("package.Service/Method",
   * read from `proto` with `importPaths`), the prebuilt request bytes (round robin when several) and
   * metadata on every call, over `connections` HTTP/2 connections (default 1, as the grpc driver).
   */
  | {
      kind: 'ghz';
      address: string;
      proto: string;
      importPaths: string[];
      call: string;
      requests: Uint8Array[];
      metadata: Record<string, string>;
      connections?: number;
      timeoutMs?: number;
    }
  /**
   * h2load (lib/h2load.ts: nghttp2, C), one process per run, closed loops only: POSTs of the gRPC-framed
   * `request` to `url` (http://host:port/package.Service/Method) with gRPC's headers and `headers`, over
   * `connections` HTTP/2 connections (default 1); an answer is OK when it carries `response` (the message
   * every answer must be, gRPC-framed) as DATA.
   */
  | { kind: 'h2load'; url: string; request: Uint8Array; headers: Record<string, string>; response: Uint8Array; connections?: number };

/** Closed loop: `concurrency` requests always in flight, each starting when one finishes. */
export interface ClosedLoad {
  mode: 'closed';
  concurrency: number;
  durationMs: number;
}

/**
 * Open loop: requests start at a fixed rate whatever the answers do; latency counts from when a request
 * was due, so a stall shows in the latencies instead of silently lowering the rate (ghz: from when it sent
 * the request, and it never skips one; see lib/ghz.ts).
 */
export interface OpenLoad {
  mode: 'open';
  ratePerSec: number;
  durationMs: number;
  /** A request due while this many are in flight is not sent and counts as `skipped_overload` (not with ghz: no cap). */
  maxInFlight: number;
  /** Posts a Progress every this many ms. */
  progressEveryMs?: number;
}

export type LoadSpec = ClosedLoad | OpenLoad;

export interface RunStats {
  ok: number;
  errors: Record<string, number>;
  elapsedMs: number;
  /** Successful requests per second. */
  throughput: number;
  /** Latencies of the successful requests in ms, ascending. */
  latenciesMs: Float64Array;
}

/** One interval of an open-loop run. */
export interface Progress {
  atMs: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'done'; id: number; stats: RunStats }
  | { type: 'failed'; id: number; message: string };

export type WorkerCommand = { type: 'run'; id: number; load: LoadSpec } | { type: 'close' };

export function totalErrors(errors: Record<string, number>): number {
  return Object.values(errors).reduce((a, b) => a + b, 0);
}

/** What runs the loads of a LoadGenerator: the load worker, ghz (lib/ghz.ts) or h2load (lib/h2load.ts). */
export interface LoadRunner {
  run(load: LoadSpec, onProgress?: (p: Progress) => void): Promise<RunStats>;
  close(): Promise<void>;
}

/** One driver's generator: its connections stay open between runs (ghz: its files stay written). */
export class LoadGenerator {
  private readonly runner: LoadRunner;

  private constructor(runner: LoadRunner) {
    this.runner = runner;
  }

  /** Starts the driver (connects, loads the module; ghz, h2load: installed if needed, checked with one call); rejects if it cannot start. */
  static async start(driver: DriverSpec): Promise<LoadGenerator> {
    if (driver.kind === 'ghz') return new LoadGenerator(await GhzRunner.start(driver));
    if (driver.kind === 'h2load') return new LoadGenerator(await H2loadRunner.start(driver));
    return new LoadGenerator(await WorkerRunner.start(driver));
  }

  run(load: LoadSpec, onProgress?: (p: Progress) => void): Promise<RunStats> {
    return this.runner.run(load, onProgress);
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}

/** A worker thread holding one driver (its connections stay open between runs). */
class WorkerRunner implements LoadRunner {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (s: RunStats) => void; reject: (e: Error) => void; onProgress?: (p: Progress) => void }>();

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (msg: WorkerReply) => {
      if (msg.type === 'ready') return;
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      if (msg.type === 'progress') {
        p.onProgress?.(msg.progress);
        return;
      }
      this.pending.delete(msg.id);
      if (msg.type === 'done') p.resolve(msg.stats);
      else p.reject(new Error(msg.message));
    });
    worker.on('error', (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /** Starts the worker and its driver (connects, loads the module); rejects if the driver cannot start. */
  static async start(driver: DriverSpec): Promise<WorkerRunner> {
    const worker = new Worker(new URL('./load.worker.ts', import.meta.url), { workerData: driver });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: WorkerReply): void => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'failed') reject(new Error(msg.message));
      };
      worker.once('message', onMessage);
      worker.once('error', (err: Error) => reject(err));
      worker.once('exit', (code) => reject(new Error(`the load worker exited with code ${code} before it was ready`)));
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new WorkerRunner(worker);
  }

  run(load: LoadSpec, onProgress?: (p: Progress) => void): Promise<RunStats> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ type: 'run', id, load } satisfies WorkerCommand);
    });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' } satisfies WorkerCommand);
    // A driver that keeps a handle open (an ORT session, a socket) must not hang the benchmark.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
