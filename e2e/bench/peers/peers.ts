// Peer servers and Triton's load generator, run from the venvs that setup.sh makes:
//   startMlserver()   MLServer 1.7 + mlserver_onnx_runtime.py (OIP v2 REST + gRPC, adaptive batching)
//   startRayServe()   Ray Serve 2.60 + ray_serve.py (OIP v2 REST JSON + gRPC proxy, @serve.batch)
//   runPerfAnalyzer() Triton's perf_analyzer against any OIP v2 server that answers ModelConfig
//   quickRestLoad()   a small closed-loop REST check (smoke tests only; the benchmarks use lib/load.ts)
// Each server is its own session/process group (spawned detached), logs to a file, is ready when
// GET /v2/models/{name}/ready answers 200, and stop() ends it: SIGTERM to its main process (both shut
// down their workers), then SIGKILL to whatever of its session is left (Ray's actors have process
// groups of their own, not sessions). Node built-ins only; erasable TypeScript (Node 24 type stripping).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { quantile, ROOT } from '../lib/result.ts';

const HERE = import.meta.dirname;

/** Where setup.sh put the venvs (mlserver/, ray/, perf/). */
export function venvDir(): string {
  return process.env.AIO_BENCH_VENV ?? path.join(ROOT, '.infra', 'bench', 'venv');
}

function logDir(): string {
  const dir = process.env.AIO_BENCH_PEER_LOGS ?? path.join(ROOT, '.infra', 'bench', 'logs');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A free TCP port on 127.0.0.1 (the OS's pick; closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PeerProcess {
  /** e.g. "MLServer 1.7.1" */
  system: string;
  /** OIP v2 REST origin, e.g. http://127.0.0.1:18080 */
  restUrl: string;
  /** OIP v2 gRPC host:port, when the peer serves gRPC. */
  grpcAddress?: string;
  pid: number;
  logFile: string;
  /** The settings it runs with, for the report's notes. */
  settings: Record<string, string | number>;
  stop(): Promise<void>;
}

export interface MlserverOptions {
  model: string;
  name: string;
  /** More models in the same server (same batching and threads). */
  moreModels?: { model: string; name: string }[];
  httpPort?: number;
  grpcPort?: number;
  /** Adaptive batching: requests per batch (1 turns batching off). Default 64. */
  maxBatchSize?: number;
  /** Adaptive batching: longest wait for a batch to fill, ms. Default 1. */
  maxBatchDelayMs?: number;
  /** onnxruntime intra-op threads per session. Default 1 (as the gateway's workers). */
  threads?: number;
  /** MLServer parallel_workers (inference processes). Default 2 (the gateway's default on 2 cores). */
  workers?: number;
  readyTimeoutMs?: number;
  logFile?: string;
}

export async function startMlserver(o: MlserverOptions): Promise<PeerProcess> {
  const httpPort = o.httpPort ?? (await freePort());
  const grpcPort = o.grpcPort ?? (await freePort());
  const settings = {
    max_batch_size: o.maxBatchSize ?? 64,
    max_batch_time_s: (o.maxBatchDelayMs ?? 1) / 1000,
    threads: o.threads ?? 1,
    parallel_workers: o.workers ?? 2,
  };
  const workdir = mkdtempSync(path.join(os.tmpdir(), `mlserver-${o.name}-`));
  const args = [
    path.join(HERE, 'mlserver_serve.py'),
    ...[{ model: o.model, name: o.name }, ...(o.moreModels ?? [])].flatMap((m) => ['--model', path.resolve(m.model), '--name', m.name]),
    ...['--http-port', String(httpPort), '--grpc-port', String(grpcPort)],
    ...['--max-batch-size', String(settings.max_batch_size), '--max-batch-time', String(settings.max_batch_time_s)],
    ...['--threads', String(settings.threads), '--workers', String(settings.parallel_workers), '--workdir', workdir],
  ];
  const logFile = o.logFile ?? path.join(logDir(), `mlserver-${o.name}-${httpPort}.log`);
  const restUrl = `http://127.0.0.1:${httpPort}`;
  const child = spawnLogged(path.join(venvDir(), 'mlserver', 'bin', 'python'), args, logFile);
  const stopServer = stopper(child, 20_000);
  const stop = async (): Promise<void> => {
    await stopServer();
    rmSync(workdir, { recursive: true, force: true });
  };
  for (const m of [o.name, ...(o.moreModels ?? []).map((x) => x.name)]) {
    await waitReady(child, `${restUrl}/v2/models/${encodeURIComponent(m)}/ready`, logFile, o.readyTimeoutMs ?? 120_000, stop);
  }
  return { system: `MLServer ${pythonVersionOf('mlserver', 'mlserver')}`, restUrl, grpcAddress: `127.0.0.1:${grpcPort}`, pid: child.pid as number, logFile, settings, stop };
}

export interface RayServeOptions {
  model: string;
  name: string;
  port?: number;
  /** Serve's gRPC proxy port (OIP v2 GRPCInferenceService); default a free port, 0 = no gRPC. */
  grpcPort?: number;
  /** @serve.batch max_batch_size (requests). Default 64. */
  maxBatchSize?: number;
  /** @serve.batch batch_wait_timeout_s, in ms. Default 1. */
  maxBatchDelayMs?: number;
  threads?: number;
  /** Serve replicas (processes), 1 logical CPU each. Default 2. */
  replicas?: number;
  /** Ray's logical CPUs. Default max(2, replicas). */
  numCpus?: number;
  readyTimeoutMs?: number;
  logFile?: string;
}

export async function startRayServe(o: RayServeOptions): Promise<PeerProcess> {
  const port = o.port ?? (await freePort());
  const grpcPort = o.grpcPort ?? (await freePort());
  const rayTemp = `/tmp/ray-aio-${port}`;
  const replicas = o.replicas ?? 2;
  const settings = {
    max_batch_size: o.maxBatchSize ?? 64,
    batch_wait_timeout_s: (o.maxBatchDelayMs ?? 1) / 1000,
    threads: o.threads ?? 1,
    replicas,
    num_cpus: o.numCpus ?? Math.max(2, replicas),
  };
  const args = [
    path.join(HERE, 'ray_serve.py'),
    ...['--model', path.resolve(o.model), '--name', o.name, '--port', String(port), '--grpc-port', String(grpcPort)],
    ...['--max-batch-size', String(settings.max_batch_size), '--batch-wait-timeout', String(settings.batch_wait_timeout_s)],
    ...['--threads', String(settings.threads), '--replicas', String(replicas), '--num-cpus', String(settings.num_cpus)],
    ...['--temp-dir', rayTemp],
  ];
  const logFile = o.logFile ?? path.join(logDir(), `ray-${o.name}-${port}.log`);
  const restUrl = `http://127.0.0.1:${port}`;
  const child = spawnLogged(path.join(venvDir(), 'ray', 'bin', 'python'), args, logFile);
  const stopServer = stopper(child, 30_000);
  const stop = async (): Promise<void> => {
    await stopServer();
    // Ray's session logs (rayTemp/session_latest/logs) go with it unless AIO_BENCH_KEEP_RAY_LOGS is set.
    if (!process.env.AIO_BENCH_KEEP_RAY_LOGS) rmSync(rayTemp, { recursive: true, force: true });
  };
  await waitReady(child, `${restUrl}/v2/models/${encodeURIComponent(o.name)}/ready`, logFile, o.readyTimeoutMs ?? 180_000, stop);
  const grpcAddress = grpcPort ? `127.0.0.1:${grpcPort}` : undefined;
  return { system: `Ray Serve ${pythonVersionOf('ray', 'ray')}`, restUrl, grpcAddress, pid: child.pid as number, logFile, settings, stop };
}

export interface PerfAnalyzerOptions {
  /** host:port (a scheme is dropped): gRPC (Triton 8001) or HTTP (Triton 8000). */
  url: string;
  protocol: 'grpc' | 'http';
  model: string;
  /** -x: the model version. A server whose statistics list versions ("1") while the request names none
   *  (the AIO gateway) needs it, or perf_analyzer stops with "failed to find the requested model version". */
  modelVersion?: string;
  /** Per input, the request shape with the batch dim, e.g. { x: [1, 64] }. */
  shape?: Record<string, number[]>;
  concurrency: number;
  /** Length of one measurement window, s (perf_analyzer repeats windows until stable, --max-trials at most). */
  seconds: number;
  /** Request headers (-H "name: value"), e.g. the gateway's authorization. perf_analyzer 2.51 sends them on
   *  every HTTP call but not on gRPC ModelMetadata, so an authenticated gRPC server stops it there. */
  headers?: Record<string, string>;
  /** HTTP tensor encoding (--input/--output-tensor-format). Default json: the OIP v2 JSON every peer speaks
   *  (MLServer's REST has no binary tensor extension); binary is Triton's extension. gRPC ignores it. */
  tensorFormat?: 'json' | 'binary';
  /** Extra perf_analyzer flags. */
  extraArgs?: string[];
  timeoutMs?: number;
}

export interface PerfAnalyzerResult {
  /** infer/s (requests/s at batch 1) in the stable windows; NaN when perf_analyzer measured nothing. */
  throughput: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  avgMs: number;
  /** Error lines perf_analyzer printed (a failed request, an RPC it could not make...). */
  errors: string[];
  exitCode: number | null;
  /** Its stdout + stderr. */
  raw: string;
  csv: string;
}

export async function runPerfAnalyzer(o: PerfAnalyzerOptions): Promise<PerfAnalyzerResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perf-analyzer-'));
  const csvFile = path.join(dir, 'out.csv');
  const args = [
    ...['-m', o.model, '-u', o.url.replace(/^[a-z]+:\/\//, ''), '-i', o.protocol],
    ...(o.modelVersion ? ['-x', o.modelVersion] : []),
    ...Object.entries(o.shape ?? {}).flatMap(([name, dims]) => ['--shape', `${name}:${dims.join(',')}`]),
    ...['--concurrency-range', String(o.concurrency), '--measurement-interval', String(Math.round(o.seconds * 1000)), '-f', csvFile],
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    ...(o.protocol === 'http' ? ['--input-tensor-format', o.tensorFormat ?? 'json', '--output-tensor-format', o.tensorFormat ?? 'json'] : []),
    ...(o.extraArgs ?? []),
  ];
  const env = { ...process.env, AIO_BENCH_VENV: venvDir() };
  const child = spawn('bash', [path.join(HERE, 'perf_analyzer.sh'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
  let raw = '';
  child.stdout?.on('data', (b: Buffer) => (raw += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (raw += b.toString()));
  const timeoutMs = o.timeoutMs ?? Math.max(60_000, o.seconds * 1000 * 12 + 30_000);
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => killGroup(child.pid as number, 'SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const csv = existsSync(csvFile) ? readFileSync(csvFile, 'utf8') : '';
  rmSync(dir, { recursive: true, force: true });
  const errors = raw.split('\n').filter((l) => /error|failed/i.test(l)).map((l) => l.trim());
  return { ...parsePerfCsv(csv), avgMs: avgLatencyMs(raw), errors, exitCode, raw, csv };
}

/** perf_analyzer's -f CSV: header "Concurrency,Inferences/Second,...,p50 latency,p90 latency,p95 latency,p99 latency" (µs). */
export function parsePerfCsv(csv: string): Pick<PerfAnalyzerResult, 'throughput' | 'p50Ms' | 'p90Ms' | 'p95Ms' | 'p99Ms'> {
  const lines = csv.trim().split('\n').filter(Boolean);
  const none = { throughput: Number.NaN, p50Ms: Number.NaN, p90Ms: Number.NaN, p95Ms: Number.NaN, p99Ms: Number.NaN };
  if (lines.length < 2) return none;
  const head = (lines[0] as string).split(',');
  const row = (lines[1] as string).split(',');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    return i < 0 ? Number.NaN : Number(row[i]);
  };
  return {
    throughput: col('Inferences/Second'),
    p50Ms: col('p50 latency') / 1000,
    p90Ms: col('p90 latency') / 1000,
    p95Ms: col('p95 latency') / 1000,
    p99Ms: col('p99 latency') / 1000,
  };
}

function avgLatencyMs(raw: string): number {
  const m = /Avg latency: (\d+) usec/.exec(raw);
  return m ? Number(m[1]) / 1000 : Number.NaN;
}

export interface QuickLoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

/** Closed loop: `concurrency` keep-alive sockets, each POSTing `body` again as soon as it has its answer. */
export async function quickRestLoad(o: { url: string; body: Uint8Array; concurrency: number; seconds: number }): Promise<QuickLoadResult> {
  const target = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const end = performance.now() + o.seconds * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': o.body.length } },
        (res) => {
          let size = 0;
          res.on('data', (b: Buffer) => (size += b.length));
          res.on('end', () => {
            if (res.statusCode === 200 && size > 0) latencies.push(performance.now() - t0);
            else {
              errors++;
              firstError ??= `HTTP ${res.statusCode}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        errors++;
        firstError ??= err.message;
        resolve();
      });
      req.end(o.body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, rps: latencies.length / elapsed, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), firstError };
}

// ---- process handling

function spawnLogged(cmd: string, args: string[], logFile: string): ChildProcess {
  if (!existsSync(cmd)) throw new Error(`${cmd} not found: run e2e/bench/peers/setup.sh`);
  const fd = openSync(logFile, 'a');
  try {
    // detached: setsid(), so pid = its process group = its session; stop() finds everything it started.
    return spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  } finally {
    closeSync(fd);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/** Processes whose session id is `sid` (field 6 of /proc/PID/stat). */
function sessionMembers(sid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sid) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

function stopper(child: ChildProcess, graceMs: number): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      const pid = child.pid as number;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        await Promise.race([exited, sleep(graceMs)]);
      }
      // Whatever of its session is left (MLServer workers, Ray's raylet/gcs/actors), by pid.
      for (let i = 0; i < 50; i++) {
        const left = sessionMembers(pid);
        if (left.length === 0) return;
        for (const p of left) {
          try {
            process.kill(p, i === 0 ? 'SIGTERM' : 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await sleep(i === 0 ? 2000 : 100);
      }
    })());
}

async function waitReady(child: ChildProcess, url: string, logFile: string, timeoutMs: number, stop: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${url}: the server exited before it was ready; log ${logFile}:\n${tail(logFile)}`);
    if ((await httpStatus(url)) === 200) return;
    await sleep(250);
  }
  await stop();
  throw new Error(`${url}: not ready after ${timeoutMs} ms; log ${logFile}:\n${tail(logFile)}`);
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A package's version from its dist-info folder in a venv (no Python started). */
function pythonVersionOf(venv: string, pkg: string): string {
  const site = path.join(venvDir(), venv, 'lib');
  try {
    for (const py of readdirSync(site)) {
      const dir = path.join(site, py, 'site-packages');
      const hit = readdirSync(dir).find((d) => d.toLowerCase().startsWith(`${pkg}-`) && d.endsWith('.dist-info'));
      if (hit) return hit.slice(pkg.length + 1, -'.dist-info'.length);
    }
  } catch {
    /* no venv */
  }
  return '?';
}
