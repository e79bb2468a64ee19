// What the Go-built programs (the FerretDB server; the h2spec and ghz tools, see goTool) share: building a package of a
// deploy/local folder's Go module (committed go.mod + go.sum, and the folder's own *.go files if any)
// into .infra/<name>/bin, with GOCACHE / GOMODCACHE under .infra/go so a CI cache of .infra holds
// everything. Modules come from the Go module proxy; nothing runs when the binary is up to date.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** go's environment: caches under <root>/.infra/go, and never a toolchain the go command downloads itself. */
export function goEnv(root, env = process.env) {
  const goRoot = path.join(root, '.infra', 'go');
  return {
    ...env,
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

/** Throws an actionable error (`hint`: what to do) unless Go >= minGo is on PATH; returns its version string. */
export function checkGo(env, { name, minGo, hint }) {
  const res = spawnSync('go', ['env', 'GOVERSION'], { env, encoding: 'utf8' });
  const need = `Go >= ${minGo.join('.')}`;
  const what = `install ${need} from https://go.dev/dl/ (or your package manager) and put it on PATH${hint ? `, ${hint}` : ''}`;
  if (res.error) {
    throw new Error(`${name}: the 'go' command was not found (${res.error.code ?? res.error.message}); ${what}`);
  }
  const version = res.stdout.trim();
  const m = /^go(\d+)\.(\d+)/.exec(version);
  if (res.status !== 0 || !m) {
    throw new Error(`${name}: 'go env GOVERSION' failed (${(res.stderr || version).trim()}); ${what}`);
  }
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < minGo[0] || (major === minGo[0] && minor < minGo[1])) {
    throw new Error(`${name}: found ${version}, but the build needs ${need}; ${what}`);
  }
  return version;
}

/** What a binary is built from: go.mod, go.sum and the Go files of its folder. */
function sources(srcDir) {
  return ['go.mod', 'go.sum', ...readdirSync(srcDir).filter((f) => f.endsWith('.go')).sort()];
}

/** sha256 of the sources and the build arguments. */
export function sourceHash(srcDir, buildArgs) {
  const h = createHash('sha256');
  for (const f of sources(srcDir)) h.update(f).update('\0').update(readFileSync(path.join(srcDir, f)));
  h.update(buildArgs.join('\0'));
  return h.digest('hex');
}

/**
 * Up to date when the binary is newer than every source, or (after a fresh checkout, whose files all
 * look new, with a cached .infra) when the sources and build arguments hash to what it was built from.
 */
export function isUpToDate(bin, srcDir, buildArgs) {
  if (!existsSync(bin)) return false;
  const binTime = statSync(bin).mtimeMs;
  if (sources(srcDir).every((f) => statSync(path.join(srcDir, f)).mtimeMs < binTime)) return true;
  const stampFile = `${bin}.sources-sha256`;
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === sourceHash(srcDir, buildArgs);
}

/** Runs a go subcommand in cwd, turning its -v / -x chatter into progress lines every 5 s. */
export function runGo(args, { cwd, env, progress, label, name }) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('go', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(new Error(`${name}: could not run go: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (buf.trim()) tail.push(buf);
      if (code === 0) {
        if (lastReport) report();
        resolve();
      } else {
        reject(new Error(`${name}: 'go ${args.join(' ')}' failed (${signal ?? `exit ${code}`}) in ${cwd}:\n${tail.join('\n')}`));
      }
    });
  });
}

/**
 * Builds package `pkg` of the Go module in srcDir into `bin` (written under a temporary name, then
 * renamed, so a concurrent reader never sees half a binary), unless it is up to date. `buildArgs` go
 * between `go build -v` and `-o`. `announce(goVersion)` is the first progress line of a build.
 * Resolves true when it built, false when the binary was up to date.
 */
export async function buildGoBinary({ name, root, env, srcDir, bin, pkg = '.', buildArgs, minGo, hint, announce, label, progress }) {
  if (isUpToDate(bin, srcDir, buildArgs)) return false;
  const goEnvironment = goEnv(root, env);
  const goVersion = checkGo(goEnvironment, { name, minGo, hint });
  mkdirSync(path.dirname(bin), { recursive: true });
  progress(announce(goVersion));
  const opts = { cwd: srcDir, env: goEnvironment, progress, name };
  await runGo(['mod', 'download', '-x'], { ...opts, label: 'downloading Go modules' });
  const tmp = `${bin}.tmp-${process.pid}`;
  try {
    await runGo(['build', '-v', ...buildArgs, '-o', tmp, pkg], { ...opts, label });
    renameSync(tmp, bin);
  } finally {
    rmSync(tmp, { force: true });
  }
  writeFileSync(`${bin}.sources-sha256`, `${sourceHash(srcDir, buildArgs)}\n`);
  progress(`built ${path.relative(root, bin)}`);
  return true;
}

/**
 * A command-line tool built from a deploy/local folder whose go.mod pins it (a `tool` directive, Go 1.24),
 * declared by that folder's tool.mjs as `goTool(import.meta.url, {...})`: its version as go.mod has it,
 * where its binary lives (<root>/.infra/<name>/bin/<name>) and `build()` (the path, built first when
 * missing or out of date). Run as `node <folder>/tool.mjs`, the file builds the tool and prints its path.
 */
export function goTool(url, { name, module, pkg, versionVar, download }) {
  const srcDir = path.dirname(fileURLToPath(url));
  const root = path.resolve(srcDir, '../../..');
  const escaped = module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const version = new RegExp(`${escaped} v([^\\s+]+)`).exec(readFileSync(path.join(srcDir, 'go.mod'), 'utf8'))?.[1];
  const binPath = (at = root) => path.join(at, '.infra', name, 'bin', name);
  const build = async ({ root: at = root, env = process.env, progress = (msg) => process.stderr.write(`[${name}] ${msg}\n`) } = {}) => {
    await buildGoBinary({
      name,
      root: at,
      env,
      srcDir,
      bin: binPath(at),
      pkg,
      buildArgs: ['-trimpath', '-ldflags', `-s -w -X ${versionVar}=${version}`],
      minGo: [1, 24],
      announce: (goVersion) => `building ${name} ${version} with ${goVersion} (once: ${download}; cached in .infra afterwards)`,
      label: `compiling ${name}`,
      progress,
    });
    return binPath(at);
  };
  if (process.argv[1] && url === pathToFileURL(path.resolve(process.argv[1])).href) {
    build().then(
      (bin) => process.stdout.write(`${bin}\n`),
      (err) => {
        process.stderr.write(`${err?.message ?? err}\n`);
        process.exitCode = 1;
      },
    );
  }
  return { version, binPath, build };
}
