import { Client, credentials } from '@grpc/grpc-js';
import { isAllowed, mintToken, TokenVerifier, type Role } from '@aio/auth';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '@aio/proto/grpc/health/v1/health';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { afterEach, describe, expect, it } from 'vitest';
import { fullInferenceImpl, fullRegistryImpl, Harness, ingestionImpl, newProbe } from '../test/grpc.fixture.js';
import { GrpcError, Status } from './grpc.error.js';
import { createGrpcServer } from './grpc.server.js';

const harness = new Harness();
afterEach(() => harness.close());

async function rejection(promise: Promise<unknown>): Promise<GrpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GrpcError);
  return error as GrpcError;
}

async function openRegistry(probe = newProbe(), onInternalError?: (e: unknown) => void) {
  const server = harness.server({ auth: 'disabled', ...(onInternalError ? { onInternalError } : {}) });
  server.add(RegistryService, fullRegistryImpl(probe));
  const port = await server.start('127.0.0.1', 0);
  return { server, port, probe, client: harness.client(RegistryService, port) };
}

describe('status mapping', () => {
  it('sends a thrown GrpcError as its status', async () => {
    const { client } = await openRegistry();
    const notFound = await rejection(client.getModel({ name: 'missing' }));
    expect(notFound.code).toBe(Status.NOT_FOUND);
    expect(notFound.message).toBe('model "missing" not found');
    const invalid = await rejection(client.createModel({ name: '' }));
    expect(invalid.code).toBe(Status.INVALID_ARGUMENT);
    expect(invalid.message).toBe('name: must not be empty');
  });

  it('turns any other error into INTERNAL without leaking it, reports it, and keeps serving', async () => {
    const reported: unknown[] = [];
    const { client } = await openRegistry(newProbe(), (e) => reported.push(e));
    const error = await rejection(client.getModel({ name: 'boom' }));
    expect(error.code).toBe(Status.INTERNAL);
    expect(error.message).not.toContain('database');
    expect(error.message).toMatch(/internal error \(trace [0-9a-f]{32}\)/);
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toBe('database exploded');
    expect((await client.getModel({ name: 'ok' })).model?.name).toBe('ok');
  });

  it('answers malformed request bytes with INVALID_ARGUMENT', async () => {
    const { port } = await openRegistry();
    const raw = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      // Field 1 (name) says 5 bytes follow, only 1 does.
      const truncated = Buffer.from([0x0a, 0x05, 0x61]);
      const error = await new Promise<{ code: number; details: string }>((resolve) => {
        raw.makeUnaryRequest(
          '/aio.registry.v1.RegistryService/GetModel',
          (b: Buffer) => b,
          (b: Buffer) => b,
          truncated,
          (e) => resolve(e ?? { code: Status.OK, details: '' }),
        );
      });
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      expect(error.details).toContain('aio.registry.v1.GetModelRequest');
    } finally {
      raw.close();
    }
  });

  it('refuses a message above maxMessageBytes with RESOURCE_EXHAUSTED', async () => {
    const server = harness.server({ auth: 'disabled', maxMessageBytes: 1024 });
    server.add(GRPCInferenceService, fullInferenceImpl());
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(GRPCInferenceService, port);
    const error = await rejection(client.modelInfer({ modelName: 'm', rawInputContents: [new Uint8Array(4096)] }));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((await client.modelInfer({ modelName: 'm', rawInputContents: [new Uint8Array(16)] })).modelName).toBe('m');
  });

  it('reports UNIMPLEMENTED for a method the server does not have', async () => {
    const { port } = await openRegistry();
    const client = harness.client(IngestionService, port);
    expect((await rejection(client.getDataset({ name: 'x' }))).code).toBe(Status.UNIMPLEMENTED);
  });
});

describe('streaming', () => {
  it('reads a client stream', async () => {
    const server = harness.server({ auth: 'disabled' });
    server.add(IngestionService, ingestionImpl);
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(IngestionService, port);
    async function* batches() {
      await Promise.resolve();
      for (let i = 0; i < 50; i++) {
        yield { records: [{ dataset: 'iris', key: `k${i}` }, { dataset: 'iris', key: '' }] };
      }
    }
    const response = await client.ingestRecords(batches());
    expect(response.accepted).toBe(50n);
    expect(response.rejected).toBe(50n);
  });

  it('runs a bidi stream in order', async () => {
    const server = harness.server({ auth: 'disabled' });
    server.add(GRPCInferenceService, fullInferenceImpl());
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(GRPCInferenceService, port);
    async function* requests() {
      await Promise.resolve();
      for (let i = 0; i < 20; i++) {
        yield { modelName: i === 5 ? '' : 'm', id: String(i), rawInputContents: [new Uint8Array([i])] };
      }
    }
    const seen: string[] = [];
    for await (const response of client.modelStreamInfer(requests())) {
      seen.push(response.errorMessage || `${response.inferResponse?.id}:${response.inferResponse?.rawOutputContents[0]?.[0]}`);
    }
    expect(seen).toHaveLength(20);
    expect(seen[3]).toBe('3:3');
    expect(seen[5]).toBe('model_name: must not be empty');
  });

  it('serves grpc.health.v1 Check and Watch', async () => {
    const server = harness.server({ auth: 'disabled' });
    server.add(IngestionService, ingestionImpl);
    const port = await server.start('127.0.0.1', 0);
    const health = harness.client(Health, port);
    expect((await health.check({ service: '' })).status).toBe(ServingStatus.SERVING);
    expect((await health.check({ service: 'aio.ingestion.v1.IngestionService' })).status).toBe(ServingStatus.SERVING);
    expect((await rejection(health.check({ service: 'nope' }))).code).toBe(Status.NOT_FOUND);

    const controller = new AbortController();
    const statuses: ServingStatus[] = [];
    const watching = (async () => {
      for await (const update of health.watch({ service: 'aio.ingestion.v1.IngestionService' }, { signal: controller.signal })) {
        statuses.push(update.status);
        if (statuses.length === 1) server.setServing('aio.ingestion.v1.IngestionService', false);
        if (statuses.length === 2) break;
      }
    })();
    await watching;
    expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });
});

describe('deadlines', () => {
  it('fails the client with DEADLINE_EXCEEDED and aborts the handler signal', async () => {
    const { client, probe } = await openRegistry();
    const error = await rejection(client.getModel({ name: 'hang' }, { timeoutMs: 3_000 }));
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
    const reason = await probe.aborted.promise;
    expect(reason).toBeInstanceOf(GrpcError);
    // The server learns of it either from its own deadline timer or from the client's cancellation, which
    // can arrive a little earlier (the server's deadline counts from the call's arrival): both end the work.
    expect([Status.DEADLINE_EXCEEDED, Status.CANCELLED]).toContain((reason as GrpcError).code);
  });

  it('tells onCancel listeners when the client cancels, as the signal would', async () => {
    const { client, probe, server } = await openRegistry();
    const controller = new AbortController();
    const pending = rejection(client.getModel({ name: 'hang-listener' }, { signal: controller.signal }));
    await probe.hangStarted.promise;
    controller.abort();
    expect(((await probe.aborted.promise) as GrpcError).code).toBe(Status.CANCELLED);
    expect((await pending).code).toBe(Status.CANCELLED);
    await expect.poll(() => server.inFlight).toBe(0);
  });
});

describe('auth', () => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789';
  const issuer = 'aio-test';
  const audience = 'aio';
  const tokenFor = (roles: Role[]) => mintToken({ secret, subject: `user-${roles.join('+') || 'none'}`, roles, issuer, audience });

  async function openSecured() {
    const probe = newProbe();
    const server = harness.server({ auth: { verifier: TokenVerifier.fromOptions({ secret, issuer, audience }), authorize: isAllowed } });
    server.add(RegistryService, fullRegistryImpl(probe));
    server.add(GRPCInferenceService, fullInferenceImpl(), {
      defaultPermission: 'inference:infer',
      permissions: { RepositoryModelLoad: 'inference:admin', RepositoryModelUnload: 'inference:admin' },
      publicMethods: ['ServerLive'],
    });
    const port = await server.start('127.0.0.1', 0);
    return { port, probe };
  }

  it('rejects a call without a token with UNAUTHENTICATED', async () => {
    const { port } = await openSecured();
    const client = harness.client(RegistryService, port);
    const error = await rejection(client.getModel({ name: 'x' }));
    expect(error.code).toBe(Status.UNAUTHENTICATED);
    expect(error.message).toContain('missing token');
  });

  it('rejects a forged token with UNAUTHENTICATED', async () => {
    const { port } = await openSecured();
    const forged = await mintToken({ secret: 'another-secret-that-is-long-enough-987654', subject: 'x', roles: ['admin'], issuer, audience });
    const client = harness.client(RegistryService, port, { token: () => forged });
    expect((await rejection(client.getModel({ name: 'x' }))).code).toBe(Status.UNAUTHENTICATED);
  });

  it('rejects a role without the method permission with PERMISSION_DENIED', async () => {
    const { port } = await openSecured();
    const viewer = await tokenFor(['viewer']);
    const client = harness.client(RegistryService, port, { token: () => viewer });
    expect((await client.getModel({ name: 'x' })).model?.name).toBe('x');
    const error = await rejection(client.createModel({ name: 'x' }));
    expect(error.code).toBe(Status.PERMISSION_DENIED);
    expect(error.message).toContain('"models:write"');
  });

  it('lets an allowed principal through and hands it to the handler', async () => {
    const { port, probe } = await openSecured();
    const engineer = await tokenFor(['ml-engineer']);
    const client = harness.client(RegistryService, port, { token: () => engineer });
    expect((await client.createModel({ name: 'iris' })).model?.name).toBe('iris');
    expect(probe.subjects).toEqual(['user-ml-engineer']);
  });

  it('uses the service default permission, per-method overrides, public methods and a public health service', async () => {
    const { port } = await openSecured();
    const producer = await tokenFor(['producer']);
    const inference = harness.client(GRPCInferenceService, port, { token: () => producer });
    const out = await inference.modelInfer({ modelName: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1n] }], rawInputContents: [new Uint8Array(4)] });
    expect(out.rawOutputContents).toHaveLength(1);
    expect((await rejection(inference.repositoryModelLoad({ modelName: 'm' }))).code).toBe(Status.PERMISSION_DENIED);

    const anonymous = harness.client(GRPCInferenceService, port);
    expect((await anonymous.serverLive({})).live).toBe(true);
    expect((await rejection(anonymous.modelInfer({ modelName: 'm' }))).code).toBe(Status.UNAUTHENTICATED);
    expect((await harness.client(Health, port).check({ service: '' })).status).toBe(ServingStatus.SERVING);
  });

  it('refuses to register a method with no permission while auth is on', () => {
    const server = createGrpcServer({ auth: { verifier: { verify: () => Promise.reject(new Error('unused')) }, authorize: () => false } });
    expect(() => server.add(GRPCInferenceService, fullInferenceImpl())).toThrow(/inference.GRPCInferenceService\/ServerLive declares no/);
  });
});

describe('shutdown', () => {
  it('drains an in-flight call and refuses new ones', async () => {
    const { server, client, port, probe } = await openRegistry();
    const inflight = client.getModel({ name: 'slow' });
    await probe.slowStarted.promise;
    expect(server.inFlight).toBe(1);
    const stopped = server.shutdown(5_000);
    const late = harness.client(RegistryService, port);
    const refused = await rejection(late.getModel({ name: 'x' }, { timeoutMs: 2_000 }));
    expect(refused.code).toBe(Status.UNAVAILABLE);
    probe.slowRelease.resolve();
    expect((await inflight).model?.name).toBe('slow');
    await stopped;
    expect(server.inFlight).toBe(0);
  });

  it('aborts calls still running after the grace period', async () => {
    const { server, client, probe } = await openRegistry();
    const hanging = rejection(client.getModel({ name: 'hang' }));
    await expect.poll(() => server.inFlight).toBe(1);
    const started = Date.now();
    await server.shutdown(100);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(((await probe.aborted.promise) as GrpcError).code).toBe(Status.UNAVAILABLE);
    expect((await hanging).code).not.toBe(Status.OK);
  });
});
