#!/usr/bin/env node
import { runCli } from './cli.runner.js';

const code = await runCli(process.argv.slice(2), process.env, process.cwd(), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;
