import { createGrpcServer, GrpcError, Status, withUnimplemented, type GrpcServer, type ServiceImpl } from '@aio/grpc';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.runner.js';
import { topicOf } from './tail.command.js';

let server: GrpcServer;
let env: Record<string, string>;
const seen: { token?: string } = {};

beforeAll(async () => {
  server = createGrpcServer({ auth: 'disabled' });
  // Only what these tests call; the CLI's other commands are exercised against the real mesh in e2e/.
  const impl: Partial<ServiceImpl<typeof RegistryService>> = {
    listModels: (_req, ctx) => {
      seen.token = ctx.metadata.get('authorization')[0]?.toString();
      return Promise.resolve({ models: [{ name: 'iris', latestVersion: 2, aliases: { champion: 2 } }] });
    },
    createModel: (req) => Promise.reject(new GrpcError(Status.ALREADY_EXISTS, `model "${req.name}" already exists`)),
  };
  server.add(RegistryService, withUnimplemented(RegistryService, impl));
  const port = await server.start('127.0.0.1', 0);
  env = { AIO_REGISTRY_ADDR: `127.0.0.1:${port}`, AIO_TOKEN: 'token-from-env' };
});

afterAll(() => server.shutdown(1000));

async function cli(argv: string[], e: Record<string, string> = env): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, e, '/', { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('aio', () => {
  it('lists models as a table, or as JSON with --json, sending AIO_TOKEN as the bearer token', async () => {
    const human = await cli(['models', 'list']);
    expect(human.code).toBe(0);
    expect(human.out.join('\n')).toMatch(/^MODEL\s+LATEST\s+ALIASES[^\n]*\niris\s+2\s+champion=2/);
    expect(seen.token).toBe('Bearer token-from-env');
    const json = await cli(['models', 'list', '--json']);
    expect(JSON.parse(json.out.join('\n'))).toEqual([expect.objectContaining({ name: 'iris', latestVersion: 2 })]);
  });

  it('turns a gRPC error into one readable line and exit code 1', async () => {
    const r = await cli(['models', 'create', 'iris']);
    expect(r).toEqual({ code: 1, out: [], err: ['aio models create: ALREADY_EXISTS: model "iris" already exists'] });
  });

  it('answers usage mistakes with one line naming the usage and exit code 2', async () => {
    expect((await cli(['models', 'create'])).err).toEqual(['aio models create: expected <name>; usage: aio models create <name> [--description <text>]']);
    expect((await cli(['alias', 'set', 'iris', 'champion', 'two'])).err[0]).toMatch(/<version> must be a non-negative integer, got "two"/);
    expect((await cli(['models', 'list', '--colour'])).code).toBe(2);
    expect((await cli(['nonsense'])).err).toEqual(['aio: unknown command "nonsense"; run `aio --help`']);
    expect((await cli(['infer', 'm', '--data', '[[1],[2,3]]'])).err[0]).toMatch(/rows must all have the same length/);
  });

  it('says where to get credentials when it has none', async () => {
    const r = await cli(['models', 'list'], { AIO_REGISTRY_ADDR: env.AIO_REGISTRY_ADDR ?? '' });
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/no credentials: set AIO_TOKEN/);
  });

  it('knows the short names of the platform topics', () => {
    expect(topicOf('registry', 'aio')).toBe('aio.events.registry');
    expect(topicOf('inference', 'demo')).toBe('demo.inference.log');
    expect(topicOf('my.topic', 'aio')).toBe('my.topic');
  });
});
