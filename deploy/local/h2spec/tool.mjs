#!/usr/bin/env node
// h2spec, the HTTP/2 conformance tester, for libs/grpc's integration test (test/h2spec.int.spec.ts).
//   node deploy/local/h2spec/tool.mjs      builds it if needed (progress on stderr), prints its path
// Also a library: `import { h2spec } from './h2spec/tool.mjs'` resolves to the binary's path.
//
// Built like FerretDB (../go.mjs): go.mod / go.sum here pin h2spec and its dependencies, the Go module
// proxy is the only source, the binary is .infra/h2spec/bin/h2spec and is rebuilt only when go.mod or
// go.sum change. Not an infra.mjs component: it is a command a test runs, not a server, and only that
// test needs it, so `infra up` (and `npm start`) never build it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildGoBinary } from '../go.mjs';

const SRC_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(SRC_DIR, '../../..');
/** The tool directive (Go 1.24) is what keeps h2spec in go.mod. */
const MIN_GO = [1, 24];
/** The pinned version, as go.mod has it (e.g. "2.2.1"); the binary reports it with --version. */
export const H2SPEC_VERSION = /github\.com\/summerwind\/h2spec v([^\s+]+)/.exec(readFileSync(path.join(SRC_DIR, 'go.mod'), 'utf8'))?.[1];

/** Where the binary lives under <root>/.infra. */
export function h2specPath(root = ROOT) {
  return path.join(root, '.infra', 'h2spec', 'bin', 'h2spec');
}

/** The h2spec binary's path, built first when missing or out of date. */
export async function h2spec({ root = ROOT, env = process.env, progress = (msg) => process.stderr.write(`[h2spec] ${msg}\n`) } = {}) {
  const bin = h2specPath(root);
  await buildGoBinary({
    name: 'h2spec',
    root,
    env,
    srcDir: SRC_DIR,
    bin,
    pkg: 'github.com/summerwind/h2spec/cmd/h2spec',
    buildArgs: ['-trimpath', '-ldflags', `-s -w -X main.VERSION=${H2SPEC_VERSION}`],
    minGo: MIN_GO,
    announce: (goVersion) => `building h2spec ${H2SPEC_VERSION} with ${goVersion} (once: ~20 MB of modules, ~15 s on 2 cores; cached in .infra afterwards)`,
    label: 'compiling h2spec',
    progress,
  });
  return bin;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    process.stdout.write(`${await h2spec()}\n`);
  } catch (err) {
    process.stderr.write(`${err?.message ?? err}\n`);
    process.exitCode = 1;
  }
}
