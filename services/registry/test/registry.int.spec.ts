import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createKafka, EventHandlers, subscribe, type EventSubscriber } from '@aio/events';
import { createGrpcClient, Status, type GrpcClient } from '@aio/grpc';
import type { RunningService } from '@aio/host';
import { grpcFailure, startForTest, type ServiceUnderTest } from '@aio/host/testing';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { RegistryService, UploadArtifactHeaderSchema, UploadArtifactRequestSchema } from '@aio/proto/aio/registry/v1/registry';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type RegistryConfig } from '../src/config.js';
import { startRegistry } from '../src/registry.app.js';

const artifactDir = await mkdtemp(path.join(tmpdir(), 'aio-registry-artifacts-'));
const fixture = (name: string): Promise<Buffer> => readFile(new URL(`./fixtures/${name}`, import.meta.url));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const MAX_BYTES = 64 * 1024;

/** An UploadArtifact stream: the header, then the file in chunks of `chunkSize` bytes. */
async function* uploadStream(bytes: Uint8Array, header: MessageInitShape<typeof UploadArtifactHeaderSchema> = {}, chunkSize = 40): AsyncGenerator<MessageInitShape<typeof UploadArtifactRequestSchema>> {
  yield { part: { case: 'header', value: { filename: 'model.onnx', ...header } } };
  for (let i = 0; i < bytes.length; i += chunkSize) yield await Promise.resolve({ part: { case: 'chunk' as const, value: bytes.subarray(i, i + chunkSize) } });
}

/** Every artifact file in the store (temporary files included). */
async function storedFiles(): Promise<string[]> {
  const entries = await readdir(artifactDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

let svc: ServiceUnderTest<RegistryConfig>;
let running: RunningService;
let admin: GrpcClient<typeof RegistryService>;
let viewer: GrpcClient<typeof RegistryService>;
let subscriber: EventSubscriber;
const events: { type: string; key: string | undefined; traceparent: string | undefined }[] = [];
let eventArrived: () => void = () => undefined;

const token = (roles: ('admin' | 'viewer')[]): Promise<string> => svc.token(roles, `${roles[0]}-user`);

/** Resolves once `n` registry events were consumed (woken by the handler, never by polling). */
async function eventsSeen(n: number): Promise<void> {
  while (events.length < n) await new Promise<void>((resolve) => (eventArrived = resolve));
}

const rejection = grpcFailure;

beforeAll(async () => {
  svc = await startForTest({
    name: 'registry',
    loadConfig,
    start: startRegistry,
    env: { AIO_ARTIFACT_DIR: artifactDir, AIO_ARTIFACT_MAX_BYTES: String(MAX_BYTES) },
  });
  running = svc.running;
  const address = svc.grpcAddress;
  const [adminToken, viewerToken] = await Promise.all([token(['admin']), token(['viewer'])]);
  admin = createGrpcClient(RegistryService, address, { token: () => adminToken });
  viewer = createGrpcClient(RegistryService, address, { token: () => viewerToken });
  const record = (type: string) => (e: { key: string | undefined; headers: Record<string, string> }) => {
    events.push({ type, key: e.key, traceparent: e.headers['traceparent'] });
    eventArrived();
    return Promise.resolve();
  };
  subscriber = await subscribe(createKafka({ brokers: [...svc.config.KAFKA_BROKERS], clientId: `${svc.prefix}-observer` }), {
    groupId: `${svc.prefix}-observer`,
    topics: [`${svc.prefix}.events.registry`],
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
  await svc?.stop();
  await rm(artifactDir, { recursive: true, force: true });
});

describe('registry on real FerretDB and Kafka', () => {
  it('registers a model, versions, alias moves and a deployment, each announced on the registry topic', async () => {
    const { model } = await admin.createModel({ name: 'iris', description: 'flowers', labels: { team: 'ml' } });
    expect(model?.name).toBe('iris');
    const [a, b] = await Promise.all([admin.uploadArtifact(uploadStream(await fixture('identity.onnx'))), admin.uploadArtifact(uploadStream(await fixture('add.onnx')))]);
    const v1 = await admin.createModelVersion({ model: 'iris', artifactSha256: a.artifact?.sha256, metrics: { accuracy: 0.9 }, lineage: { dataset: 'iris', datasetVersion: 1 } });
    const v2 = await admin.createModelVersion({ model: 'iris', artifactSha256: b.artifact?.sha256, metrics: { accuracy: 0.95 } });
    expect([v1.version?.version, v2.version?.version]).toEqual([1, 2]);
    expect(v1.version?.inputs.map((t) => t.name)).toEqual(['x']);

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
    const notUploaded = await rejection(admin.createModelVersion({ model: 'dup', artifactSha256: 'f'.repeat(64) }));
    expect(notUploaded.code).toBe(Status.FAILED_PRECONDITION);
    expect(notUploaded.message).toMatch(/^artifact f{64} is not uploaded: upload it first/);
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

describe('artifacts', () => {
  it('uploads ONNX models in chunks, records their signature once per sha256 and fills versions from it', async () => {
    const bytes = await fixture('identity.onnx');
    const first = await admin.uploadArtifact(uploadStream(bytes, { expectedSize: BigInt(bytes.length), expectedSha256: sha256(bytes) }, 7));
    expect(first.artifact).toMatchObject({ sha256: sha256(bytes), size: BigInt(bytes.length), format: 'onnx', filename: 'model.onnx', createdBy: 'admin-user' });
    expect(first.artifact?.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([['x', 'FP32', [-1n, 4n]]]);
    expect(first.artifact?.outputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([['y', 'FP32', [-1n, 4n]]]);

    const again = await admin.uploadArtifact(uploadStream(bytes, { filename: 'copy.onnx' }));
    expect(again.created).toBe(false);
    expect(again.artifact?.filename).toBe(first.artifact?.filename);
    expect((await viewer.getArtifact({ sha256: sha256(bytes) })).artifact?.createTime).toEqual(first.artifact?.createTime);

    await admin.createModel({ name: 'signed' });
    const version = await admin.createModelVersion({ model: 'signed', artifactSha256: sha256(bytes) });
    expect(version.version?.inputs).toEqual(first.artifact?.inputs);
    expect(version.version?.framework).toBe('onnx');
  });

  it('refuses corrupt and non-ONNX files and mismatching headers, keeping nothing of them', async () => {
    const model = await fixture('add.onnx');
    const before = await storedFiles();
    const junk = new TextEncoder().encode('this is a CSV file, not a model\n1,2,3\n');
    for (const bad of [junk, model.subarray(0, model.length - 9)]) {
      const err = await rejection(admin.uploadArtifact(uploadStream(bad)));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.message).toMatch(/^artifact: not a loadable ONNX model: /);
      expect(err.message).not.toContain(artifactDir);
      expect((await rejection(admin.getArtifact({ sha256: sha256(bad) }))).code).toBe(Status.NOT_FOUND);
    }
    expect((await rejection(admin.uploadArtifact(uploadStream(model, { expectedSize: BigInt(model.length + 1) })))).message).toMatch(/^expected_size: the upload has \d+ bytes/);
    expect((await rejection(admin.uploadArtifact(uploadStream(model, { expectedSha256: 'e'.repeat(64) })))).message).toMatch(/^expected_sha256: /);
    expect((await rejection(admin.uploadArtifact(uploadStream(model, { format: 'pickle' })))).message).toMatch(/^format: /);
    expect((await rejection(admin.uploadArtifact(uploadStream(new Uint8Array(MAX_BYTES + 1), {}, 16 * 1024)))).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((await rejection(viewer.uploadArtifact(uploadStream(model)))).code).toBe(Status.PERMISSION_DENIED);
    expect(await storedFiles()).toEqual(before);
  });

  it('uploads over REST as a streamed application/octet-stream body', async () => {
    const base = `http://127.0.0.1:${running.httpPort}/v1/artifacts`;
    const authorization = `Bearer ${await token(['admin'])}`;
    const bytes = await fixture('cast.onnx');
    const octet = { authorization, 'content-type': 'application/octet-stream' };
    const put = await fetch(`${base}?filename=cast.onnx&expected_sha256=${sha256(bytes)}`, { method: 'PUT', headers: octet, body: bytes });
    expect(put.status).toBe(201);
    const body = (await put.json()) as { sha256: string; size: string; inputs: unknown[]; outputs: unknown[] };
    expect(body).toMatchObject({ sha256: sha256(bytes), size: String(bytes.length), filename: 'cast.onnx' });
    expect(body.inputs).toEqual([{ name: 'x', datatype: 'FP64', shape: ['-1'] }]);
    expect(body.outputs).toEqual([{ name: 'y', datatype: 'INT32', shape: ['-1'] }]);
    expect((await fetch(base, { method: 'PUT', headers: octet, body: bytes })).status).toBe(200);
    expect((await fetch(`${base}/${sha256(bytes)}`, { headers: { authorization } })).status).toBe(200);
    expect((await fetch(`${base}/${'0'.repeat(64)}`, { headers: { authorization } })).status).toBe(404);
    expect((await fetch(`${base}/not-a-sha`, { headers: { authorization } })).status).toBe(400);

    const junk = await fetch(base, { method: 'PUT', headers: octet, body: 'not a model' });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: string }).error).toMatch(/^artifact: not a loadable ONNX model: /);
    const tooBig = await fetch(base, { method: 'PUT', headers: octet, body: new Uint8Array(MAX_BYTES + 1) });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: string }).error).toMatch(/AIO_ARTIFACT_MAX_BYTES/);
    const json = await fetch(base, { method: 'PUT', headers: { authorization, 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    expect((await fetch(base, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).status).toBe(401);
  });
});
