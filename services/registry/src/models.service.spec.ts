import { GrpcError, Status } from '@aio/grpc';
import type { Platform } from '@aio/host';
import { ArtifactSchema, CreateModelRequestSchema, CreateModelVersionRequestSchema, SetAliasRequestSchema, SetDeploymentRequestSchema } from '@aio/proto/aio/registry/v1/registry';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { ArtifactsService } from './artifacts/artifacts.service.js';
import type { ModelDoc, ModelsRepository } from './models.repository.js';
import { ModelsService } from './models.service.js';

const UPLOADED = 'c'.repeat(64);

// Only the rules are under test here; storage and relaying are covered by test/registry.int.spec.ts.
function service(model?: Partial<ModelDoc>) {
  const doc: ModelDoc | null = model
    ? { _id: 'iris', description: '', labels: {}, aliases: {}, latestVersion: 0, createdAt: new Date(), createdBy: 'x', aliasHistory: [], ...model }
    : null;
  const writes: string[] = [];
  const repo = {
    insertModel: () => Promise.resolve(writes.push('insertModel') > 0),
    findModel: () => Promise.resolve(doc),
    findVersion: (_m: string, v: number) => Promise.resolve(v <= (doc?.latestVersion ?? 0) ? { _id: `iris:${v}`, model: 'iris', version: v, data: {} } : null),
    moveAlias: () => Promise.resolve(writes.push('moveAlias') > 0),
    replaceDeployment: () => Promise.resolve(writes.push('replaceDeployment') > 0),
    nextVersion: () => Promise.resolve(writes.push('nextVersion') && (doc ? doc.latestVersion + 1 : undefined)),
    insertVersion: () => Promise.resolve(writes.push('insertVersion')),
  } as unknown as ModelsRepository;
  const uploaded = create(ArtifactSchema, {
    sha256: UPLOADED,
    format: 'onnx',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1n, 4n] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1n, 4n] }],
  });
  const artifacts = {
    find: (sha: string) => Promise.resolve(sha === UPLOADED ? uploaded : undefined),
  } as unknown as ArtifactsService;
  const platform = {
    topics: { registryEvents: 'aio.events.registry' },
    nudgeOutbox: () => undefined,
    logger: { info: () => undefined },
  } as unknown as Platform;
  return { svc: new ModelsService(repo, platform, artifacts), writes };
}

async function failure(p: Promise<unknown>): Promise<GrpcError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GrpcError);
  return err as GrpcError;
}

describe('ModelsService rules', () => {
  it('refuses names and label keys no store accepts, naming the field', async () => {
    const { svc, writes } = service();
    expect((await failure(svc.createModel(create(CreateModelRequestSchema, { name: 'Iris Model' }), 'me'))).message).toMatch(/^name: /);
    expect((await failure(svc.createModel(create(CreateModelRequestSchema, { name: 'iris', labels: { 'a.b': 'c' } }), 'me'))).message).toMatch(/^labels\["a.b"\]: /);
    expect(writes).toEqual([]);
  });

  it('moves an alias only to a registered version and records where it came from', async () => {
    const { svc } = service({ latestVersion: 2, aliases: { champion: 1 } });
    const bad = await failure(svc.setAlias(create(SetAliasRequestSchema, { model: 'iris', alias: 'champion', version: 3 }), 'me'));
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    const change = await svc.setAlias(create(SetAliasRequestSchema, { model: 'iris', alias: 'champion', version: 2, reason: 'gate passed' }), 'me');
    expect(change).toMatchObject({ fromVersion: 1, toVersion: 2, reason: 'gate passed', changedBy: 'me' });
  });

  it('checks the deployment generation and every traffic route', async () => {
    const { svc } = service({ latestVersion: 1, aliases: {} });
    const unknownAlias = create(SetDeploymentRequestSchema, { deployment: { model: 'iris', target: { case: 'alias', value: 'champion' } } });
    expect((await failure(svc.setDeployment(unknownAlias, 'me'))).message).toMatch(/^deployment\.alias: /);
    const badRoute = create(SetDeploymentRequestSchema, { deployment: { model: 'iris', target: { case: 'version', value: 1 }, traffic: [{ version: 5, weight: 1 }] } });
    expect((await failure(svc.setDeployment(badRoute, 'me'))).message).toMatch(/^deployment\.traffic\[0\]\.version: /);
    const stale = create(SetDeploymentRequestSchema, { deployment: { model: 'iris', target: { case: 'version', value: 1 } }, expectedGeneration: 3 });
    expect((await failure(svc.setDeployment(stale, 'me'))).code).toBe(Status.FAILED_PRECONDITION);
    const batching = (b: { maxBatchSize?: number; preferredBatchSizes?: number[]; maxQueueDelayMicros?: number }) =>
      create(SetDeploymentRequestSchema, { deployment: { model: 'iris', target: { case: 'version', value: 1 }, batching: b } });
    expect((await failure(svc.setDeployment(batching({ maxBatchSize: 8, preferredBatchSizes: [4, 16] }), 'me'))).message).toMatch(/^deployment\.batching\.preferred_batch_sizes\[1\]: must be between 1 and max_batch_size \(8\)/);
    expect((await failure(svc.setDeployment(batching({ maxQueueDelayMicros: 20_000_000 }), 'me'))).message).toMatch(/^deployment\.batching\.max_queue_delay_micros: /);
    const ok = await svc.setDeployment(batching({ maxBatchSize: 32, preferredBatchSizes: [16, 32], maxQueueDelayMicros: 500 }), 'me');
    expect(ok.generation).toBe(1);
    expect(ok.batching).toMatchObject({ maxBatchSize: 32, preferredBatchSizes: [16, 32], maxQueueDelayMicros: 500 });
  });

  it('registers a version only of an uploaded artifact, taking its signature unless the request gives one', async () => {
    const { svc, writes } = service({ latestVersion: 0 });
    const missing = await failure(svc.createVersion(create(CreateModelVersionRequestSchema, { model: 'iris', artifactSha256: 'd'.repeat(64) }), 'me'));
    expect(missing.code).toBe(Status.FAILED_PRECONDITION);
    expect(missing.message).toMatch(/^artifact d{64} is not uploaded: upload it first/);
    expect(writes).toEqual([]);

    const v = await svc.createVersion(create(CreateModelVersionRequestSchema, { model: 'iris', artifactSha256: UPLOADED }), 'me');
    expect(v.framework).toBe('onnx');
    expect(v.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([['x', 'FP32', [-1n, 4n]]]);
    expect(v.outputs.map((t) => t.name)).toEqual(['y']);
    const own = await svc.createVersion(
      create(CreateModelVersionRequestSchema, { model: 'iris', artifactSha256: UPLOADED, inputs: [{ name: 'features', datatype: 'FP64', shape: [1n, 4n] }] }),
      'me',
    );
    expect(own.inputs.map((t) => t.name)).toEqual(['features']);
    expect(own.outputs.map((t) => t.name)).toEqual(['y']);
  });
});
