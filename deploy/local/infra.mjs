#!/usr/bin/env node
// Local infrastructure (Kafka, FerretDB, OpenSearch) as real processes on 127.0.0.1, cached under .infra/.
//   node deploy/local/infra.mjs up|down|status [component...]      (status --json prints the rows as JSON)
// Also a library: `import { up, down, status } from './infra.mjs'` (the test runner and mesh.mjs use it).
//
// Each component is deploy/local/<name>/component.mjs (see README.md for the contract). up() starts every
// component concurrently: prepare() runs in a worker thread so a slow synchronous build of one component
// (FerretDB's first Go compile) cannot stall the readiness probes of the others.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
/** Known components, in start/print order. Only those whose folder exists are loaded. */
export const COMPONENT_NAMES = ['kafka', 'ferretdb', 'opensearch'];

const STOP_GRACE_MS = 20_000;
const KILL_WAIT_MS = 5_000;
const PROBE_INTERVAL_MS = 500;
const PROBE_CALL_TIMEOUT_MS = 10_000;
const LOCK_WAIT_MS = 30 * 60_000;
const LOG_TAIL_LINES = 40;

export class InfraError extends Error {}

// ---------------------------------------------------------------------------------------------------------
// Paths and component loading

/** Where a component keeps its files. Everything lives under <root>/.infra. */
export function componentPaths(name, root = ROOT) {
  const infra = path.join(root, '.infra');
  return {
    dir: path.join(infra, name),
    dataDir: path.join(infra, name, 'data'),
    logFile: path.join(infra, 'logs', `${name}.log`),
    pidFile: path.join(infra, 'run', `${name}.pid`),
    lockFile: path.join(infra, 'run', `${name}.lock`),
  };
}

function validateComponent(comp, where) {
  const problems = [];
  if (!comp || typeof comp !== 'object') problems.push('no default export object');
  else {
    if (typeof comp.name !== 'string' || !comp.name) problems.push('name');
    if (!Array.isArray(comp.ports) || comp.ports.some((p) => !Number.isInteger(p))) problems.push('ports');
    if (typeof comp.endpointEnv !== 'string') problems.push('endpointEnv');
    if (typeof comp.defaultEndpoint !== 'string') problems.push('defaultEndpoint');
    for (const fn of ['prepare', 'spawnSpec', 'probe']) if (typeof comp[fn] !== 'function') problems.push(`${fn}()`);
  }
  if (problems.length) throw new InfraError(`${where} does not follow the component contract: ${problems.join(', ')}`);
  return comp;
}

/**
 * Loads the component modules, in COMPONENT_NAMES order. With names, exactly those (unknown or missing
 * folders are errors); without, every known component whose folder exists.
 */
export async function loadComponents(names = [], { here = HERE } = {}) {
  for (const n of names) {
    if (!COMPONENT_NAMES.includes(n)) {
      throw new InfraError(`unknown component "${n}": expected one of ${COMPONENT_NAMES.join(', ')}`);
    }
  }
  const wanted = names.length ? COMPONENT_NAMES.filter((n) => names.includes(n)) : COMPONENT_NAMES;
  const loaded = [];
  for (const name of wanted) {
    const file = path.join(here, name, 'component.mjs');
    if (!existsSync(file)) {
      if (names.length) throw new InfraError(`component "${name}" is not available: ${file} does not exist`);
      continue;
    }
    let mod;
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (err) {
      throw new InfraError(`cannot load ${path.relative(ROOT, file)}: ${err.message}`);
    }
    const comp = validateComponent(mod.default, path.relative(ROOT, file));
    if (comp.name !== name) throw new InfraError(`${file} exports name "${comp.name}", expected "${name}"`);
    loaded.push({ comp, moduleUrl: pathToFileURL(file).href });
  }
  return loaded;
}

/** The endpoint the user configured for a component, when it is not ours (then nothing local starts). */
export function externalEndpoint(comp, env = process.env) {
  const value = env[comp.endpointEnv]?.trim();
  return value && value !== comp.defaultEndpoint ? value : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Processes, pid files, ports

/** Kernel start time of a process (clock ticks since boot), or undefined where /proc is unavailable. */
function procStartTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return 'zombie';
    return fields[19];
  } catch {
    return undefined;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Whether any process of the process group led by pid is still there. */
function groupAlive(pgid) {
  return signal(-pgid, 0);
}

/** The pid file is "<pid> <starttime>": the start time guards against a recycled pid. */
export function readPidFile(pidFile) {
  let text;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = text.trim().split(/\s+/);
  const n = Number(pid);
  return Number.isInteger(n) && n > 1 ? { pid: n, start } : undefined;
}

function writePidFile(pidFile, pid) {
  mkdirSync(path.dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${pid} ${procStartTime(pid) ?? ''}\n`);
}

/** Our process (group) from a pid file, if it is still alive. */
function liveProcess(pidFile) {
  const rec = readPidFile(pidFile);
  if (!rec) return { rec: undefined, alive: false };
  const start = procStartTime(rec.pid);
  if (start === 'zombie') return { rec, alive: groupAlive(rec.pid) };
  if (start !== undefined) {
    // Leader alive: ours only if it is the same process (same start time).
    if (!rec.start || start === rec.start) return { rec, alive: true };
    return { rec, alive: false };
  }
  // Leader gone; group members left behind are still ours (a pgid cannot be reused while it exists).
  return { rec, alive: groupAlive(rec.pid) };
}

/** Resolves true when nothing listens on host:port (we can bind it ourselves). */
export function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Best effort "pid/name" of the process listening on a TCP port: `ss -ltnp`, else a /proc scan. */
export function portHolder(port) {
  const ss = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  if (!ss.error && ss.status === 0) {
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(ss.stdout);
    if (m) return describePid(Number(m[2]), m[1]);
  }
  return portHolderFromProc(port);
}

function describePid(pid, name) {
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    /* gone or not ours to read */
  }
  if (cmd.length > 160) cmd = `${cmd.slice(0, 157)}...`;
  return `pid ${pid} (${cmd || name || 'unknown'})`;
}

function portHolderFromProc(port) {
  const inodes = new Set();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address "IP:PORT", f[3] state (0A = LISTEN), f[9] inode
      if (f.length > 9 && f[3] === '0A' && f[1].endsWith(`:${hexPort}`)) inodes.add(f[9]);
    }
  }
  if (!inodes.size) return undefined;
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return describePid(Number(pid));
      } catch {
        /* fd closed meanwhile */
      }
    }
  }
  return 'a process this user cannot inspect';
}

/** Throws naming every busy port and who holds it. */
export async function assertPortsFree(comp) {
  const busy = [];
  for (const port of comp.ports) {
    if (!(await portFree(port))) {
      const holder = portHolder(port);
      busy.push(`127.0.0.1:${port} is in use${holder ? ` by ${holder}` : ''}`);
    }
  }
  if (busy.length) {
    throw new InfraError(
      `cannot start: ${busy.join('; ')}. Stop that process, or point ${comp.endpointEnv} at ` +
        `the server you already run.`,
    );
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(file, lines = LOG_TAIL_LINES) {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    closeSync(fd);
    return buf.toString('utf8').split('\n').filter((l, i, all) => l || i < all.length - 1).slice(-lines).join('\n');
  } catch {
    return '(no log output)';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An exclusive per-component lock so two concurrent `up`s (e.g. parallel test runners) start one server. */
async function withLock(paths, name, report, fn) {
  mkdirSync(path.dirname(paths.lockFile), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(paths.lockFile, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(paths.lockFile, 'utf8').trim());
      if (!owner || owner === process.pid || !signal(owner, 0)) {
        rmSync(paths.lockFile, { force: true }); // its owner died
        continue;
      }
      if (!told) report(name, `waiting for another infra.mjs (pid ${owner}) that is starting ${name}`);
      told = true;
      if (Date.now() > deadline) throw new InfraError(`gave up waiting for pid ${owner} to finish starting it`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(paths.lockFile, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reporting: prefixed lines; on a TTY one "waiting" line redrawn in place, else a line every 10 s.

class Reporter {
  constructor(stream = process.stderr) {
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
    this.waiting = new Map(); // name -> start ms
    this.timer = undefined;
    this.statusShown = false;
  }

  line = (name, msg) => {
    this.clearStatus();
    this.stream.write(`${name ? `[${name}] ` : ''}${msg}\n`);
    this.drawStatus();
  };

  startWaiting(name) {
    this.waiting.set(name, Date.now());
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tty ? 1000 : 10_000);
      this.timer.unref();
    }
  }

  stopWaiting(name) {
    this.waiting.delete(name);
    if (!this.waiting.size) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.clearStatus();
    }
  }

  tick() {
    if (this.tty) return this.drawStatus();
    for (const [name, t0] of this.waiting) this.line(name, `waiting for readiness... ${secs(t0)}s`);
  }

  drawStatus() {
    if (!this.tty || !this.waiting.size) return;
    const parts = [...this.waiting].map(([n, t0]) => `${n} ${secs(t0)}s`);
    this.stream.write(`\r\x1b[2K  waiting for: ${parts.join(' · ')} ${'.'.repeat((Date.now() / 1000) % 4 | 0)}`);
    this.statusShown = true;
  }

  clearStatus() {
    if (this.statusShown) this.stream.write('\r\x1b[2K');
    this.statusShown = false;
  }
}

const secs = (t0) => Math.round((Date.now() - t0) / 1000);

// ---------------------------------------------------------------------------------------------------------
// up

function makeCtx(comp, root, env, progress) {
  const p = componentPaths(comp.name, root);
  return { root, dir: p.dir, dataDir: p.dataDir, logFile: p.logFile, env: { ...env }, progress };
}

/** Runs prepare() in a worker thread (module components) or inline (components passed as objects). */
function runPrepare(entry, ctx) {
  if (!entry.moduleUrl) return Promise.resolve(entry.comp.prepare(ctx));
  return new Promise((resolve, reject) => {
    const { progress, ...data } = ctx;
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { aioInfraPrepare: { moduleUrl: entry.moduleUrl, ctx: data } },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    worker.on('message', (m) => {
      if (m.type === 'progress') progress(m.msg);
      else if (m.type === 'done') {
        settled = true;
        resolve();
      } else if (m.type === 'error') {
        settled = true;
        reject(new InfraError(m.message));
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new InfraError(`prepare() of ${entry.comp.name} ended without finishing (exit ${code})`));
    });
  });
}

if (!isMainThread && workerData?.aioInfraPrepare) {
  const { moduleUrl, ctx } = workerData.aioInfraPrepare;
  try {
    const comp = (await import(moduleUrl)).default;
    await comp.prepare({ ...ctx, progress: (msg) => parentPort.postMessage({ type: 'progress', msg: String(msg) }) });
    parentPort.postMessage({ type: 'done' });
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: err?.message ?? String(err) });
  }
}

async function probeOnce(comp, ctx) {
  let timer;
  try {
    return await Promise.race([
      Promise.resolve(comp.probe(ctx)).then(Boolean, () => false),
      new Promise((r) => {
        timer = setTimeout(() => r(false), PROBE_CALL_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function readyTimeout(comp, env) {
  const override = Number(env.AIO_INFRA_READY_TIMEOUT_MS);
  return override > 0 ? override : (comp.readyTimeoutMs ?? 60_000);
}

/**
 * Polls probe() until it answers, the process dies (isDead() returns a reason) or the timeout passes.
 * Throws with the tail of the log on failure.
 */
async function waitReady(comp, ctx, paths, reporter, isDead, pid) {
  const t0 = Date.now();
  const timeout = readyTimeout(comp, ctx.env);
  reporter.startWaiting(comp.name);
  try {
    for (;;) {
      if (await probeOnce(comp, ctx)) return Date.now() - t0;
      const dead = isDead();
      if (dead) {
        rmSync(paths.pidFile, { force: true });
        throw new InfraError(
          `exited during start (${dead}). Last lines of ${paths.logFile}:\n${indent(logTail(paths.logFile))}`,
        );
      }
      if (Date.now() - t0 > timeout) {
        throw new InfraError(
          `pid ${pid} did not become ready within ${Math.round(timeout / 1000)} s; it is left running ` +
            `for inspection (stop it with: node deploy/local/infra.mjs down ${comp.name}). ` +
            `Last lines of ${paths.logFile}:\n${indent(logTail(paths.logFile))}`,
        );
      }
      await sleep(PROBE_INTERVAL_MS);
    }
  } finally {
    reporter.stopWaiting(comp.name);
  }
}

const indent = (text) => text.replace(/^/gm, '    | ');

function spawnDetached(comp, ctx, paths) {
  const spec = comp.spawnSpec(ctx);
  if (!spec?.command) throw new InfraError('spawnSpec() returned no command');
  mkdirSync(path.dirname(paths.logFile), { recursive: true });
  // Keep the previous run's log (it may explain a crash) as <name>.log.1.
  if (existsSync(paths.logFile)) renameSync(paths.logFile, `${paths.logFile}.1`);
  const fd = openSync(paths.logFile, 'a');
  writeSync(fd, `# ${new Date().toISOString()} infra.mjs starts ${comp.name}: ${spec.command} ${(spec.args ?? []).join(' ')}\n`);
  let child;
  try {
    child = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd ?? ctx.dir,
      env: spec.env ?? ctx.env,
      detached: true, // own process group: down() signals the whole group
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const state = { exit: undefined };
  child.on('error', (err) => {
    state.exit = `could not run ${spec.command}: ${err.message}`;
  });
  child.on('exit', (code, sig) => {
    state.exit = sig ? `killed by ${sig}` : `exit code ${code}`;
  });
  child.unref();
  if (child.pid) writePidFile(paths.pidFile, child.pid);
  return { pid: child.pid, isDead: () => state.exit };
}

async function upOne(entry, { root, env, reporter }) {
  const { comp } = entry;
  const paths = componentPaths(comp.name, root);
  const say = (msg) => reporter.line(comp.name, msg);
  const ext = externalEndpoint(comp, env);
  if (ext) {
    say(`external: ${comp.endpointEnv}=${ext} (nothing started locally)`);
    return { name: comp.name, state: 'external', endpoint: ext };
  }
  const ctx = makeCtx(comp, root, env, say);
  return withLock(paths, comp.name, reporter.line, async () => {
    const live = liveProcess(paths.pidFile);
    if (live.alive) {
      const pid = live.rec.pid;
      if (await probeOnce(comp, ctx)) {
        say(`already running (pid ${pid}) on ${comp.defaultEndpoint}`);
        return { name: comp.name, state: 'running', pid, endpoint: comp.defaultEndpoint };
      }
      say(`process ${pid} is alive but not answering yet; waiting`);
      await waitReady(comp, ctx, paths, reporter, () => (liveProcess(paths.pidFile).alive ? undefined : 'process gone'), pid);
      say(`ready on ${comp.defaultEndpoint} (pid ${pid})`);
      return { name: comp.name, state: 'running', pid, endpoint: comp.defaultEndpoint };
    }
    if (live.rec) {
      say(`previous process ${live.rec.pid} is gone (see ${paths.logFile}); starting anew`);
      rmSync(paths.pidFile, { force: true });
    }
    await assertPortsFree(comp);
    const t0 = Date.now();
    mkdirSync(ctx.dir, { recursive: true });
    await runPrepare(entry, ctx);
    // prepare() may have taken minutes: make sure nobody took a port meanwhile.
    await assertPortsFree(comp);
    const { pid, isDead } = spawnDetached(comp, ctx, paths);
    if (!pid) {
      await sleep(50);
      throw new InfraError(isDead() ?? 'the process did not start');
    }
    say(`started pid ${pid}, log ${path.relative(root, paths.logFile)}`);
    const ms = await waitReady(comp, ctx, paths, reporter, isDead, pid);
    say(`ready on ${comp.defaultEndpoint} (pid ${pid}) in ${(ms / 1000).toFixed(1)} s (total ${secs(t0)} s)`);
    return { name: comp.name, state: 'started', pid, endpoint: comp.defaultEndpoint };
  });
}

/**
 * Starts the named components (default: all available), concurrently. Resolves to the names of the
 * components THIS call started (not those already running or external), so a caller can stop exactly
 * what it started with `down(started)`. Rejects with an InfraError listing every component that failed
 * (the others stay up; their names are on the error's `started`).
 * Options (mainly for tests): root, env, components (component objects instead of loading modules),
 * stream (where progress goes; default stderr), onResult(row) called with each component's
 * `{ name, state: 'started'|'running'|'external', pid?, endpoint }`.
 */
export async function up(names = [], opts = {}) {
  const { root = ROOT, env = process.env, stream = process.stderr } = opts;
  const entries = opts.components ? opts.components.map((comp) => ({ comp })) : await loadComponents(names);
  if (!entries.length) throw new InfraError('no components found under deploy/local/*/component.mjs');
  const reporter = new Reporter(stream);
  const results = await Promise.allSettled(
    entries.map(async (e) => {
      const row = await upOne(e, { root, env, reporter });
      opts.onResult?.(row);
      return row;
    }),
  );
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${entries[i].comp.name}: ${r.reason?.message ?? r.reason}`] : [],
  );
  const started = results.filter((r) => r.value?.state === 'started').map((r) => r.value.name);
  if (failures.length) throw Object.assign(new InfraError(failures.join('\n')), { started });
  return started;
}

// ---------------------------------------------------------------------------------------------------------
// down

async function waitGroupGone(pgid, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return true;
    await sleep(100);
  }
  return !groupAlive(pgid);
}

async function downOne(name, { root, reporter, graceMs }) {
  const paths = componentPaths(name, root);
  const live = liveProcess(paths.pidFile);
  if (!live.alive) {
    if (live.rec) reporter.line(name, `was not running (stale pid ${live.rec.pid} removed)`);
    else reporter.line(name, 'not running');
    rmSync(paths.pidFile, { force: true });
    return { name, state: 'stopped' };
  }
  const { pid } = live.rec;
  reporter.line(name, `stopping pid ${pid}`);
  signal(-pid, 'SIGTERM');
  let how = 'stopped';
  if (!(await waitGroupGone(pid, graceMs))) {
    reporter.line(name, `still alive after ${graceMs / 1000} s: SIGKILL`);
    signal(-pid, 'SIGKILL');
    how = 'killed';
    if (!(await waitGroupGone(pid, KILL_WAIT_MS))) {
      throw new InfraError(`${name}: process group ${pid} survived SIGKILL`);
    }
  }
  rmSync(paths.pidFile, { force: true });
  reporter.line(name, how);
  return { name, state: how };
}

/** Names that have a pid file under <root>/.infra/run (a component may have been removed since). */
function pidFileNames(root) {
  try {
    return readdirSync(path.join(root, '.infra', 'run'))
      .filter((f) => f.endsWith('.pid'))
      .map((f) => f.slice(0, -4));
  } catch {
    return [];
  }
}

/**
 * Stops the named components (default: every one with a pid file), SIGTERM to the process group, SIGKILL
 * after ~20 s (opts.graceMs). Idempotent. Resolves to `{ name, state: 'stopped'|'killed' }` rows.
 */
export async function down(names = [], opts = {}) {
  const { root = ROOT, stream = process.stderr, graceMs = STOP_GRACE_MS } = opts;
  for (const n of names) {
    if (!COMPONENT_NAMES.includes(n) && !opts.components?.some((c) => c.name === n)) {
      throw new InfraError(`unknown component "${n}": expected one of ${COMPONENT_NAMES.join(', ')}`);
    }
  }
  const known = opts.components ? opts.components.map((c) => c.name) : COMPONENT_NAMES;
  const targets = names.length
    ? names
    : [...new Set([...known.filter((n) => existsSync(componentPaths(n, root).pidFile)), ...pidFileNames(root)])];
  const reporter = new Reporter(stream);
  if (!targets.length) reporter.line('', 'nothing to stop');
  const results = await Promise.allSettled(targets.map((n) => downOne(n, { root, reporter, graceMs })));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason?.message ?? String(r.reason)] : []));
  if (failures.length) throw new InfraError(failures.join('\n'));
  return results.map((r) => r.value);
}

// ---------------------------------------------------------------------------------------------------------
// status

/**
 * One row per component: `{ name, state: 'running'|'stopped'|'external'|'dead', ready: boolean|null, pid,
 * ports, endpoint, log }`. `ready` is the probe's answer (null when nothing is there to ask).
 * `dead` means a pid file whose process is gone (it crashed; see the log).
 */
export async function status(names = [], opts = {}) {
  const { root = ROOT, env = process.env, probe = true } = opts;
  const comps = opts.components ?? (await loadComponents(names)).map((e) => e.comp);
  return Promise.all(
    comps.map(async (comp) => {
      const paths = componentPaths(comp.name, root);
      const ctx = makeCtx(comp, root, env, () => {});
      const ext = externalEndpoint(comp, env);
      const live = liveProcess(paths.pidFile);
      const row = {
        name: comp.name,
        state: 'stopped',
        ready: null,
        pid: null,
        ports: comp.ports,
        endpoint: ext ?? comp.defaultEndpoint,
        log: paths.logFile,
      };
      if (live.alive) Object.assign(row, { state: 'running', pid: live.rec.pid });
      else if (ext) row.state = 'external';
      else if (live.rec) Object.assign(row, { state: 'dead', pid: live.rec.pid });
      if (probe && (row.state === 'running' || row.state === 'external')) row.ready = await probeOnce(comp, ctx);
      return row;
    }),
  );
}

/** Renders status rows as an aligned text table. */
export function formatStatus(rows, root = ROOT) {
  const head = ['COMPONENT', 'STATE', 'READY', 'PID', 'PORTS', 'ENDPOINT', 'LOG'];
  const body = rows.map((r) => [
    r.name,
    r.state,
    r.ready === null ? '-' : r.ready ? 'yes' : 'no',
    r.pid ? String(r.pid) : '-',
    r.ports.join(','),
    r.endpoint,
    path.relative(root, r.log) || r.log,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cols) => cols.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// CLI

const USAGE = 'usage: node deploy/local/infra.mjs up|down|status [--json] [component...]';

async function main(argv) {
  const [cmd, ...rest] = argv;
  const json = rest.includes('--json');
  const names = rest.filter((a) => !a.startsWith('-'));
  switch (cmd) {
    case 'up':
      await up(names);
      return 0;
    case 'down':
      await down(names);
      return 0;
    case 'status': {
      const rows = await status(names);
      process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatStatus(rows)}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`infra: ${err instanceof InfraError ? err.message : (err?.stack ?? err)}\n`);
    process.exitCode = 1;
  }
}
