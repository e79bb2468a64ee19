import { randomUUID } from 'node:crypto';
import { mintToken } from '@aio/auth';
import { createKafka, EventHandlers, subscribe, type EventSubscriber } from '@aio/events';
import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import type { RunningService } from '@aio/host';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { startTelemetry } from '@aio/telemetry';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startRegistry } from '../src/registry.app.js';

const SECRET = randomUUID() + randomUUID();
const run = randomUUID().slice(0, 8);
const env = {
  ...process.env,
  GRPC_PORT: '0',
  HTTP_PORT: '0',
  AIO_AUTH_SECRET: SECRET,
  AIO_TOPIC_PREFIX: `test-${run}`,
  AIO_DATABASE: `aio_registry_test_${run}`,
  AIO_TELEMETRY_EXPORT: 'none',
};
const config = loadConfig(env);
const sha = (c: string): string => c.repeat(64);

let running: RunningService;
let admin: GrpcClient<typeof RegistryService>;
let viewer: GrpcClient<typeof RegistryService>;
let subscriber: EventSubscriber;
const events: { type: string; key: string | undefined; traceparent: string | undefined }[] = [];
let eventArrived: () => void = () => undefined;

async function token(roles: ('admin' | 'viewer')[]): Promise<string> {
  return mintToken({ secret: SECRET, subject: `${roles[0]}-user`, roles, issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE });
}

/** Resolves once `n` registry events were consumed (woken by the handler, never by polling). */
async function eventsSeen(n: number): Promise<void> {
  while (events.length < n) await new Promise<void>((resolve) => (eventArrived = resolve));
}

async function rejection(p: Promise<unknown>): Promise<GrpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GrpcError);
  return err as GrpcError;
}

beforeAll(async () => {
  const telemetry = await startTelemetry({ serviceName: 'registry-test', serviceVersion: 'test', export: 'none', logLevel: 'warn', logToStdout: false });
  running = await startRegistry(config, telemetry, { handleSignals: false });
  const address = `127.0.0.1:${running.grpcPort}`;
  const [adminToken, viewerToken] = await Promise.all([token(['admin']), token(['viewer'])]);
  admin = createGrpcClient(RegistryService, address, { token: () => adminToken });
  viewer = createGrpcClient(RegistryService, address, { token: () => viewerToken });
  const record = (type: string) => (e: { key: string | undefined; headers: Record<string, string> }) => {
    events.push({ type, key: e.key, traceparent: e.headers['traceparent'] });
    eventArrived();
    return Promise.resolve();
  };
  subscriber = await subscribe(createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `registry-test-${run}` }), {
    groupId: `registry-test-${run}`,
    topics: [`test-${run}.events.registry`],
    fromBeginning: true,
    handlers: new EventHandlers()
      .on(ModelCreatedSchema, record('ModelCreated'))
      .on(ModelVersionCreatedSchema, record('ModelVersionCreated'))
      .on(AliasMovedSchema, record('AliasMoved'))
      .on(DeploymentChangedSchema, record('DeploymentChanged')),
  });
});

afterAll(async () => {
  await subscriber?.stop();
  admin?.close();
  viewer?.close();
  await running?.stop();
  const conn = await mongoose.createConnection(config.MONGODB_URI, { dbName: env.AIO_DATABASE }).asPromise();
  await conn.dropDatabase();
  await conn.close();
});

describe('registry on real FerretDB and Kafka', () => {
  it('registers a model, versions, alias moves and a deployment, each announced on the registry topic', async () => {
    const { model } = await admin.createModel({ name: 'iris', description: 'flowers', labels: { team: 'ml' } });
    expect(model?.name).toBe('iris');
    const v1 = await admin.createModelVersion({ model: 'iris', artifactSha256: sha('a'), metrics: { accuracy: 0.9 }, lineage: { dataset: 'iris', datasetVersion: 1 } });
    const v2 = await admin.createModelVersion({ model: 'iris', artifactSha256: sha('b'), metrics: { accuracy: 0.95 } });
    expect([v1.version?.version, v2.version?.version]).toEqual([1, 2]);

    await admin.setAlias({ model: 'iris', alias: 'champion', version: 1, reason: 'first' });
    const moved = await admin.setAlias({ model: 'iris', alias: 'champion', version: 2, reason: 'better accuracy' });
    expect(moved.change).toMatchObject({ fromVersion: 1, toVersion: 2, changedBy: 'admin-user' });
    const history = await admin.getAliasHistory({ model: 'iris', alias: 'champion' });
    expect(history.changes.map((c) => [c.fromVersion, c.toVersion])).toEqual([
      [1, 2],
      [0, 1],
    ]);
    const byAlias = await admin.getModelVersion({ model: 'iris', selector: { case: 'alias', value: 'champion' } });
    expect(byAlias.version?.metrics).toEqual({ accuracy: 0.95 });

    const dep = await admin.setDeployment({ deployment: { model: 'iris', target: { case: 'alias', value: 'champion' }, traffic: [{ version: 2, weight: 90 }, { version: 1, weight: 10 }] } });
    expect(dep.deployment?.generation).toBe(1);
    const stale = await rejection(admin.setDeployment({ deployment: { model: 'iris', target: { case: 'version', value: 1 } }, expectedGeneration: 7 }));
    expect(stale.code).toBe(Status.FAILED_PRECONDITION);

    const listed = await viewer.listModels({});
    expect(listed.models.find((m) => m.name === 'iris')?.aliases).toEqual({ champion: 2 });

    await eventsSeen(6);
    // Models and versions are separate documents relayed independently: order holds per document only.
    expect(events.map((e) => e.type).sort()).toEqual(['AliasMoved', 'AliasMoved', 'DeploymentChanged', 'ModelCreated', 'ModelVersionCreated', 'ModelVersionCreated']);
    expect(events.filter((e) => e.type === 'AliasMoved')).toHaveLength(2);
    expect(events.every((e) => e.key === 'iris' && e.traceparent !== undefined)).toBe(true);
  });

  it('answers bad requests with the status that names the problem', async () => {
    expect((await rejection(admin.createModel({ name: 'Not OK' }))).message).toMatch(/^name: /);
    await admin.createModel({ name: 'dup' });
    expect((await rejection(admin.createModel({ name: 'dup' }))).code).toBe(Status.ALREADY_EXISTS);
    expect((await rejection(admin.getModel({ name: 'missing' }))).code).toBe(Status.NOT_FOUND);
    expect((await rejection(admin.createModelVersion({ model: 'dup', artifactSha256: 'xyz' }))).message).toMatch(/^artifact_sha256: /);
    expect((await rejection(admin.setAlias({ model: 'dup', alias: 'champion', version: 3 }))).message).toMatch(/^version: /);
    expect((await rejection(viewer.createModel({ name: 'nope' }))).code).toBe(Status.PERMISSION_DENIED);
  });

  it('serves the same API over REST with { error } bodies', async () => {
    const base = `http://127.0.0.1:${running.httpPort}/v1/models`;
    const auth = { authorization: `Bearer ${await token(['admin'])}`, 'content-type': 'application/json' };
    expect((await fetch(base)).status).toBe(401);
    const created = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'rest-model' }) });
    expect(created.status).toBe(201);
    const bad = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x', colour: 'red' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^body: /);
    const list = (await (await fetch(base, { headers: auth })).json()) as { models: { name: string }[] };
    expect(list.models.map((m) => m.name)).toContain('rest-model');
    expect((await fetch(`${base}/unknown`, { headers: auth })).status).toBe(404);
  });
});
