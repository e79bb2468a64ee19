// Starts and stops the ingestion service as its own process (`node services/ingestion/dist/main.js`,
// or the staged harness for the profiled run) on ports and a database of the benchmark's own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { ROOT } from '../lib/result.ts';

// Below Linux's ephemeral range (32768-60999): 50152 was once held by one of the run's own client sockets and the service could not bind.
export const GRPC_PORT = 30152;
export const HTTP_PORT = 8152;
export const MAIN = path.join(ROOT, 'services', 'ingestion', 'dist', 'main.js');
export const STAGED_MAIN = path.join(import.meta.dirname, 'staged-main.ts');

export interface ServiceOptions {
  prefix: string;
  database: string;
  secret: string;
  artifactDir: string;
  logFile: string;
  /** Entry point: the service's own main.js (measured runs) or the staged harness (profiled run). */
  entry?: string;
  nodeArgs?: string[];
  extraEnv?: Record<string, string>;
}

export class ServiceProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  private constructor(child: ChildProcess, exited: Promise<number | null>) {
    this.child = child;
    this.exited = exited;
  }

  static async start(opts: ServiceOptions): Promise<ServiceProcess> {
    if ((await probe()) !== 'down') throw new Error(`something already answers on 127.0.0.1:${HTTP_PORT}; stop it (another benchmark run?) before running this one`);
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const log = openSync(opts.logFile, 'a');
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.entry ?? MAIN], {
      cwd: ROOT,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        GRPC_PORT: String(GRPC_PORT),
        HTTP_PORT: String(HTTP_PORT),
        AIO_DATABASE: opts.database,
        AIO_TOPIC_PREFIX: opts.prefix,
        AIO_AUTH_SECRET: opts.secret,
        AIO_ARTIFACT_DIR: opts.artifactDir,
        // Spans and logs are not shipped to the shared OpenSearch: the benchmark measures intake.
        AIO_TELEMETRY_EXPORT: 'none',
        LOG_LEVEL: 'warn',
        ...opts.extraEnv,
      },
    });
    closeSync(log);
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    const service = new ServiceProcess(child, exited);
    const deadline = Date.now() + 90_000;
    let dead = false;
    void exited.then(() => (dead = true));
    while ((await probe()) !== 'ready') {
      if (dead) throw new Error(`the ingestion service exited during start; see ${opts.logFile}`);
      if (Date.now() > deadline) {
        await service.stop();
        throw new Error(`the ingestion service was not ready within 90 s; see ${opts.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return service;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM (graceful: in-flight batch finishes, consumers leave their groups, a --cpu-prof profile is written); SIGKILL after 30 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function probe(): Promise<'ready' | 'up' | 'down'> {
  try {
    const res = await fetch(`http://127.0.0.1:${HTTP_PORT}/readyz`, { signal: AbortSignal.timeout(1_000) });
    return res.status === 200 ? 'ready' : 'up';
  } catch {
    return 'down';
  }
}
