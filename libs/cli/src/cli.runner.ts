import { parseArgs } from 'node:util';
import { GrpcError, statusName } from '@aio/grpc';
import { COMMANDS, type Command } from './cli.commands.js';
import { CliContext, type Env, type Output } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';

export function usage(): string {
  const lines = COMMANDS.map((c) => `  aio ${[...c.path, c.args].filter(Boolean).join(' ')}\n      ${c.summary}`);
  return [
    'usage: aio <command> [--json]',
    '',
    ...lines,
    '',
    'Services are reached at their local defaults; override with AIO_REGISTRY_ADDR, AIO_INGESTION_ADDR,',
    'AIO_TRAINER_ADDR, AIO_MONITOR_ADDR, AIO_GATEWAY_ADDR, KAFKA_BROKERS. Credentials: AIO_TOKEN, or the',
    'local secret of `npm run up`.',
  ].join('\n');
}

/** The command whose path is the longest prefix of argv. */
function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => argv[i] === w) && (best === undefined || c.path.length > best.path.length)) best = c;
  }
  return best && { command: best, rest: argv.slice(best.path.length) };
}

/** Runs one command line; returns the exit code. Errors are one line on stderr. */
export async function runCli(argv: string[], env: Env, cwd: string, output: Output): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    output.out(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const found = find(argv);
  if (!found) {
    output.err(`aio: unknown command "${argv.slice(0, 2).join(' ')}"; run \`aio --help\``);
    return 2;
  }
  const { command, rest } = found;
  const name = command.path.join(' ');
  let ctx: CliContext | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help === true) {
      output.out(`usage: aio ${name} ${command.args}\n  ${command.summary}`);
      return 0;
    }
    ctx = new CliContext(env, cwd, output, values.json === true);
    await command.run(ctx, positionals, values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      output.err(`aio ${name}: ${err.message.replace(/\s*\n\s*/g, ' ')}; usage: aio ${name} ${command.args}`);
      return 2;
    }
    if (err instanceof GrpcError) {
      output.err(`aio ${name}: ${statusName(err.code)}: ${err.message}`);
      return 1;
    }
    if (err instanceof CliError) {
      output.err(`aio ${name}: ${err.message}`);
      return 1;
    }
    output.err(`aio ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    ctx?.close();
  }
}
