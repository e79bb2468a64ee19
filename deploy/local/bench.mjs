#!/usr/bin/env node
// The serving benchmarks (`npm run bench [-- options]`): brings the infrastructure and the mesh up (built
// first, as `npm run up` does), runs e2e/bench/run.ts with the options given, renders docs/benchmarks.md
// with e2e/bench/report.ts, then stops what it started (nothing, if the platform was already running).
//   node deploy/local/bench.mjs [--quick] [--only a,b] [--keep] [run.ts options...]
// --keep leaves what it started running. Options: node e2e/bench/run.ts --help.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as infra from './infra.mjs';
import * as mesh from './mesh.mjs';

const ROOT = infra.ROOT;
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const runArgs = args.filter((a) => a !== '--keep');

function node(script, scriptArgs) {
  return spawnSync(process.execPath, [path.join(ROOT, script), ...scriptArgs], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
}

let started = { infra: [], services: [] };
let code = 0;
try {
  started = await mesh.up();
  process.stdout.write(`${infra.formatStatus(await mesh.statusRows())}\n\n`);
  code = node('e2e/bench/run.ts', runArgs);
  // Render even after a failed benchmark: the others' results are still worth a page.
  const reportCode = node('e2e/bench/report.ts', []);
  code ||= reportCode;
} catch (err) {
  process.stderr.write(`bench: ${err instanceof infra.InfraError ? err.message : (err?.stack ?? err)}\n`);
  code = 1;
} finally {
  if (!keep) {
    if (started.services.length > 0) await mesh.down({ services: started.services, withInfra: false });
    if (started.infra.length > 0) await infra.down(started.infra);
  }
}
process.exitCode = code;
