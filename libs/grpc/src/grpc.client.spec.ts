import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '@aio/proto/grpc/health/v1/health';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { afterEach, describe, expect, it } from 'vitest';
import { fullInferenceImpl, fullRegistryImpl, Harness, ingestionImpl, newProbe } from '../test/grpc.fixture.js';
import { GrpcError, Status } from './grpc.error.js';

const harness = new Harness();
afterEach(() => harness.close());

async function open() {
  const probe = newProbe();
  const server = harness.server({ auth: 'disabled' });
  server.add(RegistryService, fullRegistryImpl(probe));
  server.add(IngestionService, ingestionImpl);
  server.add(GRPCInferenceService, fullInferenceImpl());
  const port = await server.start('127.0.0.1', 0);
  return { server, port, probe };
}

describe('createGrpcClient', () => {
  it('round-trips a unary ModelInfer with raw contents', async () => {
    const { port } = await open();
    const client = harness.client(GRPCInferenceService, port);
    const input = new Float32Array([0.5, 1.5, 2.5]);
    const response = await client.modelInfer({
      modelName: 'iris',
      id: 'r1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 3n] }],
      rawInputContents: [new Uint8Array(input.buffer)],
    });
    expect(response.id).toBe('r1');
    expect(response.outputs[0]?.shape).toEqual([1n, 3n]);
    const raw = response.rawOutputContents[0] ?? new Uint8Array();
    expect(Array.from(new Float32Array(new Uint8Array(raw).buffer))).toEqual([0.5, 1.5, 2.5]);
  });

  it('sends the token and extra metadata on every call', async () => {
    const { port, probe } = await open();
    let calls = 0;
    const client = harness.client(RegistryService, port, { token: () => `t${++calls}` });
    await client.getModel({ name: 'a' });
    await client.getModel({ name: 'b' }, { metadata: { 'x-tenant': 'acme' } });
    expect(probe.headers).toEqual(['Bearer t1|', 'Bearer t2|acme']);
  });

  it('cancels a call through an AbortSignal', async () => {
    const { port, probe } = await open();
    const client = harness.client(RegistryService, port);
    const controller = new AbortController();
    const pending = client.getModel({ name: 'hang' }, { signal: controller.signal });
    await probe.hangStarted.promise;
    controller.abort();
    const reason = probe.aborted.promise;
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(Status.CANCELLED);
    expect(((await reason) as GrpcError).code).toBe(Status.CANCELLED);
  });

  it('applies the default timeout to unary calls', async () => {
    const { port } = await open();
    const client = harness.client(RegistryService, port, { timeoutMs: 50 });
    const error = await client.getModel({ name: 'hang' }).catch((e: unknown) => e);
    expect((error as GrpcError).code).toBe(Status.DEADLINE_EXCEEDED);
  });

  it('cancels the server side when the consumer leaves a stream early', async () => {
    const { server, port } = await open();
    const health = harness.client(Health, port);
    for await (const update of health.watch({ service: '' })) {
      expect(update.status).toBe(ServingStatus.SERVING);
      break;
    }
    await expect.poll(() => server.inFlight).toBe(0);
  });

  it('rejects with the source error when a request stream throws', async () => {
    const { port } = await open();
    const client = harness.client(IngestionService, port);
    async function* failing() {
      await Promise.resolve();
      yield { records: [{ dataset: 'd', key: 'k' }] };
      throw new Error('source broke');
    }
    await expect(client.ingestRecords(failing())).rejects.toThrow('source broke');
  });
});
