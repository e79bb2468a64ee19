#!/usr/bin/env node
// `aio-token --subject alice --roles admin,ml-engineer [--ttl 3600]`: prints a local HS256 token.
import { mintTokenCommand } from './mint-token.command.js';

const result = await mintTokenCommand(process.argv.slice(2), process.env, process.cwd());
if (result.exitCode === 0) process.stdout.write(`${result.output}\n`);
else process.stderr.write(`${result.output}\n`);
process.exitCode = result.exitCode;
