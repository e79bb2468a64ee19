// `npm test`: everything, in the order a failure is cheapest to find — build, static checks and unit
// tests, then the real local servers, integration tests, and the end-to-end test of the five services.
// Servers this run started are stopped at the end; servers that were already running are left alone.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './toolchain.mjs';
import * as infra from './infra.mjs';

const RESULTS = path.join(ROOT, '.infra', 'test-results');
// AIO_TEST_TAP: where deploy/local's node:test suite (a turbo `test` task too) writes its TAP summary.
const env = { ...process.env, AIO_TEST_RESULTS: RESULTS, AIO_TEST_TAP: path.join(RESULTS, 'local.tap'), FORCE_COLOR: process.env.CI ? '0' : process.env.FORCE_COLOR };
const failures = [];

function banner(text) {
  process.stdout.write(`\n=== ${text} ===\n`);
}

function run(label, cmd, args) {
  banner(label);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: 'inherit' });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      const ok = code === 0;
      process.stdout.write(`--- ${label}: ${ok ? 'ok' : `FAILED (${signal ?? `exit ${code}`})`} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      if (!ok) failures.push(label);
      resolve(ok);
    });
  });
}

/** Sums the vitest JSON reports and node:test TAP files written during this run. */
function summarise() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  if (!existsSync(RESULTS)) return { passed, failed, skipped };
  for (const file of readdirSync(RESULTS)) {
    const text = readFileSync(path.join(RESULTS, file), 'utf8');
    if (file.endsWith('.json')) {
      const r = JSON.parse(text);
      passed += r.numPassedTests;
      failed += r.numFailedTests;
      skipped += r.numPendingTests + r.numTodoTests;
    } else if (file.endsWith('.tap')) {
      passed += Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
      failed += Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0);
      skipped += Number(/^# skipped (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# todo (\d+)/m.exec(text)?.[1] ?? 0);
    }
  }
  return { passed, failed, skipped };
}

rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });
const turbo = (...tasks) => ['turbo', ['run', ...tasks, '--output-logs=full', '--log-order=grouped']];

if (await run('build', ...turbo('build'))) {
  await run('types, lint, unit tests', 'turbo', ['run', 'check-types', 'lint', 'test', '--force', '--continue', '--output-logs=full', '--log-order=grouped']);
  banner('infrastructure');
  let started = [];
  let infraOk = false;
  try {
    started = await infra.up();
    infraOk = true;
  } catch (err) {
    started = err.started ?? [];
    failures.push('infrastructure');
    process.stdout.write(`infrastructure failed: ${err.message}\n`);
  }
  try {
    if (infraOk) {
      await run('integration tests', 'turbo', ['run', 'test:int', '--force', '--continue', '--concurrency=1', '--output-logs=full', '--log-order=grouped']);
      await run('end-to-end tests', 'turbo', ['run', 'test:e2e', '--force', '--output-logs=full']);
    }
  } finally {
    if (started.length > 0) {
      banner(`stopping what this run started: ${started.join(', ')}`);
      await infra.down(started);
    }
  }
}

const { passed, failed, skipped } = summarise();
banner('summary');
if (failures.length > 0) process.stdout.write(`failed stages: ${failures.join(', ')}\n`);
process.stdout.write(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failures.length > 0 || failed > 0 ? 1 : 0);
