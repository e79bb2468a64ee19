import { AuthError } from './auth.error.js';

/** What HTTP headers and gRPC metadata (`metadata.get('authorization')`) hand over. */
export type AuthorizationHeader = string | Buffer | readonly (string | Buffer)[] | null | undefined;

/**
 * Extracts the token from `Authorization: Bearer <token>`. Throws AuthError 'missing token' when
 * there is no header and 'malformed authorization header' when it is not a single bearer token.
 */
export function bearerFrom(header: AuthorizationHeader): string {
  const values = header === null || header === undefined ? [] : Array.isArray(header) ? header : [header];
  if (values.length === 0) throw new AuthError('missing token', 'send "authorization: Bearer <token>"');
  if (values.length > 1) throw new AuthError('malformed authorization header', 'more than one authorization header');
  const first: unknown = values[0];
  const value = (Buffer.isBuffer(first) ? first.toString('utf8') : String(first)).trim();
  if (value === '') throw new AuthError('missing token', 'send "authorization: Bearer <token>"');
  const match = /^bearer\s+(\S+)$/i.exec(value);
  if (!match?.[1]) throw new AuthError('malformed authorization header', 'expected "Bearer <token>"');
  return match[1];
}
