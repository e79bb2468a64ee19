import { GrpcError, Status } from '@aio/grpc';
import { DeploymentSchema } from '@aio/proto/aio/registry/v1/registry';
import { ModelInferRequestSchema, type ModelInferRequest } from '@aio/proto/inference/grpc_service';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { indexEntries, servedVersions } from './deployments.service.js';
import { VersionStats } from './serving/model.stats.js';
import type { ServedVersion } from './serving/model.manager.js';
import { validateInferRequest } from './inference.service.js';

const request = (init: MessageInitShape<typeof ModelInferRequestSchema>): ModelInferRequest =>
  create(ModelInferRequestSchema, { modelName: 'iris', inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 4n] }], ...init });

function rejection(req: ModelInferRequest): string | undefined {
  try {
    validateInferRequest(req);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(Status.INVALID_ARGUMENT);
    return (err as GrpcError).message;
  }
}

describe('validateInferRequest', () => {
  it('accepts a well-formed request', () => {
    expect(rejection(request({}))).toBeUndefined();
    expect(rejection(request({ rawInputContents: [new Uint8Array(16)] }))).toBeUndefined();
  });

  it('names the field that breaks a rule', () => {
    expect(rejection(request({ modelName: '' }))).toMatch(/^model_name: is required/);
    expect(rejection(request({ inputs: [] }))).toMatch(/^inputs: /);
    expect(rejection(request({ inputs: [{ name: '', datatype: 'FP32', shape: [1n] }] }))).toMatch(/^inputs\[0\]\.name: /);
    expect(rejection(request({ inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1n] }] }))).toMatch(/^inputs\[0\]\.datatype: must be one of/);
    expect(rejection(request({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1n] }] }))).toMatch(/^inputs\[0\]\.shape: /);
    expect(
      rejection(request({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1n] }, { name: 'x', datatype: 'FP32', shape: [1n] }] })),
    ).toMatch(/^inputs\[1\]\.name: "x" is given twice/);
    expect(rejection(request({ rawInputContents: [new Uint8Array(1), new Uint8Array(1)] }))).toMatch(/^raw_input_contents: /);
  });
});

describe('repository index entries', () => {
  it('lists the traffic split and shadows, else the pinned version, else the alias target', () => {
    expect(servedVersions(create(DeploymentSchema, { model: 'a', target: { case: 'version', value: 3 } }))).toEqual(['3']);
    expect(servedVersions(create(DeploymentSchema, { model: 'a', target: { case: 'alias', value: 'champion' } }))).toEqual(['']);
    expect(
      servedVersions(
        create(DeploymentSchema, { model: 'a', target: { case: 'version', value: 1 }, traffic: [{ version: 2, weight: 90 }, { version: 3, weight: 10 }], shadowVersions: [4, 2] }),
      ),
    ).toEqual(['2', '3', '4']);
  });

  it('reports held versions with their state, else every deployed version UNAVAILABLE with the reason', () => {
    const held: ServedVersion = {
      model: 'iris', version: 2, key: 'iris@2#1', path: '/x', state: 'READY', reason: '', signature: undefined, loaded: undefined, batching: undefined, inFlight: 0, stats: new VersionStats(), onDrained: undefined, bytes: 0, lastUsed: 0, evicted: false, reviving: undefined,
    };
    const deployments = [
      create(DeploymentSchema, { model: 'iris', target: { case: 'version', value: 2 } }),
      create(DeploymentSchema, { model: 'churn', target: { case: 'version', value: 1 } }),
    ];
    const entries = indexEntries(deployments, (m) => (m === 'iris' ? [held] : []), (m) => `${m}: registry unreachable`);
    expect(entries.map(({ name, version, state, reason }) => ({ name, version, state, reason }))).toEqual([
      { name: 'iris', version: '2', state: 'READY', reason: '' },
      { name: 'churn', version: '1', state: 'UNAVAILABLE', reason: 'churn: registry unreachable' },
    ]);
  });
});
