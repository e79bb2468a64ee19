// The `aio` command against the running mesh, as a user runs it from the repository.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './mesh.fixture.js';

const AIO = path.join(ROOT, 'libs', 'cli', 'dist', 'main.js');
const exec = promisify(execFile);

async function aio(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [AIO, ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}


describe('the aio CLI', () => {
  const model = `cli-${randomUUID().slice(0, 8)}`;

  it('creates and lists models with the local credentials', async () => {
    expect(await aio('models', 'create', model, '--description', 'from the cli')).toMatchObject({ code: 0, stdout: `created model ${model}\n` });
    const listed = await aio('models', 'list', '--json');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((m) => m.name)).toContain(model);
  });

  it('reports a server-side refusal in one line with a non-zero exit', async () => {
    const again = await aio('models', 'create', model);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toEqual([`aio models create: ALREADY_EXISTS: model "${model}" already exists`]);
  });

  it('tails the registry topic and decodes the events', async () => {
    const tailed = await aio('tail', 'registry', '--from-beginning', '--limit', '1');
    expect(tailed.code).toBe(0);
    const event = JSON.parse(tailed.stdout.trim().split('\n')[0] ?? '{}') as { type?: string; payload?: unknown };
    expect(event.type).toMatch(/^aio\.registry\.v1\./);
    expect(event.payload).toBeTypeOf('object');
  });
});
