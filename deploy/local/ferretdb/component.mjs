// FerretDB 1.24 (MongoDB wire protocol on SQLite) as a local infrastructure component.
//
// prepare() builds our small Go wrapper (main.go, which starts FerretDB through its embeddable
// `ferretdb` package) into .infra/ferretdb/bin with GOCACHE / GOMODCACHE under .infra/go, so a CI
// cache of .infra holds everything. The first build downloads ~640 MB of modules and compiles ~500
// packages (measured: ~60 s on 2 cores, largest compiler process ~650 MB, mostly modernc.org/sqlite);
// later runs skip the build (see isUpToDate).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC_DIR = path.dirname(fileURLToPath(import.meta.url));
/** What the binary is built from: go.mod, go.sum and the Go files of this folder. */
const SOURCES = ['go.mod', 'go.sum', ...readdirSync(SRC_DIR).filter((f) => f.endsWith('.go')).sort()];
const BINARY = 'aio-ferretdb';
/** FerretDB v1.24.2's go.mod says `go 1.24`; we never let the go command fetch a newer toolchain. */
const MIN_GO = [1, 24];
const HOST = '127.0.0.1';
const PORT = 27017;
/** Build tags: we only use the SQLite backend, so leave the PostgreSQL one (pgx) out. */
const BUILD_TAGS = 'ferretdb_no_postgresql';

function binaryPath(ctx) {
  return path.join(ctx.dir, 'bin', BINARY);
}

function goEnv(ctx) {
  const goRoot = path.join(ctx.root, '.infra', 'go');
  return {
    ...(ctx.env ?? process.env),
    GOCACHE: path.join(goRoot, 'cache'),
    GOMODCACHE: path.join(goRoot, 'mod'),
    GOPATH: path.join(goRoot, 'path'),
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    // -modcacherw: module files stay writable, so `rm -rf .infra` works.
    // -mod=readonly: go.mod / go.sum are committed and must already be complete.
    GOFLAGS: '-modcacherw -mod=readonly -buildvcs=false',
  };
}

/** Throws an actionable error unless a new enough `go` is on PATH; returns its version string. */
function checkGo(env) {
  const res = spawnSync('go', ['env', 'GOVERSION'], { env, encoding: 'utf8' });
  const need = `Go >= ${MIN_GO.join('.')}`;
  const hint = `install ${need} from https://go.dev/dl/ (or your package manager) and put it on PATH, or point MONGODB_URI at an existing MongoDB-compatible server to skip the local FerretDB`;
  if (res.error) {
    throw new Error(`ferretdb: the 'go' command was not found (${res.error.code ?? res.error.message}); ${hint}`);
  }
  const version = res.stdout.trim();
  const m = /^go(\d+)\.(\d+)/.exec(version);
  if (res.status !== 0 || !m) {
    throw new Error(`ferretdb: 'go env GOVERSION' failed (${(res.stderr || version).trim()}); ${hint}`);
  }
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_GO[0] || (major === MIN_GO[0] && minor < MIN_GO[1])) {
    throw new Error(`ferretdb: found ${version}, but building FerretDB 1.24 needs ${need}; ${hint}`);
  }
  return version;
}

function sourceHash() {
  const h = createHash('sha256');
  for (const f of SOURCES) h.update(f).update('\0').update(readFileSync(path.join(SRC_DIR, f)));
  h.update(BUILD_TAGS);
  return h.digest('hex');
}

/**
 * Up to date when the binary is newer than every source, or (after a fresh checkout, whose files all
 * look new, with a cached .infra) when the sources hash to what the binary was built from.
 */
function isUpToDate(bin, stampFile) {
  if (!existsSync(bin)) return false;
  const binTime = statSync(bin).mtimeMs;
  if (SOURCES.every((f) => statSync(path.join(SRC_DIR, f)).mtimeMs < binTime)) return true;
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === sourceHash();
}

/** Runs a go subcommand, turning its -v / -x chatter into throttled progress lines. */
function runGo(args, { env, progress, label }) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('go', args, { cwd: SRC_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail = [];
    let count = 0;
    let last = '';
    let lastReport = 0; // 0 until the first timed report: quick steps print nothing
    const report = () => {
      const now = Date.now();
      lastReport = now;
      const secs = Math.round((now - started) / 1000);
      progress(`${label}: ${secs}s${count ? `, ${count} packages (at ${last})` : ''}`);
    };
    const timer = setInterval(() => report(), 5000);
    let buf = '';
    const onData = (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (!line.startsWith('#') && !line.includes(' ')) {
          count += 1;
          last = line.trim();
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(new Error(`ferretdb: could not run go: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (buf.trim()) tail.push(buf);
      if (code === 0) {
        if (lastReport) report();
        resolve();
      } else {
        reject(
          new Error(
            `ferretdb: 'go ${args.join(' ')}' failed (${signal ?? `exit ${code}`}) in ${SRC_DIR}:\n${tail.join('\n')}`,
          ),
        );
      }
    });
  });
}

export default {
  name: 'ferretdb',
  ports: [PORT],
  endpointEnv: 'MONGODB_URI',
  defaultEndpoint: `mongodb://${HOST}:${PORT}`,
  readyTimeoutMs: 60_000,

  async prepare(ctx) {
    mkdirSync(ctx.dataDir, { recursive: true });
    const bin = binaryPath(ctx);
    const stampFile = `${bin}.sources-sha256`;
    if (isUpToDate(bin, stampFile)) return;

    const env = goEnv(ctx);
    const goVersion = checkGo(env);
    mkdirSync(path.dirname(bin), { recursive: true });
    ctx.progress(`building FerretDB 1.24 with ${goVersion} (a first build takes about 1 min on 2 cores, <1 GB RAM, ~1 GB in .infra/go; cached afterwards)`);
    await runGo(['mod', 'download', '-x'], { env, progress: ctx.progress, label: 'downloading Go modules' });
    const tmp = `${bin}.tmp-${process.pid}`;
    try {
      await runGo(['build', '-v', '-trimpath', '-tags', BUILD_TAGS, '-ldflags', '-s -w', '-o', tmp, '.'], {
        env,
        progress: ctx.progress,
        label: 'compiling FerretDB',
      });
      renameSync(tmp, bin);
    } finally {
      rmSync(tmp, { force: true });
    }
    writeFileSync(stampFile, `${sourceHash()}\n`);
    ctx.progress(`built ${path.relative(ctx.root, bin)}`);
  },

  spawnSpec(ctx) {
    return {
      command: binaryPath(ctx),
      args: ['-listen-addr', `${HOST}:${PORT}`, '-sqlite-dir', ctx.dataDir, '-log-level', 'info'],
      env: ctx.env ?? process.env,
      cwd: ctx.dir,
    };
  },

  async probe() {
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(`mongodb://${HOST}:${PORT}/?directConnection=true`, {
      serverSelectionTimeoutMS: 1500,
      connectTimeoutMS: 1500,
      socketTimeoutMS: 3000,
    });
    try {
      await client.connect();
      const res = await client.db('admin').command({ ping: 1 });
      return res?.ok === 1;
    } catch {
      return false;
    } finally {
      await client.close().catch(() => {});
    }
  },
};
