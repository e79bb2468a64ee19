// Where the running gateway's main thread spends its time under the mlp-grpc or mlp-rest load: opens the
// gateway's inspector (SIGUSR1, as `node --inspect` would), samples its CPU over a closed-loop run with the
// Chrome DevTools protocol, closes the inspector again, and prints self time by area and by function.
// The .cpuprofile lands in .infra/bench/logs/ (open it in Chrome DevTools or speedscope). Needs the mesh
// up (`npm run up`) and the MLP deployed (any mlp-* benchmark deploys it). Inference workers are separate
// isolates: this is the main thread (transport, decoding, batching, answers), where the serving cost is.
// --heap samples allocations instead (HeapProfiler, collected objects included): bytes allocated per request
// by area and function, which is what sets how often the young generation is collected. --heap --tenured
// counts only what outlived a young-generation collection (collected by a full GC, or still alive): what
// grows the old generation and so sets how often the long mark-compact pauses come.
//   node e2e/bench/profile.ts [--transport grpc|rest] [--in-flight 64] [--seconds 8] [--heap [--tenured]]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { summariseHeapProfile, summariseProfile, type ProfileSummary } from './lib/profile.ts';
import { LoadGenerator, type DriverSpec } from './lib/load.ts';
import { mlpModel } from './lib/models.ts';
import { grpcInferBytes, MODEL_INFER_PATH, restInferBody, restInferPath } from './lib/oip.ts';
import { GATEWAY_GRPC, GATEWAY_HTTP, gatewayPid, Platform } from './lib/platform.ts';
import { ROOT } from './lib/result.ts';

const INSPECTOR = 'http://127.0.0.1:9229/json/list';

/** One Chrome DevTools protocol session over the inspector's WebSocket. */
class Devtools {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (p === undefined || msg.id === undefined) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }

  static async open(url: string): Promise<Devtools> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot open the inspector at ${url}`)), { once: true });
    });
    return new Devtools(ws);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the inspector did not answer ${method} within 30 s`));
      }, 30_000);
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        fn();
      };
      this.pending.set(id, { resolve: (v) => settle(() => resolve(v as T)), reject: (e) => settle(() => reject(e)) });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

async function inspectorUrl(pid: number): Promise<string> {
  process.kill(pid, 'SIGUSR1');
  for (let i = 0; i < 50; i++) {
    try {
      const targets = (await (await fetch(INSPECTOR)).json()) as { webSocketDebuggerUrl: string }[];
      if (targets[0] !== undefined) return targets[0].webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway (pid ${pid}) opened no inspector on 127.0.0.1:9229`);
}

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: 'grpc' },
    'in-flight': { type: 'string', default: '64' },
    seconds: { type: 'string', default: '8' },
    heap: { type: 'boolean', default: false },
    tenured: { type: 'boolean', default: false },
  },
});
const transport = values.transport === 'rest' ? 'rest' : 'grpc';
const inFlight = Number(values['in-flight']);
const durationMs = Number(values.seconds) * 1000;
const heap = values.heap;

const platform = await Platform.connect();
const model = mlpModel();
const driver: DriverSpec =
  transport === 'grpc'
    ? { kind: 'grpc', address: GATEWAY_GRPC, path: MODEL_INFER_PATH, requests: [grpcInferBytes(model)], metadata: platform.authMetadata }
    : { kind: 'rest', origin: GATEWAY_HTTP, requests: [{ path: restInferPath(model.name), body: restInferBody(model) }], headers: platform.authMetadata };
const generator = await LoadGenerator.start(driver);
process.stderr.write(`profiling the gateway's main thread under ${transport} load, ${inFlight} in flight\n`);
const devtools = await Devtools.open(await inspectorUrl(gatewayPid()));
try {
  await generator.run({ mode: 'closed', concurrency: inFlight, durationMs: 2000 });
  const dir = path.join(ROOT, '.infra', 'bench', 'logs');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `gateway-${transport}-${inFlight}.${heap ? 'heapprofile' : 'cpuprofile'}`);
  let stats;
  if (heap) {
    await devtools.send('HeapProfiler.enable');
    // Collected objects too: what matters for GC is everything allocated, not what is still alive (--tenured:
    // only what a young-generation collection did not free).
    await devtools.send('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !values.tenured });
    stats = await generator.run({ mode: 'closed', concurrency: inFlight, durationMs });
    const { profile } = await devtools.send<{ profile: unknown }>('HeapProfiler.stopSampling');
    await devtools.send('HeapProfiler.disable');
    writeFileSync(file, JSON.stringify(profile));
  } else {
    await devtools.send('Profiler.enable');
    await devtools.send('Profiler.setSamplingInterval', { interval: 200 });
    await devtools.send('Profiler.start');
    stats = await generator.run({ mode: 'closed', concurrency: inFlight, durationMs });
    const { profile } = await devtools.send<{ profile: unknown }>('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
  }
  const head = `gateway ${transport}, ${inFlight} in flight, ${durationMs / 1000} s profiled: ${stats.throughput.toFixed(0)} req/s`;
  const lines = heap ? heapLines(summariseHeapProfile(file, 25), head, stats.ok) : cpuLines(summariseProfile(file, 25), head);
  lines.push('', `profile: ${path.relative(ROOT, file)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await devtools.send('Runtime.evaluate', { expression: "process.getBuiltinModule('node:inspector').close()" }).catch(() => undefined);
  devtools.close();
  await generator.close();
  platform.close();
}

function cpuLines(summary: ProfileSummary, head: string): string[] {
  const busyMs = summary.areas.filter((a) => !a.area.startsWith('idle')).reduce((s, a) => s + a.ms, 0);
  return [
    `${head}; main thread busy ${((busyMs / summary.totalMs) * 100).toFixed(0)}%`,
    '',
    'self time by area (% of the profile):',
    ...summary.areas.map((a) => `  ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`),
    '',
    'top functions by self time:',
    ...summary.functions.map((f) => `  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`),
  ];
}

// A heap summary's "ms" are KiB (summariseHeapProfile).
function heapLines(summary: ProfileSummary, head: string, requests: number): string[] {
  const what = values.tenured ? 'allocated and tenured (outlived a young-generation GC)' : 'allocated';
  const perRequest = (kib: number): string => `${((kib * 1024) / Math.max(1, requests)).toFixed(0).padStart(6)} B/req`;
  return [
    `${head}; ${(summary.totalMs / 1024).toFixed(0)} MiB ${what} on the main thread, ${perRequest(summary.totalMs).trim()}`,
    '',
    'allocated by area:',
    ...summary.areas.map((a) => `  ${a.pct.toFixed(1).padStart(5)}%  ${perRequest(a.ms)}  ${a.area}`),
    '',
    'top allocating functions:',
    ...summary.functions.map((f) => `  ${f.pct.toFixed(1).padStart(5)}%  ${perRequest(f.ms)}  ${f.name}  ${f.where}`),
  ];
}
