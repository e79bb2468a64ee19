import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveArtifactDir } from './artifact-dir.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'aio-ws-'));
  await writeFile(path.join(root, 'pnpm-workspace.yaml'), 'packages: []\n');
  await mkdir(path.join(root, 'services', 'registry'), { recursive: true });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('resolveArtifactDir', () => {
  it('resolves a relative directory against the workspace root above cwd', () => {
    expect(resolveArtifactDir('.infra/artifacts', path.join(root, 'services', 'registry'))).toBe(path.join(root, '.infra', 'artifacts'));
    expect(resolveArtifactDir('.infra/artifacts', root)).toBe(path.join(root, '.infra', 'artifacts'));
  });

  it('keeps absolute directories and refuses an empty one', () => {
    expect(resolveArtifactDir('/var/lib/aio/artifacts', root)).toBe('/var/lib/aio/artifacts');
    expect(() => resolveArtifactDir(' ', root)).toThrow(/must not be empty/);
  });
});
