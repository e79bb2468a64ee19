export type AuthFailure =
  | 'missing token'
  | 'malformed authorization header'
  | 'malformed token'
  | 'expired'
  | 'not yet valid'
  | 'bad signature'
  | 'wrong issuer'
  | 'wrong audience'
  | 'missing subject'
  | 'algorithm not allowed'
  | 'unknown signing key'
  | 'identity provider unreachable'
  | 'invalid claims';

/**
 * A rejected credential. `reason` is stable (map it to 401/UNAUTHENTICATED and show it to the
 * caller); `message` adds the detail an operator needs, e.g. the expected issuer.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';

  constructor(
    readonly reason: AuthFailure,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ? `token rejected: ${reason} (${detail})` : `token rejected: ${reason}`, options);
  }
}
