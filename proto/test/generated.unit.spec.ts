// Fails when src/gen is stale: regenerates every .proto into a temp dir with the pinned buf and
// protoc-gen-es and compares file by file with what is committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const protoDir = resolve(import.meta.dirname, '..');
const binDir = join(protoDir, 'node_modules', '.bin');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('generated code', () => {
  const out = mkdtempSync(join(tmpdir(), 'aio-proto-gen-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('matches a fresh `buf generate` (run `pnpm generate` in proto/ when this fails)', () => {
    execFileSync(join(binDir, 'buf'), ['generate', '-o', out], {
      cwd: protoDir,
      env: { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}` },
      stdio: 'pipe',
    });
    const committed = join(protoDir, 'src', 'gen');
    const fresh = join(out, 'src', 'gen');
    const files = listFiles(fresh);
    expect(listFiles(committed)).toEqual(files);
    const differing = files.filter((f) => readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'));
    expect(differing).toEqual([]);
  }, 60_000);
});
