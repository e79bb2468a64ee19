import { randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createKafka, createPublisher, type EventPublisher } from '@aio/events';
import { createGrpcClient, Status, type GrpcClient } from '@aio/grpc';
import { Platform, type RunningService } from '@aio/host';
import { eventually, grpcFailure } from '@aio/host/testing';
import { DeploymentChangedSchema, ModelCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { startTelemetry } from '@aio/telemetry';
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startInferenceGateway } from '../src/inference-gateway.app.js';
import { MetricsServer } from '../src/metrics.server.js';

const secret = `gateway-int-${randomUUID()}`;
const run = randomUUID().slice(0, 8);
const prefix = `t-gateway-${run}`;
const database = `aio_gateway_test_${run}`;
const source = 'aio/registry-test';

let running: RunningService;
let publisher: EventPublisher;
let admin: ReturnType<ReturnType<typeof createKafka>['admin']>;
let client: GrpcClient<typeof GRPCInferenceService>;
let anonymous: GrpcClient<typeof GRPCInferenceService>;
let token: string;
let topic: string;
let base: string;


const failure = grpcFailure;

const validInfer = { modelName: 'iris', inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 4n] }] };

beforeAll(async () => {
  const config = loadConfig({
    ...process.env,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    METRICS_PORT: '0',
    AIO_AUTH_SECRET: secret,
    AIO_TOPIC_PREFIX: prefix,
    AIO_DATABASE: database,
    AIO_TELEMETRY_EXPORT: 'none',
    // No registry here: resolving a deployment fails, which the index and NOT_FOUND messages report.
    AIO_REGISTRY_ADDR: '127.0.0.1:1',
    AIO_INFER_WORKERS: '1',
  });
  const telemetry = await startTelemetry({ serviceName: 'inference-gateway', serviceVersion: 'test', export: 'none', logLevel: 'warn' });
  running = await startInferenceGateway(config, telemetry, { handleSignals: false });
  topic = running.app.get(Platform).topics.registryEvents;
  base = `http://127.0.0.1:${running.httpPort}`;
  const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `gateway-int-${run}` });
  publisher = createPublisher(kafka);
  await publisher.connect();
  admin = kafka.admin();
  await admin.connect();
  token = await mintToken({ secret, subject: 'tester', roles: ['producer'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
  client = createGrpcClient(GRPCInferenceService, `127.0.0.1:${running.grpcPort}`, { token: () => token, timeoutMs: 5_000 });
  anonymous = createGrpcClient(GRPCInferenceService, `127.0.0.1:${running.grpcPort}`, { timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  anonymous?.close();
  await publisher?.disconnect();
  await running?.app.get(Platform).mongo.dropDatabase();
  await running?.stop();
  // The platform created every shared topic of this prefix at start.
  const ours = (await admin?.listTopics())?.filter((t) => t.startsWith(`${prefix}.`)) ?? [];
  if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  await admin?.disconnect();
});

describe('inference gateway (gRPC)', () => {
  it('answers ServerLive and ServerReady without a token', async () => {
    expect(await anonymous.serverLive({})).toMatchObject({ live: true });
    expect(await anonymous.serverReady({})).toMatchObject({ ready: true });
  });

  it('answers ServerMetadata with a token, and only with one', async () => {
    expect(await client.serverMetadata({})).toMatchObject({ name: 'aiochestrator', version: '0.1.0', extensions: ['model_repository', 'model_configuration', 'statistics'] });
    expect((await failure(anonymous.serverMetadata({}))).code).toBe(Status.UNAUTHENTICATED);
  });

  it('validates ModelInfer before answering NOT_FOUND for a model that is not loaded', async () => {
    const empty = await failure(client.modelInfer({ ...validInfer, modelName: '' }));
    expect(empty.code).toBe(Status.INVALID_ARGUMENT);
    expect(empty.message).toMatch(/^model_name: /);
    const unknown = await failure(client.modelInfer({ ...validInfer, modelName: 'never-deployed' }));
    expect(unknown.code).toBe(Status.NOT_FOUND);
    expect(unknown.message).toMatch(/^model never-deployed is not loaded: no deployment of it is known/);
    expect(await client.modelReady({ name: 'never-deployed' })).toMatchObject({ ready: false });
    expect((await failure(client.modelMetadata({ name: 'never-deployed' }))).code).toBe(Status.NOT_FOUND);
    expect((await client.modelStatistics({})).modelStats).toEqual([]);
  });

  it('reports each failed request of ModelStreamInfer in its message and keeps the stream open', async () => {
    async function* requests() {
      yield await Promise.resolve({ ...validInfer, id: 'a' });
      yield { ...validInfer, id: 'b', modelName: '' };
    }
    const answers = [];
    for await (const answer of client.modelStreamInfer(requests(), { timeoutMs: 5_000 })) answers.push(answer);
    expect(answers.map((a) => [a.inferResponse?.id, a.errorMessage.split(':')[0]])).toEqual([
      ['a', 'model iris is not loaded'],
      ['b', 'model_name'],
    ]);
  });

  it('keeps repository load/unload behind inference:admin and loads only deployed models', async () => {
    expect((await failure(client.repositoryModelLoad({ modelName: 'iris' }))).code).toBe(Status.PERMISSION_DENIED);
    const adminToken = await mintToken({ secret, subject: 'root', roles: ['admin'], issuer: 'aio-local', audience: 'aio' });
    const root = createGrpcClient(GRPCInferenceService, `127.0.0.1:${running.grpcPort}`, { token: () => adminToken, timeoutMs: 5_000 });
    try {
      const err = await failure(root.repositoryModelLoad({ modelName: 'iris' }));
      expect(err.code).toBe(Status.NOT_FOUND);
      expect(err.message).toMatch(/^model iris has no deployment known to this gateway/);
      expect((await failure(root.repositoryModelUnload({ modelName: 'iris' }))).code).toBe(Status.NOT_FOUND);
      expect((await failure(root.repositoryModelLoad({ modelName: '' }))).message).toMatch(/^model_name: /);
    } finally {
      root.close();
    }
  });

  it('indexes the deployments announced by DeploymentChanged, keeping the latest generation', async () => {
    const deployment = (generation: number, version: number) =>
      create(DeploymentChangedSchema, { deployment: { model: 'iris', target: { case: 'version', value: version }, generation } });
    await publisher.publish(topic, ModelCreatedSchema, create(ModelCreatedSchema, { model: { name: 'iris' } }), { key: 'iris', source });
    await publisher.publish(topic, DeploymentChangedSchema, deployment(2, 2), { key: 'iris', source });
    await publisher.publish(topic, DeploymentChangedSchema, deployment(1, 1), { key: 'iris', source }); // stale: ignored
    await publisher.publish(topic, DeploymentChangedSchema, create(DeploymentChangedSchema, { deployment: { model: 'churn', target: { case: 'alias', value: 'champion' }, generation: 1 } }), {
      key: 'churn',
      source,
    });
    // Both fail to resolve (no registry answers): the index says so, per deployment.
    const { models } = await eventually('both deployments in the repository index with their reasons', async () => {
      const index = await client.repositoryIndex({});
      return index.models.length === 2 && index.models.every((m) => m.reason.includes('cannot be served')) ? index : undefined;
    });
    expect(models.map(({ name, version, state }) => ({ name, version, state }))).toEqual([
      { name: 'churn', version: '', state: 'UNAVAILABLE' },
      { name: 'iris', version: '2', state: 'UNAVAILABLE' },
    ]);
    expect(models[0]?.reason).toMatch(/^deployment generation 1 cannot be served: the registry at 127\.0\.0\.1:1 cannot resolve churn alias champion: UNAVAILABLE/);
    expect(models[1]?.reason).toMatch(/^deployment generation 2 cannot be served: the registry at 127\.0\.0\.1:1 cannot resolve iris version 2: UNAVAILABLE/);
    expect((await client.repositoryIndex({ ready: true })).models).toEqual([]);
    expect((await failure(client.repositoryIndex({ repositoryName: 'elsewhere' }))).code).toBe(Status.NOT_FOUND);
    const deployed = await failure(client.modelInfer(validInfer));
    expect(deployed.code).toBe(Status.NOT_FOUND);
    expect(deployed.message).toMatch(/^model iris is not loaded: it is deployed \(generation 2\) but deployment generation 2 cannot be served: the registry at/);
  });
});

describe('inference gateway (REST and metrics)', () => {
  it('answers the OIP health routes without a token', async () => {
    const live = await fetch(`${base}/v2/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${base}/v2/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('serves server metadata and 404s for models that are not loaded', async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${base}/v2`)).status).toBe(401);
    const meta = await fetch(`${base}/v2`, { headers: auth });
    expect(await meta.json()).toEqual({ name: 'aiochestrator', version: '0.1.0', extensions: ['model_repository', 'model_configuration', 'statistics'] });
    for (const path of ['/v2/models/never-deployed', '/v2/models/never-deployed/ready']) {
      const res = await fetch(`${base}${path}`, { headers: auth });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/^model never-deployed is not loaded/);
    }
  });

  it('serves Prometheus text on the metrics port', async () => {
    const res = await fetch(`http://127.0.0.1:${running.app.get(MetricsServer).port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    await res.text();
    expect((await fetch(`http://127.0.0.1:${running.app.get(MetricsServer).port}/other`)).status).toBe(404);
  });
});
