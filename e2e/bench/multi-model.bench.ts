// multi-model: many small models in one gateway — what each loaded model costs in memory, how long a
// cold load takes (deploy -> ModelReady), and throughput when requests spread over all of them.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildServer } from './lib/child.ts';
import { runAlone, type Benchmark } from './lib/context.ts';
import { round, sideBySide } from './lib/measure.ts';
import { smallModels } from './lib/models.ts';
import { grpcInferBytes, grpcRawCall, MODEL_INFER_PATH } from './lib/oip.ts';
import { log } from './lib/options.ts';
import { BENCH_BATCHING, describeBatching, GATEWAY_GRPC, gatewayPid } from './lib/platform.ts';
import { MiB, settledRss } from './lib/memory.ts';
import { median, quantile, type Row } from './lib/result.ts';
import type { PoolMemory } from './multi-model/pool-memory.ts';

export const MODEL_COUNT = 50;
const IN_FLIGHT = 64;
// Lets freed memory and finished loads settle before RSS is read.
const SETTLE_MS = 3000;
/** The running gateway's glibc malloc settings (MALLOC_*_ variables; the mesh sets MALLOC_MMAP_THRESHOLD_). */
function gatewayMallocEnv(): Record<string, string> {
  const vars = readFileSync(`/proc/${gatewayPid()}/environ`, 'utf8').split('\0');
  return Object.fromEntries(vars.filter((v) => v.startsWith('MALLOC_')).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
}

/** multi-model/pool-memory.ts in a fresh process (with the gateway's malloc settings): the models' memory where nothing else moves RSS. */
function poolMemory(workers: number, files: string[]): PoolMemory {
  const script = fileURLToPath(new URL('./multi-model/pool-memory.ts', import.meta.url));
  const out = execFileSync(process.execPath, [script, String(workers), ...files], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
    env: { ...process.env, ...gatewayMallocEnv() },
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as PoolMemory;
}

export const multiModel: Benchmark = {
  id: 'multi-model',
  title: `${MODEL_COUNT} small models in one gateway`,
  async run(ctx) {
    const { platform } = ctx;
    const models = smallModels(MODEL_COUNT);
    const versions: number[] = [];
    for (const m of models) versions.push(await platform.register(m));
    log(`  ${models.length} models registered; unloading any that a previous run left loaded`);
    // Every model starts unloaded, so each deploy below is a cold load and the RSS difference is theirs.
    for (const [i, m] of models.entries()) {
      if (await platform.isReady(m.name, versions[i] as number)) await platform.unload(m.name, versions[i] as number);
    }
    const pid = gatewayPid();
    const before = await settledRss(pid, SETTLE_MS, 200);
    const rssBefore = before.median;
    const loadMs: number[] = [];
    for (const [i, m] of models.entries()) loadMs.push(await platform.deploy(m.name, versions[i] as number));
    const after = await settledRss(pid, SETTLE_MS, 200);
    const rssAfter = after.median;
    const noiseMiB = Math.max(before.spread, after.spread) / MiB;
    const perModelMiB = (rssAfter - rssBefore) / MiB / models.length;
    log(`  cold loads: median ${round(median(loadMs))} ms; RSS ${round(rssBefore / MiB)} -> ${round(rssAfter / MiB)} MiB (${round(perModelMiB, 2)} MiB per model)`);
    // The models' cached files (lib/models.ts writes each once).
    const pool = poolMemory(ctx.gatewayWorkers, models.map((m) => m.file));
    const poolPerModelMiB = (pool.rssAll - pool.rssFirst) / MiB / (pool.models - 1);
    log(`  fresh worker pool (${pool.workers} workers): ${round(poolPerModelMiB, 3)} MiB per loaded model`);

    const requests = models.map((m) => grpcInferBytes(m));
    const responseFile = path.join(ctx.workDir, 'multi-model.response.bin');
    writeFileSync(responseFile, await grpcRawCall(GATEWAY_GRPC, requests[0] as Uint8Array, platform.authMetadata));
    const bare = await startChildServer(new URL('./baselines/grpc.server.ts', import.meta.url), [responseFile]);
    let throughput: Row[];
    try {
      const grpc = (address: string, reqs: Uint8Array[]) => ({ kind: 'grpc' as const, address, path: MODEL_INFER_PATH, requests: reqs, metadata: platform.authMetadata });
      throughput = await sideBySide(
        [
          { system: `gateway, spread over ${models.length} models`, role: 'subject', concurrency: IN_FLIGHT, driver: grpc(GATEWAY_GRPC, requests) },
          { system: 'gateway, one model', role: 'subject', concurrency: IN_FLIGHT, driver: grpc(GATEWAY_GRPC, requests.slice(0, 1)) },
          { system: 'bare grpc-js', role: 'baseline', concurrency: IN_FLIGHT, driver: grpc(`127.0.0.1:${bare.port}`, requests.slice(0, 1)) },
        ],
        ctx.opts,
      );
    } finally {
      await bare.stop();
      // The benchmarks after this one measure a gateway without these models loaded (their deployments stay in the registry).
      for (const [i, m] of models.entries()) await platform.unload(m.name, versions[i] as number).catch((err: unknown) => log(`  could not unload ${m.name}: ${String(err)}`));
    }
    const sortedLoads = Float64Array.from(loadMs).sort();
    const rows: Row[] = [
      {
        system: 'gateway cold load (SetDeployment → ModelReady)',
        role: 'subject',
        metric: 'ms',
        runs: loadMs.map((ms) => round(ms)),
        median: round(median(loadMs)),
        p50Ms: round(quantile(sortedLoads, 0.5), 1),
        p90Ms: round(quantile(sortedLoads, 0.9), 1),
        p99Ms: round(quantile(sortedLoads, 0.99), 1),
        errors: 0,
        extra: { max: round(sortedLoads.at(-1) ?? Number.NaN), models: models.length },
      },
      {
        system: `memory per loaded model (fresh process, the gateway's worker pool, ${pool.workers} workers)`,
        role: 'subject',
        metric: 'MiB',
        runs: [round(poolPerModelMiB, 3)],
        median: round(poolPerModelMiB, 3),
        errors: 0,
        extra: {
          'RSS, first model (MiB)': round(pool.rssFirst / MiB, 1),
          [`RSS, all ${pool.models} (MiB)`]: round(pool.rssAll / MiB, 1),
          'RSS noise (MiB)': round(pool.noise / MiB, 3),
          'model file (KiB)': round((models[0]?.bytes.length ?? 0) / 1024, 1),
        },
      },
      {
        system: 'gateway RSS change per loaded model (the running gateway; a lower bound)',
        role: 'subject',
        metric: 'MiB',
        runs: [round(perModelMiB, 3)],
        median: round(perModelMiB, 3),
        errors: 0,
        extra: { 'RSS before (MiB)': round(rssBefore / MiB), 'RSS after (MiB)': round(rssAfter / MiB), 'RSS noise (MiB)': round(noiseMiB, 2) },
      },
      ...throughput,
    ];
    const spread = throughput[0];
    const one = throughput[1];
    return {
      id: 'multi-model',
      title: `${models.length} small models in one gateway`,
      setup:
        `${models.length} distinct MLPs 16→32→4 (\`bench-small-00\`..\`-${String(models.length - 1).padStart(2, '0')}\`, ${models[0]?.params} parameters each, own seed so ` +
        `each is its own artifact), registered and deployed through the registry one after another with batching (${describeBatching(BENCH_BATCHING)}). ` +
        'Before deploying, every one is unloaded (RepositoryModelUnload) so each deploy is a cold load: SetDeployment → Kafka DeploymentChanged → ' +
        `the gateway resolves the version, opens it in each of its ${ctx.gatewayWorkers} workers and warms it → ModelReady true (polled every 10 ms). ` +
        'Memory per loaded model is measured where nothing else moves RSS: a fresh process runs the gateway\'s own WorkerPool ' +
        `(multi-model/pool-memory.ts, ${ctx.gatewayWorkers} workers and the malloc settings the gateway has), loads and runs the first model, reads VmRSS, then loads and runs ` +
        `the other ${models.length - 1} once each and reads it again: (after - before) / ${models.length - 1}. The running gateway's own VmRSS ` +
        `${SETTLE_MS / 1000} s after the last unload and after the last load is reported too. Throughput: closed loop, ${IN_FLIGHT} in flight, the ${models.length} requests (one per model, raw contents, batch 1) in turn.`,
      rows,
      targets: [],
      notes:
        `Spread over ${models.length} models the gateway made ${spread?.median} req/s against ${one?.median} req/s on one model ` +
        `(${round(((spread?.median ?? 0) / (one?.median ?? 1)) * 100)}%). ` +
        `A loaded model of ${round((models[0]?.bytes.length ?? 0) / 1024, 1)} KiB costs ${round(poolPerModelMiB, 3)} MiB in ${pool.workers} workers ` +
        `(${round(poolPerModelMiB / pool.workers, 3)} MiB per worker): an onnxruntime session's own structures, not its weights, dominate at this size. ` +
        'The running gateway\'s RSS change is only a lower bound: RSS before the loads holds what earlier loads of the same models (and the other ' +
        'benchmarks) left in the allocator, which the new sessions reuse without growing RSS' +
        (Math.abs(rssAfter - rssBefore) / MiB <= noiseMiB ? ` (here ${round((rssAfter - rssBefore) / MiB, 2)} MiB for all ${models.length}, within its ${round(noiseMiB, 2)} MiB noise).` : '.'),
    };
  },
};

if (import.meta.main) await runAlone(multiModel);
