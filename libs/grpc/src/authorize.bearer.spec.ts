import { AuthError, isAllowed, mintToken, TokenVerifier } from '@aio/auth';
import { describe, expect, it } from 'vitest';
import { thrown } from '../test/grpc.fixture.js';
import { GrpcError, Status } from './grpc.error.js';
import { authorizeBearer, type ServerAuth } from './grpc.server.js';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const issuer = 'aio-test';
const audience = 'aio';

describe('authorizeBearer (gRPC calls and REST routes)', () => {
  const auth: ServerAuth = { verifier: TokenVerifier.fromOptions({ secret, issuer, audience }), authorize: isAllowed };

  it('verifies a new token asynchronously, then answers it synchronously while it is remembered', async () => {
    const token = await mintToken({ secret, subject: 'ann', roles: ['viewer'], issuer, audience });
    const first = authorizeBearer(auth, `Bearer ${token}`, 'models:read', 'GET /v1/models');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ subject: 'ann', roles: ['viewer'] });
    // The same token again: no promise, so a hot path pays no microtask for it.
    expect(authorizeBearer(auth, [`Bearer ${token}`], 'models:read', 'GET /v1/models')).toEqual({ subject: 'ann', roles: ['viewer'] });
  });

  it('refuses a missing or malformed header synchronously with UNAUTHENTICATED', () => {
    expect(thrown(() => authorizeBearer(auth, undefined, 'models:read', 'x')).code).toBe(Status.UNAUTHENTICATED);
    expect(thrown(() => authorizeBearer(auth, 'Basic abc', 'models:read', 'x')).message).toMatch(/malformed authorization header/);
  });

  it('names the caller, its roles, the permission and what it guards when the role lacks it', async () => {
    const token = await mintToken({ secret, subject: 'pat', roles: ['producer'], issuer, audience });
    const refused = await Promise.resolve(authorizeBearer(auth, `Bearer ${token}`, 'models:write', 'aio.registry.v1.RegistryService/CreateModel')).then(
      () => undefined,
      (e: unknown) => e as GrpcError,
    );
    expect(refused?.code).toBe(Status.PERMISSION_DENIED);
    expect(refused?.message).toBe('"pat" (roles: producer) lacks permission "models:write" for aio.registry.v1.RegistryService/CreateModel');
    // Remembered now: the same refusal comes synchronously.
    expect(thrown(() => authorizeBearer(auth, `Bearer ${token}`, 'models:write', 'POST /v1/models')).message).toMatch(/for POST \/v1\/models$/);
  });

  it('maps an unreachable identity provider to UNAVAILABLE and a bad token to UNAUTHENTICATED', async () => {
    const failing = (reason: 'identity provider unreachable' | 'bad signature'): ServerAuth => ({
      verifier: { verify: () => Promise.reject(new AuthError(reason)) },
      authorize: () => true,
    });
    const codeOf = (a: ServerAuth) =>
      (authorizeBearer(a, 'Bearer abc', 'p', 't') as Promise<unknown>).then(
        () => Status.OK,
        (e: unknown) => (e as GrpcError).code,
      );
    expect(await codeOf(failing('identity provider unreachable'))).toBe(Status.UNAVAILABLE);
    expect(await codeOf(failing('bad signature'))).toBe(Status.UNAUTHENTICATED);
  });
});
