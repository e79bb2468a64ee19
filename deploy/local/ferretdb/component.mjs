// FerretDB 1.24 (MongoDB wire protocol on SQLite) as a local infrastructure component.
//
// prepare() builds our small Go wrapper (main.go, which starts FerretDB through its embeddable
// `ferretdb` package) into .infra/ferretdb/bin with GOCACHE / GOMODCACHE under .infra/go (../go.mjs), so
// a CI cache of .infra holds everything. The first build downloads ~640 MB of modules and compiles ~500
// packages (measured: ~60 s on 2 cores, largest compiler process ~650 MB, mostly modernc.org/sqlite);
// later runs skip the build (see isUpToDate in ../go.mjs).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoBinary } from '../go.mjs';

const SRC_DIR = path.dirname(fileURLToPath(import.meta.url));
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

export default {
  name: 'ferretdb',
  ports: [PORT],
  endpointEnv: 'MONGODB_URI',
  defaultEndpoint: `mongodb://${HOST}:${PORT}`,
  readyTimeoutMs: 60_000,

  async prepare(ctx) {
    mkdirSync(ctx.dataDir, { recursive: true });
    await buildGoBinary({
      name: 'ferretdb',
      root: ctx.root,
      env: ctx.env ?? process.env,
      srcDir: SRC_DIR,
      bin: binaryPath(ctx),
      buildArgs: ['-trimpath', '-tags', BUILD_TAGS, '-ldflags', '-s -w'],
      minGo: MIN_GO,
      hint: 'or point MONGODB_URI at an existing MongoDB-compatible server to skip the local FerretDB',
      announce: (goVersion) =>
        `building FerretDB 1.24 with ${goVersion} (a first build takes about 1 min on 2 cores, <1 GB RAM, ~1 GB in .infra/go; cached afterwards)`,
      label: 'compiling FerretDB',
      progress: ctx.progress,
    });
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
