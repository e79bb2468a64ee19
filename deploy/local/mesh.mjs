#!/usr/bin/env node
// The five services as local processes, on top of the local infrastructure:
//   node deploy/local/mesh.mjs up|down|status|start
// up: build (cached by turbo), infra up, the services detached, returns when every /readyz answers.
// down: the services, then the infrastructure. status: one table of every process and port.
// start: up, what is running, the lifecycle loop as a live demo (`aio demo`), the endpoints and a token;
// then keeps the platform running until Ctrl-C (which stops it).
// Services are components of infra.mjs (same pid files, logs, port checks, readiness wait, stop).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as infra from './infra.mjs';

const ROOT = infra.ROOT;

/** Default ports: ARCHITECTURE.md. */
export const SERVICES = [
  { name: 'registry', httpPort: 8101, grpcPort: 50051 },
  { name: 'ingestion', httpPort: 8102, grpcPort: 50052 },
  { name: 'trainer', httpPort: 8103, grpcPort: 50053 },
  { name: 'monitor', httpPort: 8104, grpcPort: 50054 },
  {
    name: 'inference-gateway',
    httpPort: 8000,
    grpcPort: 8001,
    extraPorts: [8002],
    env: { MALLOC_MMAP_THRESHOLD_: '131072' },
  },
];
// A service's `env` are defaults the caller's environment overrides. The gateway's
// MALLOC_MMAP_THRESHOLD_: glibc serves every allocation above 128 KiB with its own mmap and gives it back
// at free, instead of its default (a threshold that rises to 32 MiB after the first large free, so later
// batches and model sessions come from arenas that keep their pages): an unloaded model's memory
// (onnxruntime's session arena, batch buffers) returns to the OS. (Its V8 settings are its own code:
// services/inference-gateway/src/v8.flags.ts.)
// k8s/inference-gateway.yaml and the gateway's `npm start` run it the same way (deploy/local/test/mesh.test.mjs).

export const AUTH_SECRET_FILE = path.join(ROOT, '.infra', 'auth-secret');

/** The HS256 secret of the local default, created once (mode 600) and shared by services and `aio-token`. */
export function localAuthSecret() {
  if (!existsSync(AUTH_SECRET_FILE)) {
    mkdirSync(path.dirname(AUTH_SECRET_FILE), { recursive: true });
    writeFileSync(AUTH_SECRET_FILE, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(AUTH_SECRET_FILE, 'utf8').trim();
}

export function serviceComponent(svc, env = process.env) {
  const main = path.join(ROOT, 'services', svc.name, 'dist', 'main.js');
  return {
    name: svc.name,
    ports: [svc.httpPort, svc.grpcPort, ...(svc.extraPorts ?? [])],
    // Services are always ours; the variable names a remote deployment only for status output.
    endpointEnv: `AIO_${svc.name.toUpperCase().replace(/-/g, '_')}_URL`,
    defaultEndpoint: `http://127.0.0.1:${svc.httpPort}`,
    readyTimeoutMs: 90_000,
    prepare() {
      if (!existsSync(main)) throw new Error(`${path.relative(ROOT, main)} is missing: run \`npm run build\` first`);
    },
    spawnSpec() {
      return {
        command: process.execPath,
        args: ['--enable-source-maps', main],
        cwd: path.join(ROOT, 'services', svc.name),
        env: {
          ...svc.env,
          ...env,
          AIO_AUTH_SECRET: env.AIO_AUTH_SECRET ?? (env.AIO_AUTH_JWKS_URL ? undefined : localAuthSecret()),
          NODE_ENV: env.NODE_ENV ?? 'production',
        },
      };
    },
    async probe() {
      const res = await fetch(`http://127.0.0.1:${svc.httpPort}/readyz`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200;
    },
  };
}

const components = (env) => SERVICES.map((s) => serviceComponent(s, env));
const names = SERVICES.map((s) => s.name);

function build() {
  const res = spawnSync('turbo', ['run', 'build', '--output-logs=errors-only', '--filter=./services/*...', '--filter=@aio/cli...'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (res.status !== 0) throw new infra.InfraError('build failed (see above)');
}

/** Starts infra (unless external) and the services. Resolves to what this call started, per kind. */
export async function up({ env = process.env, skipBuild = false, withInfra = true } = {}) {
  if (!skipBuild) build();
  const startedInfra = withInfra ? await infra.up([], { env }) : [];
  const startedServices = await infra.up(names, { env, components: components(env) });
  return { infra: startedInfra, services: startedServices };
}

export async function down({ env = process.env, services = names, withInfra = true } = {}) {
  await infra.down(services, { components: components(env) });
  if (withInfra) await infra.down([]);
}

export async function statusRows(env = process.env) {
  return [...(await infra.status([], { env })), ...(await infra.status(names, { env, components: components(env) }))];
}

/** Runs the `aio` CLI (built with the services) in the foreground. */
function runCli(args) {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'libs', 'cli', 'dist', 'main.js'), ...args], { cwd: ROOT, stdio: 'inherit' });
  return res.status ?? 1;
}

function mintLocalToken() {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'libs', 'cli', 'dist', 'main.js'), 'token', '--subject', 'you', '--roles', 'admin'], { cwd: ROOT, encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : `(could not mint one: ${res.stderr.trim()})`;
}

function endpointsText() {
  const lines = [
    'Endpoints (local default):',
    '  registry           gRPC 127.0.0.1:50051  REST http://127.0.0.1:8101/v1',
    '  ingestion          gRPC 127.0.0.1:50052  REST http://127.0.0.1:8102/v1',
    '  trainer            gRPC 127.0.0.1:50053  REST http://127.0.0.1:8103/v1',
    '  monitor            gRPC 127.0.0.1:50054  REST http://127.0.0.1:8104/v1',
    '  inference-gateway  gRPC 127.0.0.1:8001   REST http://127.0.0.1:8000/v2  metrics http://127.0.0.1:8002/metrics',
    '  traces and logs    http://127.0.0.1:9200/traces-aio-*/_search, /logs-aio-*/_search',
    '',
    'Another token:                        npm run token -- --subject you --roles admin',
    'The CLI:                              npm run aio -- --help      (npm run demo replays the loop)',
    'Stop everything:                      npm run down',
  ];
  return lines.join('\n');
}

async function main(cmd, flags) {
  // --services: leave the infrastructure alone (the test runner owns it); --no-build: dist is fresh.
  const withInfra = !flags.includes('--services');
  const skipBuild = flags.includes('--no-build');
  switch (cmd) {
    case 'up':
      await up({ withInfra, skipBuild });
      process.stdout.write(`${infra.formatStatus(await statusRows())}\n`);
      return 0;
    case 'start': {
      await up({ withInfra, skipBuild });
      process.stdout.write(`\n${infra.formatStatus(await statusRows())}\n\n`);
      // The live demo: the whole lifecycle loop, step by step, on what just started.
      const demo = flags.includes('--no-demo') ? 0 : runCli(['demo']);
      process.stdout.write(`\n${endpointsText()}\n\nA token (admin, 12 h):\n${mintLocalToken()}\n`);
      if (demo !== 0) process.stderr.write('mesh: the demo did not finish (see above); the platform keeps running\n');
      if (flags.includes('--detach') || !process.stdin.isTTY) return demo;
      process.stdout.write('\nThe platform keeps running; Ctrl-C stops it (or leave it and run `npm run down` later).\n');
      // Ctrl-C reaches this process twice (from the terminal and through run.mjs): the first stops the
      // platform, later ones are ignored so the stop is not cut short.
      let stopping = false;
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise((resolve) =>
        process.on('SIGINT', () => {
          if (!stopping) resolve();
          stopping = true;
        }),
      );
      clearInterval(keepAlive);
      process.stdout.write('\nstopping...\n');
      await down({ withInfra });
      return demo;
    }
    case 'down':
      await down({ withInfra });
      return 0;
    case 'status':
      process.stdout.write(`${infra.formatStatus(await statusRows())}\n`);
      return 0;
    default:
      process.stderr.write('usage: node deploy/local/mesh.mjs up|down|status|start [--services] [--no-build] [--no-demo] [--detach]\n');
      return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = await main(process.argv[2], process.argv.slice(3));
  } catch (err) {
    process.stderr.write(`mesh: ${err instanceof infra.InfraError ? err.message : (err?.stack ?? err)}\n`);
    process.exitCode = 1;
  }
}
