import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mintTokenCommand } from './mint-token.command.js';
import { TokenVerifier } from './token.verifier.js';

const fileSecret = 'secret-from-the-infra-file-0123456789';
const root = mkdtempSync(join(tmpdir(), 'aio-token-'));
mkdirSync(join(root, '.infra'));
writeFileSync(join(root, '.infra', 'auth-secret'), `${fileSecret}\n`);
const nested = join(root, 'services', 'registry');
mkdirSync(nested, { recursive: true });
const empty = mkdtempSync(join(tmpdir(), 'aio-token-empty-'));

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('aio-token', () => {
  it('mints with the secret file found by walking up from cwd', async () => {
    const result = await mintTokenCommand(['--subject', 'alice', '--roles', 'admin,ml-engineer', '--ttl', '3600'], {}, nested);
    expect(result.exitCode).toBe(0);
    const verifier = TokenVerifier.fromOptions({ secret: fileSecret, issuer: 'aio-local', audience: 'aio' });
    await expect(verifier.verify(result.output)).resolves.toEqual({ subject: 'alice', roles: ['admin', 'ml-engineer'] });
  });

  it('prefers AIO_AUTH_SECRET and the configured issuer/audience', async () => {
    const env = { AIO_AUTH_SECRET: 'env-secret-env-secret-env-secret-42', AIO_AUTH_ISSUER: 'iss', AIO_AUTH_AUDIENCE: 'aud' };
    const result = await mintTokenCommand(['--subject', 'svc', '--roles', 'service'], env, nested);
    const verifier = TokenVerifier.fromOptions({ secret: env.AIO_AUTH_SECRET, issuer: 'iss', audience: 'aud' });
    await expect(verifier.verify(result.output)).resolves.toEqual({ subject: 'svc', roles: ['service'] });
  });

  it('answers bad input with one line and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['--roles', 'admin'], /--subject is required/],
      [['--subject', 'a'], /--roles is required/],
      [['--subject', 'a', '--roles', 'admin,root'], /unknown role root \(known: viewer, producer/],
      [['--subject', 'a', '--roles', 'admin', '--ttl', '1h'], /--ttl must be a positive number/],
      [['--subject', 'a', '--roles', 'admin', '--ttl=0'], /--ttl must be a positive number/],
      [['--subject', 'a', '--roles', 'admin', '--ttl', '-5'], /Option '--ttl' argument is ambiguous/],
      [['--subject', 'a', '--roles', 'admin', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      const result = await mintTokenCommand(argv, {}, nested);
      expect(result.exitCode).not.toBe(0);
      expect(result.output).toMatch(/^aio-token: /);
      expect(result.output).toMatch(message);
      expect(result.output).not.toContain('\n');
    }
  });

  it('explains where the secret comes from when there is none', async () => {
    const result = await mintTokenCommand(['--subject', 'a', '--roles', 'admin'], {}, empty);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('set AIO_AUTH_SECRET');
  });
});
