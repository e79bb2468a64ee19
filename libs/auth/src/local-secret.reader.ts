import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const LOCAL_SECRET_FILE = join('.infra', 'auth-secret');

/**
 * Finds `.infra/auth-secret` (written by the local scripts) in `startDir` or the nearest parent, so the
 * CLI and services started anywhere in the checkout share one secret. Undefined when there is none.
 */
export function findLocalAuthSecret(startDir: string = process.cwd()): { path: string; secret: string } | undefined {
  let dir = startDir;
  for (;;) {
    const candidate = join(dir, LOCAL_SECRET_FILE);
    if (existsSync(candidate)) {
      const secret = readFileSync(candidate, 'utf8').trim();
      if (secret === '') throw new Error(`${candidate} is empty: delete it and let the local scripts recreate it`);
      return { path: candidate, secret };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** AIO_AUTH_SECRET when set, else the local secret file, else undefined (JWKS mode or a setup error). */
export function resolveAuthSecret(envSecret: string | undefined, startDir?: string): string | undefined {
  if (envSecret !== undefined && envSecret.trim() !== '') return envSecret.trim();
  return findLocalAuthSecret(startDir)?.secret;
}
