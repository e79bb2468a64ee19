import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthError, type AuthFailure } from './auth.error.js';
import { isRole, type Principal, type Role } from './role.permissions.js';

export interface TokenVerifierOptions {
  /** HS256 shared secret (local default). At least 32 characters. */
  secret?: string;
  /** JWKS endpoint of a real identity provider (Keycloak, Auth0, Entra ID, ...). */
  jwksUrl?: string;
  issuer: string;
  audience: string;
  /** Clock skew allowed on exp/nbf/iat. Default 30 s. */
  clockToleranceSec?: number;
}

// RFC 7518 asks for an HMAC key at least as long as the hash output (32 bytes for HS256).
export const MIN_SECRET_LENGTH = 32;

// Asymmetric only for JWKS: accepting HS* there would let anyone who reads the public JWKS sign tokens.
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

export function hmacKey(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the HS256 secret must be at least ${MIN_SECRET_LENGTH} characters (got ${secret.length})`);
  }
  return new TextEncoder().encode(secret);
}

type Key = Uint8Array | JWTVerifyGetKey;

/** Tokens remembered after a successful verification (a client sends the same token with every call). */
export const VERIFIED_CACHE_SIZE = 1024;
/** Longest a verified token is trusted without checking its signature again. */
const VERIFIED_TTL_MS = 60_000;

export class TokenVerifier {
  /** token -> principal and until when it may be answered from here (never past exp + tolerance). */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();
  /** The token cached() answered last and its entry (compared before hashing the token for the map). */
  private lastToken: string | undefined;
  private lastHit: { principal: Principal; until: number } | undefined;

  private constructor(
    private readonly key: Key,
    private readonly algorithms: string[],
    private readonly issuer: string,
    private readonly audience: string,
    private readonly clockToleranceSec: number,
    private readonly remote: boolean,
  ) {}

  /** Exactly one of `secret` / `jwksUrl`. Throws a plain Error on bad options (a startup problem). */
  static fromOptions(options: TokenVerifierOptions): TokenVerifier {
    const { secret, jwksUrl } = options;
    const tolerance = options.clockToleranceSec ?? 30;
    if ((secret === undefined) === (jwksUrl === undefined)) {
      throw new Error(
        'TokenVerifier needs exactly one of a secret (AIO_AUTH_SECRET, HS256) or a JWKS URL (AIO_AUTH_JWKS_URL); ' +
          (secret === undefined ? 'neither was given' : 'both were given'),
      );
    }
    if (options.issuer === '' || options.audience === '') throw new Error('TokenVerifier needs a non-empty issuer and audience');
    if (secret !== undefined) {
      return new TokenVerifier(hmacKey(secret), ['HS256'], options.issuer, options.audience, tolerance, false);
    }
    let url: URL;
    try {
      url = new URL(jwksUrl ?? '');
    } catch {
      throw new Error(`AIO_AUTH_JWKS_URL is not a URL: ${jwksUrl}`);
    }
    // jose caches the key set and refetches (with a cooldown) when a token names an unknown kid.
    const jwks = createRemoteJWKSet(url);
    return new TokenVerifier(jwks, JWKS_ALGORITHMS, options.issuer, options.audience, tolerance, true);
  }

  /**
   * The principal of a valid token. A token that verified within the last minute (and has not expired
   * since) is answered from a small bounded cache: a signature check per call would dominate the cost
   * of small RPCs. Failures are never cached.
   */
  async verify(token: string): Promise<Principal> {
    const hit = this.cached(token);
    if (hit !== undefined) return hit;
    const { principal, exp } = await this.verifyNow(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { principal, until: Math.min(Date.now() + VERIFIED_TTL_MS, (exp + this.clockToleranceSec) * 1000) });
    return principal;
  }

  /**
   * The principal of a token verified recently (what verify would answer from its cache), without a
   * promise: servers answer most calls from here synchronously. Undefined = call verify.
   */
  cached(token: string): Principal | undefined {
    // Most calls repeat the previous call's token: comparing it is cheaper than hashing it for the map.
    const hit = token === this.lastToken ? this.lastHit : this.verified.get(token);
    if (hit === undefined) return undefined;
    if (Date.now() < hit.until) {
      this.lastToken = token;
      this.lastHit = hit;
      return hit.principal;
    }
    this.verified.delete(token);
    this.lastToken = undefined;
    this.lastHit = undefined;
    return undefined;
  }

  private async verifyNow(token: string): Promise<{ principal: Principal; exp: number }> {
    if (token.trim() === '') throw new AuthError('missing token');
    let payload: JWTPayload;
    try {
      const options = {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: this.algorithms,
        clockTolerance: this.clockToleranceSec,
        requiredClaims: ['exp'],
      };
      // Two calls instead of one on a union: jwtVerify's overloads do not accept `Uint8Array | GetKey`.
      const result =
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, options)
          : await jwtVerify(token, this.key, options);
      payload = result.payload;
    } catch (err) {
      throw this.translate(err);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('missing subject', 'the token has no "sub" claim');
    // exp is required, so jose has checked it is a number.
    return { principal: { subject: payload.sub, roles: rolesFrom(payload) }, exp: payload.exp as number };
  }

  private translate(err: unknown): AuthError {
    const reason = failureOf(err, this.remote);
    const detail =
      reason === 'wrong issuer'
        ? `expected issuer "${this.issuer}"`
        : reason === 'wrong audience'
          ? `expected audience "${this.audience}"`
          : reason === 'algorithm not allowed'
            ? `allowed: ${this.algorithms.join(', ')}`
            : err instanceof Error
              ? err.message
              : undefined;
    return new AuthError(reason, detail, { cause: err });
  }
}

function failureOf(err: unknown, remote: boolean): AuthFailure {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return 'wrong issuer';
      case 'aud':
        return 'wrong audience';
      case 'nbf':
      case 'iat':
        return 'not yet valid';
      default:
        return 'invalid claims';
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'unknown signing key';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'identity provider unreachable';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return 'malformed token';
  }
  // Anything else thrown while a remote key set is in play is the fetch failing (DNS, refused, non-200).
  if (remote) return 'identity provider unreachable';
  return 'malformed token';
}

/** Roles from `roles` (ours) and `realm_access.roles` (Keycloak); names we do not know are ignored. */
function rolesFrom(payload: JWTPayload): Role[] {
  const found = new Set<Role>();
  const add = (value: unknown): void => {
    const items: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
    for (const item of items) if (isRole(item)) found.add(item);
  };
  add(payload['roles']);
  const realm = payload['realm_access'];
  if (typeof realm === 'object' && realm !== null && 'roles' in realm) add(realm.roles);
  return [...found];
}
