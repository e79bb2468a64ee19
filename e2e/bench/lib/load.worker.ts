// The load worker: holds one driver and runs closed- or open-loop loads on command (see load.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { createDriver, errorKind, type Call } from './drivers.ts';
import type { ClosedLoad, DriverSpec, OpenLoad, RunStats, WorkerCommand, WorkerReply } from './load.ts';
import { quantile } from './result.ts';

const port = parentPort;
if (port === null) throw new Error('load.worker.ts runs only as a worker thread');
const post = (msg: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function finish(ok: number, errors: Record<string, number>, startMs: number, latencies: number[]): RunStats {
  const elapsedMs = nowMs() - startMs;
  const latenciesMs = Float64Array.from(latencies).sort();
  return { ok, errors, elapsedMs, throughput: (ok * 1000) / elapsedMs, latenciesMs };
}

async function closedLoop(call: Call, load: ClosedLoad): Promise<RunStats> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let seq = 0;
  const startMs = nowMs();
  const endMs = startMs + load.durationMs;
  const slot = async (): Promise<void> => {
    while (nowMs() < endMs) {
      const t0 = nowMs();
      try {
        await call(seq++);
        latencies.push(nowMs() - t0);
        ok++;
      } catch (err) {
        const kind = errorKind(err);
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, slot));
  return finish(ok, errors, startMs, latencies);
}

async function openLoop(call: Call, load: OpenLoad, id: number): Promise<RunStats> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let seq = 0;
  let inFlight = 0;
  const running = new Set<Promise<void>>();
  const intervalMs = 1000 / load.ratePerSec;
  const startMs = nowMs();
  const endMs = startMs + load.durationMs;
  let window: number[] = [];
  let windowOk = 0;
  let windowErrors = 0;
  let nextProgress = startMs + (load.progressEveryMs ?? Infinity);
  const fail = (kind: string): void => {
    errors[kind] = (errors[kind] ?? 0) + 1;
    windowErrors++;
  };
  const reportWindow = (atMs: number): void => {
    const sorted = Float64Array.from(window).sort();
    post({ type: 'progress', id, progress: { atMs, ok: windowOk, errors: windowErrors, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) } });
    window = [];
    windowOk = 0;
    windowErrors = 0;
  };
  const send = (dueMs: number): void => {
    if (inFlight >= load.maxInFlight) {
      fail('skipped_overload');
      return;
    }
    inFlight++;
    const p = call(seq).then(
      () => {
        const ms = nowMs() - dueMs;
        latencies.push(ms);
        window.push(ms);
        ok++;
        windowOk++;
      },
      (err: unknown) => fail(errorKind(err)),
    );
    const tracked = p.finally(() => {
      inFlight--;
      running.delete(tracked);
    });
    running.add(tracked);
  };
  while (true) {
    const now = nowMs();
    if (now >= endMs) break;
    // Every request due by now goes out, so timer coarseness bunches requests but never drops the rate.
    while (startMs + seq * intervalMs <= now) {
      send(startMs + seq * intervalMs);
      seq++;
    }
    if (now >= nextProgress) {
      reportWindow(now - startMs);
      nextProgress += load.progressEveryMs ?? Infinity;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(startMs + seq * intervalMs - nowMs(), 5))));
  }
  await Promise.all(running);
  // The last window also holds the answers that came back after the last request was sent.
  if (load.progressEveryMs !== undefined && windowOk + windowErrors > 0) reportWindow(nowMs() - startMs);
  return finish(ok, errors, startMs, latencies);
}

try {
  const driver = await createDriver(workerData as DriverSpec);
  port.on('message', (cmd: WorkerCommand) => {
    if (cmd.type === 'close') {
      void Promise.resolve(driver.close()).finally(() => port.close());
      return;
    }
    const run = cmd.load.mode === 'closed' ? closedLoop(driver.call, cmd.load) : openLoop(driver.call, cmd.load, cmd.id);
    run.then(
      (stats) => post({ type: 'done', id: cmd.id, stats }, [stats.latenciesMs.buffer as ArrayBuffer]),
      (err: unknown) => post({ type: 'failed', id: cmd.id, message: String(err) }),
    );
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', id: 0, message: err instanceof Error ? err.message : String(err) });
}
