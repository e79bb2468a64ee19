import { parseArgs } from 'node:util';
import { findLocalAuthSecret } from './local-secret.reader.js';
import { isRole, ROLES, type Role } from './role.permissions.js';
import { DEFAULT_TOKEN_TTL_SECONDS, mintToken } from './token.minter.js';

export interface CommandResult {
  exitCode: number;
  /** The token on success, one error line otherwise. */
  output: string;
}

const USAGE = 'usage: aio-token --subject <name> --roles <role,role> [--ttl <seconds>] [--issuer <iss>] [--audience <aud>]';

/** The logic of the `aio-token` bin, without touching process, so it can be tested. */
export async function mintTokenCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<CommandResult> {
  // One line, always: node's parseArgs messages span several.
  const fail = (message: string, exitCode = 2): CommandResult => ({
    exitCode,
    output: `aio-token: ${message.replace(/\s*\n\s*/g, ' ')}`,
  });
  let values: { subject?: string; roles?: string; ttl?: string; issuer?: string; audience?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        subject: { type: 'string' },
        roles: { type: 'string' },
        ttl: { type: 'string' },
        issuer: { type: 'string' },
        audience: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)}; ${USAGE}`);
  }
  if (values.help) return { exitCode: 0, output: USAGE };
  if (!values.subject?.trim()) return fail(`--subject is required; ${USAGE}`);
  const names = (values.roles ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (names.length === 0) return fail(`--roles is required (any of ${ROLES.join(', ')})`);
  const unknown = names.filter((r) => !isRole(r));
  if (unknown.length > 0) return fail(`unknown role ${unknown.join(', ')} (known: ${ROLES.join(', ')})`);
  const roles = names.filter(isRole) satisfies Role[];
  let ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS;
  if (values.ttl !== undefined) {
    if (!/^\d+$/.test(values.ttl) || Number(values.ttl) <= 0) return fail(`--ttl must be a positive number of seconds, got "${values.ttl}"`);
    ttlSeconds = Number(values.ttl);
  }
  let secret = env['AIO_AUTH_SECRET']?.trim();
  try {
    if (!secret) secret = findLocalAuthSecret(cwd)?.secret;
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), 1);
  }
  if (!secret) {
    return fail('no secret: set AIO_AUTH_SECRET or run the local scripts (pnpm infra:up) to create .infra/auth-secret', 1);
  }
  try {
    const token = await mintToken({
      secret,
      subject: values.subject.trim(),
      roles,
      ttlSeconds,
      issuer: values.issuer ?? (env['AIO_AUTH_ISSUER']?.trim() || 'aio-local'),
      audience: values.audience ?? (env['AIO_AUTH_AUDIENCE']?.trim() || 'aio'),
    });
    return { exitCode: 0, output: token };
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), 1);
  }
}
