import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError } from './auth.error.js';
import { mintToken } from './token.minter.js';
import { TokenVerifier } from './token.verifier.js';

const secret = 'a-local-test-secret-of-at-least-32-chars';
const base = { issuer: 'aio-local', audience: 'aio' };
const verifier = TokenVerifier.fromOptions({ secret, ...base });

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AuthError) return err.reason;
    throw err;
  }
  return 'accepted';
}

function hs256(claims: Record<string, unknown>): SignJWT {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('aio-local').setAudience('aio').setSubject('alice');
}

describe('TokenVerifier with an HS256 secret', () => {
  it('round-trips a minted token', async () => {
    const token = await mintToken({ secret, subject: 'alice', roles: ['admin', 'ml-engineer'], ...base, ttlSeconds: 60 });
    await expect(verifier.verify(token)).resolves.toEqual({ subject: 'alice', roles: ['admin', 'ml-engineer'] });
  });

  it('rejects an expired token beyond the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await hs256({ roles: ['admin'] }).setIssuedAt(now - 3600).setExpirationTime(now - 60).sign(new TextEncoder().encode(secret));
    expect(await reasonOf(verifier.verify(token))).toBe('expired');
    const lenient = TokenVerifier.fromOptions({ secret, ...base, clockToleranceSec: 120 });
    await expect(lenient.verify(token)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('stops answering a remembered token once it expires', async () => {
    const strict = TokenVerifier.fromOptions({ secret, ...base, clockToleranceSec: 0 });
    const token = await mintToken({ secret, subject: 'alice', roles: ['viewer'], ...base, ttlSeconds: 5 });
    expect(strict.cached(token)).toBeUndefined(); // never verified yet
    await expect(strict.verify(token)).resolves.toMatchObject({ subject: 'alice' });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 2_000);
      expect(strict.cached(token)).toMatchObject({ subject: 'alice' });
      await expect(strict.verify(token)).resolves.toMatchObject({ subject: 'alice' });
      vi.setSystemTime(Date.now() + 4_000);
      expect(strict.cached(token)).toBeUndefined();
      expect(await reasonOf(strict.verify(token))).toBe('expired');
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a token without exp', async () => {
    const token = await hs256({ roles: ['admin'] }).sign(new TextEncoder().encode(secret));
    expect(await reasonOf(verifier.verify(token))).toBe('invalid claims');
  });

  it('rejects a token signed with another secret', async () => {
    const token = await mintToken({ secret: 'another-secret-that-is-long-enough-too', subject: 'eve', roles: ['admin'], ...base });
    expect(await reasonOf(verifier.verify(token))).toBe('bad signature');
  });

  it('rejects the wrong audience and issuer, naming the expected value', async () => {
    const wrongAud = await mintToken({ secret, subject: 'a', roles: ['admin'], issuer: 'aio-local', audience: 'other' });
    const wrongIss = await mintToken({ secret, subject: 'a', roles: ['admin'], issuer: 'evil', audience: 'aio' });
    expect(await reasonOf(verifier.verify(wrongAud))).toBe('wrong audience');
    expect(await reasonOf(verifier.verify(wrongIss))).toBe('wrong issuer');
    await expect(verifier.verify(wrongIss)).rejects.toThrow('token rejected: wrong issuer (expected issuer "aio-local")');
  });

  it('rejects unsigned, garbage and empty tokens', async () => {
    const unsigned = new UnsecuredJWT({ roles: ['admin'] }).setSubject('a').setIssuer('aio-local').setAudience('aio').setExpirationTime('1h').encode();
    expect(await reasonOf(verifier.verify(unsigned))).toBe('algorithm not allowed');
    expect(await reasonOf(verifier.verify('not.a.jwt'))).toBe('malformed token');
    expect(await reasonOf(verifier.verify(''))).toBe('missing token');
  });

  it('maps roles from `roles` and Keycloak `realm_access.roles`, ignoring unknown ones', async () => {
    const key = new TextEncoder().encode(secret);
    const token = await hs256({ roles: ['viewer', 'superuser', 7], realm_access: { roles: ['producer', 'offline_access', 'viewer'] } })
      .setExpirationTime('1h')
      .sign(key);
    await expect(verifier.verify(token)).resolves.toEqual({ subject: 'alice', roles: ['viewer', 'producer'] });
    const none = await hs256({}).setExpirationTime('1h').sign(key);
    await expect(verifier.verify(none)).resolves.toEqual({ subject: 'alice', roles: [] });
  });

  it('requires a subject', async () => {
    const token = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('aio-local')
      .setAudience('aio')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    expect(await reasonOf(verifier.verify(token))).toBe('missing subject');
  });

  it('requires exactly one key source and a long enough secret', () => {
    expect(() => TokenVerifier.fromOptions({ ...base })).toThrow(/exactly one.*neither/);
    expect(() => TokenVerifier.fromOptions({ ...base, secret, jwksUrl: 'http://127.0.0.1/jwks' })).toThrow(/both/);
    expect(() => TokenVerifier.fromOptions({ ...base, secret: 'short' })).toThrow(/at least 32 characters/);
  });
});

describe('TokenVerifier with a remote JWKS', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let requests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  function rs256(kid: string, key: CryptoKey = privateKey): Promise<string> {
    return new SignJWT({ realm_access: { roles: ['ml-engineer'] } })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('svc-bob')
      .setIssuer('https://idp.example/realms/aio')
      .setAudience('aio')
      .setExpirationTime('5m')
      .sign(key);
  }

  const idp = { issuer: 'https://idp.example/realms/aio', audience: 'aio' };

  it('verifies an RS256 token against the served key set and caches it', async () => {
    const remote = TokenVerifier.fromOptions({ jwksUrl, ...idp });
    await expect(remote.verify(await rs256('k1'))).resolves.toEqual({ subject: 'svc-bob', roles: ['ml-engineer'] });
    await expect(remote.verify(await rs256('k1'))).resolves.toMatchObject({ subject: 'svc-bob' });
    expect(requests).toBe(1);
  });

  it('rejects a token signed by a key the provider does not publish', async () => {
    const remote = TokenVerifier.fromOptions({ jwksUrl, ...idp });
    const stranger = await generateKeyPair('RS256');
    expect(await reasonOf(remote.verify(await rs256('k1', stranger.privateKey)))).toBe('bad signature');
    expect(await reasonOf(remote.verify(await rs256('unknown-kid', stranger.privateKey)))).toBe('unknown signing key');
  });

  it('refuses HS256 tokens in JWKS mode', async () => {
    const remote = TokenVerifier.fromOptions({ jwksUrl, ...idp });
    const token = await mintToken({ secret, subject: 'eve', roles: ['admin'], ...idp });
    expect(await reasonOf(remote.verify(token))).toBe('algorithm not allowed');
  });

  it('reports an unreachable identity provider', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const deadPort = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const remote = TokenVerifier.fromOptions({ jwksUrl: `http://127.0.0.1:${deadPort}/jwks`, ...idp });
    expect(await reasonOf(remote.verify(await rs256('k1')))).toBe('identity provider unreachable');
  });
});
