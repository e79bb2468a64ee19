import { randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createKafka, createPublisher, type EventPublisher } from '@aio/events';
import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import { Platform, type RunningService } from '@aio/host';
import { eventually } from '@aio/host/testing';
import { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { startTelemetry } from '@aio/telemetry';
import { create } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startMonitor } from '../src/monitor.app.js';
import { WatchedModelsRepository } from '../src/watched-models.repository.js';

const secret = `monitor-int-${randomUUID()}`;
const run = randomUUID().slice(0, 8);
const prefix = `t-monitor-${run}`;
const database = `aio_monitor_test_${run}`;
const source = 'aio/registry-test';

let running: RunningService;
let publisher: EventPublisher;
let admin: ReturnType<ReturnType<typeof createKafka>['admin']>;
let client: GrpcClient<typeof MonitorService>;
let token: string;
let topic: string;


async function grpcCode(call: Promise<unknown>): Promise<Status | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return err instanceof GrpcError ? err.code : undefined;
  }
}

beforeAll(async () => {
  const config = loadConfig({
    ...process.env,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    AIO_AUTH_SECRET: secret,
    AIO_TOPIC_PREFIX: prefix,
    AIO_DATABASE: database,
    AIO_TELEMETRY_EXPORT: 'none',
  });
  const telemetry = await startTelemetry({ serviceName: 'monitor', serviceVersion: 'test', export: 'none', logLevel: 'warn' });
  running = await startMonitor(config, telemetry, { handleSignals: false });
  topic = running.app.get(Platform).topics.registryEvents;
  const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `monitor-int-${run}` });
  publisher = createPublisher(kafka);
  await publisher.connect();
  admin = kafka.admin();
  await admin.connect();
  token = await mintToken({ secret, subject: 'tester', roles: ['viewer'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
  client = createGrpcClient(MonitorService, `127.0.0.1:${running.grpcPort}`, { token: () => token, timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await publisher?.disconnect();
  await running?.app.get(Platform).mongo.dropDatabase();
  await running?.stop();
  // The platform created every shared topic of this prefix at start.
  const ours = (await admin?.listTopics())?.filter((t) => t.startsWith(`${prefix}.`)) ?? [];
  if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  await admin?.disconnect();
});

describe('monitor', () => {
  it('watches the models announced by registry events, counting a redelivered event once', async () => {
    const deploymentId = randomUUID();
    const deployment = create(DeploymentChangedSchema, { deployment: { model: 'iris', target: { case: 'version', value: 1 }, generation: 1 } });
    await publisher.publish(topic, ModelCreatedSchema, create(ModelCreatedSchema, { model: { name: 'iris' } }), { key: 'iris', source });
    await publisher.publish(topic, ModelVersionCreatedSchema, create(ModelVersionCreatedSchema, { version: { model: 'iris', version: 1 } }), { key: 'iris', source });
    await publisher.publish(topic, DeploymentChangedSchema, deployment, { key: 'iris', source, id: deploymentId });
    await publisher.publish(topic, DeploymentChangedSchema, deployment, { key: 'iris', source, id: deploymentId });
    // Same key, same partition: once this last event shows, every earlier one was handled.
    const change = { model: 'iris', alias: 'champion', fromVersion: 0, toVersion: 1 };
    await publisher.publish(topic, AliasMovedSchema, create(AliasMovedSchema, { change }), { key: 'iris', source });

    const iris = await eventually('iris with its champion alias in ListWatchedModels', async () => {
      const { models } = await client.listWatchedModels({});
      return models.find((m) => m.model === 'iris' && m.aliases.champion === 1);
    });
    expect(iris.versions).toEqual([1]);
    expect(iris.firstSeenTime).toBeDefined();

    const doc = await running.app.get(WatchedModelsRepository).find('iris');
    expect(doc).toMatchObject({ eventCount: 4, deploymentGeneration: 1 });
    expect(doc?.recentEventIds.filter((id) => id === deploymentId)).toHaveLength(1);
  });

  it('pages through watched models in name order', async () => {
    await publisher.publish(topic, ModelCreatedSchema, create(ModelCreatedSchema, { model: { name: 'churn' } }), { key: 'churn', source });
    await eventually('churn to be watched', async () => ((await client.listWatchedModels({})).models.some((m) => m.model === 'churn') ? true : undefined));

    const first = await client.listWatchedModels({ pageSize: 1 });
    expect(first.models.map((m) => m.model)).toEqual(['churn']);
    expect(first.nextPageToken).not.toBe('');
    const second = await client.listWatchedModels({ pageSize: 1, pageToken: first.nextPageToken });
    expect(second.models.map((m) => m.model)).toEqual(['iris']);
    const third = await client.listWatchedModels({ pageSize: 1, pageToken: second.nextPageToken });
    expect(third.models).toEqual([]);
    expect(third.nextPageToken).toBe('');
    expect(await grpcCode(client.listWatchedModels({ pageToken: 'not a token' }))).toBe(Status.INVALID_ARGUMENT);
  });

  it('answers GetModelHealth for watched models only', async () => {
    const { health } = await client.getModelHealth({ model: 'iris', windowSeconds: 60 });
    expect(health).toMatchObject({ model: 'iris', requestCount: 0n, errorRate: 0, drift: [] });
    expect(await grpcCode(client.getModelHealth({ model: 'never-announced' }))).toBe(Status.NOT_FOUND);
    expect(await grpcCode(client.getModelHealth({ model: 'iris', version: 9 }))).toBe(Status.NOT_FOUND);
    expect(await grpcCode(client.getModelHealth({ model: '' }))).toBe(Status.INVALID_ARGUMENT);
  });

  it('requires a token with monitor:read', async () => {
    const anonymous = createGrpcClient(MonitorService, `127.0.0.1:${running.grpcPort}`, { timeoutMs: 5_000 });
    try {
      expect(await grpcCode(anonymous.listWatchedModels({}))).toBe(Status.UNAUTHENTICATED);
    } finally {
      anonymous.close();
    }
  });

  it('serves the same over REST', async () => {
    const base = `http://127.0.0.1:${running.httpPort}`;
    const auth = { authorization: `Bearer ${token}` };
    const list = await fetch(`${base}/v1/models`, { headers: auth });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { models: { model: string; aliases?: Record<string, number> }[] };
    expect(body.models.map((m) => m.model)).toEqual(['churn', 'iris']);
    expect(body.models[1]?.aliases).toEqual({ champion: 1 });

    const health = await fetch(`${base}/v1/models/iris/health?window_seconds=60`, { headers: auth });
    expect(health.status).toBe(200);
    expect(((await health.json()) as { health: { model: string } }).health.model).toBe('iris');

    const missing = await fetch(`${base}/v1/models/never-announced/health`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(/not watched/);
    expect((await fetch(`${base}/v1/models?page_size=x`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${base}/v1/models`)).status).toBe(401);
  });
});
