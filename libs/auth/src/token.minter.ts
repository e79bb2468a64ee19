import { SignJWT } from 'jose';
import type { Role } from './role.permissions.js';
import { hmacKey } from './token.verifier.js';

export interface MintTokenOptions {
  secret: string;
  subject: string;
  roles: readonly Role[];
  issuer: string;
  audience: string;
  /** Default 12 hours. */
  ttlSeconds?: number;
}

export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 60 * 60;

/** Signs an HS256 token that `TokenVerifier` with the same secret accepts (local use and tests). */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttl}`);
  if (options.subject.trim() === '') throw new RangeError('subject must not be empty');
  return new SignJWT({ roles: [...options.roles] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(hmacKey(options.secret));
}
