import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a service keeps artifacts. An absolute `value` is used as is; a relative one (the local
 * default `.infra/artifacts`) is resolved against the repository root, found by walking up from
 * `cwd` to the folder holding pnpm-workspace.yaml, so every service of the local mesh shares one
 * store whatever folder it runs from. Outside a checkout it resolves against `cwd`.
 */
export function resolveArtifactDir(value: string, cwd: string = process.cwd()): string {
  if (value.trim() === '') throw new Error('artifact directory: must not be empty');
  if (path.isAbsolute(value)) return path.normalize(value);
  return path.resolve(findWorkspaceRoot(cwd) ?? cwd, value);
}

function findWorkspaceRoot(from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
