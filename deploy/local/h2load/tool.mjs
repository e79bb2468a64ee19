#!/usr/bin/env node
// h2load (nghttp2's HTTP/2 load generator, C), the third gRPC load generator of the serving benchmarks
// (e2e/bench/lib/h2load.ts).
//   node deploy/local/h2load/tool.mjs      installs it if needed (progress on stderr), prints its path
// Also a library: `import { h2load } from './h2load/tool.mjs'`: h2load.binPath(root), h2load.build() (the
// path, installed first when missing).
//
// From Debian's archive, the one package source these machines reach besides the language registries:
// `apt-get download` (no root) fetches nghttp2-client and the two libraries h2load links that a Debian 12
// base lacks (libev4, libjemalloc2); `dpkg-deb -x` unpacks them under .infra/h2load/root, and
// .infra/h2load/bin/h2load is a wrapper that runs the unpacked binary with its libraries. Not pinned: Debian
// keeps only a release's current package (a security update replaces it), so the version is whatever the
// machine's apt sources offer (Debian 12: nghttp2 1.52.0), printed at install; `h2load --version` says which.
// Not an infra.mjs component: a command a benchmark runs, installed on first use.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { outputTail } from '../jvm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The Debian packages unpacked: h2load and the shared libraries it needs beyond a base system. */
export const PACKAGES = ['nghttp2-client', 'libev4', 'libjemalloc2'];

function run(command, args, cwd) {
  const res = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    const why = res.error ? (res.error.code ?? res.error.message) : outputTail(res, 3).replaceAll('\n', ' | ');
    throw new Error(`h2load: \`${command} ${args.join(' ')}\` failed (${why}); h2load comes from Debian's archive (apt sources and \`apt-get update\` needed)`);
  }
  return res.stdout;
}

export const h2load = {
  /** The wrapper the benchmarks run. */
  binPath(root = ROOT) {
    return path.join(root, '.infra', 'h2load', 'bin', 'h2load');
  },
  /** The wrapper's path; downloads and unpacks the packages first when it is missing. */
  async build(root = ROOT) {
    const bin = this.binPath(root);
    if (existsSync(bin)) return bin;
    const dir = path.join(root, '.infra', 'h2load');
    const tmp = path.join(dir, 'download');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    process.stderr.write(`[h2load] apt-get download ${PACKAGES.join(' ')}\n`);
    run('apt-get', ['download', ...PACKAGES], tmp);
    const unpacked = path.join(tmp, 'root');
    for (const deb of readdirSync(tmp).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', deb, unpacked], tmp);
    const lib = path.join(dir, 'root', 'usr', 'lib', 'x86_64-linux-gnu');
    const real = path.join(dir, 'root', 'usr', 'bin', 'h2load');
    rmSync(path.join(dir, 'root'), { recursive: true, force: true });
    renameSync(unpacked, path.join(dir, 'root'));
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(path.dirname(bin), { recursive: true });
    const wrapper = `${bin}.tmp`;
    writeFileSync(wrapper, `#!/bin/sh\nLD_LIBRARY_PATH='${lib}'\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec '${real}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    process.stderr.write(`[h2load] ${run(wrapper, ['--version']).trim()} in ${path.relative(root, dir)}\n`);
    renameSync(wrapper, bin);
    return bin;
  },
};

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.stdout.write(`${await h2load.build()}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}
