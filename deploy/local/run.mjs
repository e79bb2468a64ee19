#!/usr/bin/env node
// Entry point of every root npm script: provisions the pinned toolchain, installs the workspace, then
// runs the named script of deploy/local (or any command after `--`) under the pinned Node.
//   node deploy/local/run.mjs infra.mjs up        node deploy/local/run.mjs -- turbo run build
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, toolchainEnv, ensureInstalled } from './toolchain.mjs';

const [target, ...args] = process.argv.slice(2);
if (!target) {
  process.stderr.write('usage: run.mjs <script.mjs> [args...] | run.mjs -- <command> [args...]\n');
  process.exit(2);
}
let env;
try {
  env = toolchainEnv();
  ensureInstalled(env);
} catch (err) {
  process.stderr.write(`[toolchain] ${err.message}\n`);
  process.exit(1);
}
const [cmd, cmdArgs] =
  target === '--' ? [args[0], args.slice(1)] : ['node', [path.join(ROOT, 'deploy', 'local', target), ...args]];
const child = spawn(cmd, cmdArgs, { stdio: 'inherit', env, cwd: process.cwd() });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
