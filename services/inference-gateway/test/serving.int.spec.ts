// The serving engine end to end on the real local Kafka and FerretDB: ONNX models built with
// @aio/onnx in an artifact store, a registry stand-in answering GetModelVersion (with token
// checks), DeploymentChanged events, gRPC (typed and raw) and REST inference, every bad-request
// kind, a hot swap under load, canary weights, repository load/unload and the inference log.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactStore } from '@aio/artifacts';
import { isAllowed, mintToken, TokenVerifier } from '@aio/auth';
import { createKafka, createPublisher, EventHandlers, subscribe, type EventPublisher, type EventSubscriber } from '@aio/events';
import { createGrpcClient, createGrpcServer, GrpcError, Status, type GrpcClient, type GrpcServer, withUnimplemented } from '@aio/grpc';
import { Platform, type RunningService } from '@aio/host';
import { eventually as waitFor, grpcFailure } from '@aio/host/testing';
import { ModelBuilder } from '@aio/onnx';
import { InferenceRecordSchema, Route, type InferenceRecord } from '@aio/proto/aio/gateway/v1/inference_log';
import { DeploymentChangedSchema, AliasMovedSchema } from '@aio/proto/aio/registry/v1/events';
import { DeploymentSchema, ModelVersionSchema, RegistryService, type ModelVersion } from '@aio/proto/aio/registry/v1/registry';
import {
  GRPCInferenceService,
  ModelInferRequestSchema,
  type ModelInferRequest,
  type ModelInferRequest_InferInputTensorSchema,
  type ModelInferResponse,
} from '@aio/proto/inference/grpc_service';
import { startTelemetry } from '@aio/telemetry';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startInferenceGateway } from '../src/inference-gateway.app.js';

const secret = `serving-int-${randomUUID()}`;
const run = randomUUID().slice(0, 8);
const prefix = `t-serving-${run}`;
const database = `aio_gateway_serving_${run}`;
const source = 'aio/registry-test';
const MAX_INPUT_BYTES = 1 << 20;

/** y = x·W + b, d2 = d·d, i2 = i + i, n2 = -n, nf = not f: one model, five datatypes, hand-checkable. */
function buildModel(w: number[], b: number[]): Uint8Array {
  const m = new ModelBuilder({ producerVersion: 'test' });
  const x = m.input('x', 'float32', ['N', 2]);
  const d = m.input('d', 'float64', ['K']);
  const i = m.input('i', 'int64', ['K']);
  const n = m.input('n', 'int32', ['K']);
  const f = m.input('f', 'bool', ['K']);
  const y = m.add(m.matMul(x, m.initializer('W', Float32Array.from(w), [2, 2])), m.initializer('B', Float32Array.from(b), [2]));
  m.output('y', 'float32', ['N', 2], y);
  m.output('d2', 'float64', ['K'], m.mul(d, d));
  m.output('i2', 'int64', ['K'], m.add(i, i));
  const [neg] = m.node('Neg', [n]);
  m.output('n2', 'int32', ['K'], neg);
  const [not] = m.node('Not', [f]);
  m.output('nf', 'bool', ['K'], not);
  return m.toBytes();
}

/** A model the gateway cannot serve: a string input. */
function stringModel(): Uint8Array {
  const m = new ModelBuilder({ producerVersion: 'test' });
  m.output('out', 'string', ['N'], m.input('s', 'string', ['N']));
  return m.toBytes();
}

const W1 = [1, 2, 3, 4];
const B1 = [0.5, -1];
const W2 = [2, 0, 0, 2];
const B2 = [0, 0];

/** The hand-computed y for x = [[1, 1], [2, 0]]. */
const expectedY: Record<string, number[]> = {
  '1': [1 + 3 + 0.5, 2 + 4 - 1, 2 + 0.5, 4 - 1],
  '2': [2, 2, 4, 0],
};

let running: RunningService;
let publisher: EventPublisher;
let admin: ReturnType<ReturnType<typeof createKafka>['admin']>;
let logSubscriber: EventSubscriber;
let registry: GrpcServer;
let client: GrpcClient<typeof GRPCInferenceService>;
let root: GrpcClient<typeof GRPCInferenceService>;
let token: string;
let topic: string;
let base: string;
let artifactDir: string;
const records: InferenceRecord[] = [];
const versions = new Map<number, ModelVersion>();
const aliases = new Map<string, number>();

const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => waitFor(what, probe, timeoutMs);

const failure = grpcFailure;

let generation = 0;
async function deploy(d: Pick<MessageInitShape<typeof DeploymentSchema>, 'target' | 'traffic' | 'batching'>): Promise<number> {
  generation += 1;
  const deployment = create(DeploymentSchema, { ...d, model: 'iris', generation });
  await publisher.publish(topic, DeploymentChangedSchema, create(DeploymentChangedSchema, { deployment }), { key: 'iris', source });
  return generation;
}

async function index(): Promise<{ version: string; state: string; reason: string }[]> {
  const { models } = await client.repositoryIndex({});
  return models.filter((m) => m.name === 'iris').map(({ version, state, reason }) => ({ version, state, reason }));
}

type InputInit = MessageInitShape<typeof ModelInferRequest_InferInputTensorSchema>;
const inputsInit = (): InputInit[] => [
  { name: 'x', datatype: 'FP32', shape: [2n, 2n], contents: { fp32Contents: [1, 1, 2, 0] } },
  { name: 'd', datatype: 'FP64', shape: [2n], contents: { fp64Contents: [3, -0.5] } },
  { name: 'i', datatype: 'INT64', shape: [2n], contents: { int64Contents: [5n, -(2n ** 40n)] } },
  { name: 'n', datatype: 'INT32', shape: [2n], contents: { intContents: [7, -2] } },
  { name: 'f', datatype: 'BOOL', shape: [2n], contents: { boolContents: [true, false] } },
];
/** The five inputs with input `i` changed. */
const withInput = (i: number, patch: Partial<InputInit>): InputInit[] => inputsInit().map((t, k) => (k === i ? ({ ...t, ...patch } as InputInit) : t));

const typedRequest = (id: string, init: MessageInitShape<typeof ModelInferRequestSchema> = {}): ModelInferRequest =>
  create(ModelInferRequestSchema, { modelName: 'iris', id, inputs: inputsInit(), ...init });

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const rawContents = (): Uint8Array[] => [
  bytes(Float32Array.from([1, 1, 2, 0])),
  bytes(Float64Array.from([3, -0.5])),
  bytes(BigInt64Array.from([5n, -(2n ** 40n)])),
  bytes(Int32Array.from([7, -2])),
  Uint8Array.from([1, 0]),
];
const rawRequest = (id: string, init: MessageInitShape<typeof ModelInferRequestSchema> = {}): ModelInferRequest =>
  typedRequest(id, { inputs: inputsInit().map(({ contents: _c, ...rest }) => rest), rawInputContents: rawContents(), ...init });

function checkTyped(res: ModelInferResponse): void {
  const out = Object.fromEntries(res.outputs.map((o) => [o.name, o]));
  expect(out.y?.shape).toEqual([2n, 2n]);
  expect(out.y?.contents?.fp32Contents).toEqual(expectedY[res.modelVersion]);
  expect(out.d2?.contents?.fp64Contents).toEqual([9, 0.25]);
  expect(out.i2?.contents?.int64Contents).toEqual([10n, -(2n ** 41n)]);
  expect(out.n2?.contents?.intContents).toEqual([-7, 2]);
  expect(out.nf?.contents?.boolContents).toEqual([false, true]);
}

async function putArtifact(data: Uint8Array): Promise<string> {
  const store = createArtifactStore({ dir: artifactDir });
  return (await store.put(Readable.from([data]), { maxBytes: 1 << 24 })).sha256;
}

beforeAll(async () => {
  artifactDir = await mkdtemp(path.join(tmpdir(), 'aio-gateway-artifacts-'));
  const [sha1, sha2, sha3] = [await putArtifact(buildModel(W1, B1)), await putArtifact(buildModel(W2, B2)), await putArtifact(stringModel())];
  const signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1n, 2n] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1n, 2n] }] };
  for (const [version, sha] of [[1, sha1], [2, sha2], [3, sha3]] as const) {
    versions.set(version, create(ModelVersionSchema, { model: 'iris', version, artifactSha256: sha, framework: 'onnx', ...(version === 3 ? {} : signature) }));
  }
  aliases.set('champion', 1);

  // The registry, as far as the gateway uses it: GetModelVersion by number or alias, behind real token checks.
  registry = createGrpcServer({ auth: { verifier: TokenVerifier.fromOptions({ secret, issuer: 'aio-local', audience: 'aio' }), authorize: isAllowed } });
  registry.add(
    RegistryService,
    withUnimplemented(RegistryService, {
    getModelVersion: (req) => {
      const number = req.selector.case === 'alias' ? aliases.get(req.selector.value) : req.selector.value;
      const version = number === undefined ? undefined : versions.get(number);
      if (req.model !== 'iris' || version === undefined) return Promise.reject(new GrpcError(Status.NOT_FOUND, `no such version of ${req.model}`));
      return Promise.resolve({ version });
    },
    }),
  );
  const registryPort = await registry.start('127.0.0.1', 0);

  const config = loadConfig({
    ...process.env,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    METRICS_PORT: '0',
    AIO_AUTH_SECRET: secret,
    AIO_TOPIC_PREFIX: prefix,
    AIO_DATABASE: database,
    AIO_TELEMETRY_EXPORT: 'none',
    AIO_ARTIFACT_DIR: artifactDir,
    AIO_REGISTRY_ADDR: `127.0.0.1:${registryPort}`,
    AIO_INFER_WORKERS: '2',
    AIO_INFER_QUEUE_LIMIT: '64',
    AIO_INFER_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES),
    AIO_TRAFFIC_SEED: '7',
    AIO_INFERENCE_LOG_SAMPLE_RATE: '1',
  });
  const telemetry = await startTelemetry({ serviceName: 'inference-gateway', serviceVersion: 'test', export: 'none', logLevel: 'warn' });
  running = await startInferenceGateway(config, telemetry, { handleSignals: false });
  const platform = running.app.get(Platform);
  topic = platform.topics.registryEvents;
  base = `http://127.0.0.1:${running.httpPort}`;
  const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `serving-int-${run}` });
  publisher = createPublisher(kafka);
  await publisher.connect();
  admin = kafka.admin();
  await admin.connect();
  logSubscriber = await subscribe(kafka, {
    groupId: `serving-int-${run}`,
    topics: [platform.topics.inferenceLog],
    fromBeginning: true,
    handlers: new EventHandlers().on(InferenceRecordSchema, (e) => {
      records.push(e.message);
      return Promise.resolve();
    }),
  });
  token = await mintToken({ secret, subject: 'tester', roles: ['producer'], issuer: 'aio-local', audience: 'aio' });
  const adminToken = await mintToken({ secret, subject: 'root', roles: ['admin'], issuer: 'aio-local', audience: 'aio' });
  client = createGrpcClient(GRPCInferenceService, `127.0.0.1:${running.grpcPort}`, { token: () => token, timeoutMs: 30_000 });
  root = createGrpcClient(GRPCInferenceService, `127.0.0.1:${running.grpcPort}`, { token: () => adminToken, timeoutMs: 30_000 });
});

afterAll(async () => {
  client?.close();
  root?.close();
  await logSubscriber?.stop();
  await publisher?.disconnect();
  await running?.app.get(Platform).mongo.dropDatabase();
  await running?.stop();
  await registry?.shutdown(1_000);
  const ours = (await admin?.listTopics())?.filter((t) => t.startsWith(`${prefix}.`)) ?? [];
  if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  await admin?.disconnect();
  if (artifactDir !== undefined) await rm(artifactDir, { recursive: true, force: true });
});

describe('serving', () => {
  it('loads the version an alias deployment points at (resolved through the registry) and infers typed contents', async () => {
    await deploy({ target: { case: 'alias', value: 'champion' } });
    await eventually('iris ready', async () => ((await client.modelReady({ name: 'iris' })).ready ? true : undefined));
    const res = await client.modelInfer(typedRequest('typed-1'));
    expect(res.modelName).toBe('iris');
    expect(res.modelVersion).toBe('1');
    expect(res.id).toBe('typed-1');
    expect(res.rawOutputContents).toEqual([]);
    checkTyped(res);
    expect(await index()).toEqual([{ version: '1', state: 'READY', reason: '' }]);
  });

  it('infers raw contents and answers raw contents, as tritonclient expects', async () => {
    const res = await client.modelInfer(rawRequest('raw-1'));
    expect(res.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['y', 'FP32', [2n, 2n]],
      ['d2', 'FP64', [2n]],
      ['i2', 'INT64', [2n]],
      ['n2', 'INT32', [2n]],
      ['nf', 'BOOL', [2n]],
    ]);
    // Copies: received bytes are views into grpc-js' buffers, at any offset.
    const [y, d2, i2, n2, nf] = res.rawOutputContents.map((b) => new Uint8Array(b).buffer);
    expect(Array.from(new Float32Array(y!))).toEqual(expectedY['1']);
    expect(Array.from(new Float64Array(d2!))).toEqual([9, 0.25]);
    expect(Array.from(new BigInt64Array(i2!))).toEqual([10n, -(2n ** 41n)]);
    expect(Array.from(new Int32Array(n2!))).toEqual([-7, 2]);
    expect(Array.from(new Uint8Array(nf!))).toEqual([0, 1]);
    // Only the outputs asked for.
    const one = await client.modelInfer(rawRequest('raw-2', { outputs: [{ name: 'i2' }] }));
    expect(one.outputs.map((o) => o.name)).toEqual(['i2']);
  });

  it('answers metadata, config, statistics and ModelStreamInfer', async () => {
    const meta = await client.modelMetadata({ name: 'iris' });
    expect(meta.platform).toBe('onnxruntime_onnx');
    expect(meta.versions).toEqual(['1']);
    expect(meta.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['x', 'FP32', [-1n, 2n]],
      ['d', 'FP64', [-1n]],
      ['i', 'INT64', [-1n]],
      ['n', 'INT32', [-1n]],
      ['f', 'BOOL', [-1n]],
    ]);
    const { config } = await client.modelConfig({ name: 'iris' });
    expect(config?.maxBatchSize).toBe(0);
    expect(config?.input.map((t) => t.name)).toEqual(['x', 'd', 'i', 'n', 'f']);
    const stats = await client.modelStatistics({ name: 'iris' });
    expect(stats.modelStats[0]?.version).toBe('1');
    expect(stats.modelStats[0]?.inferenceStats?.success?.count).toBeGreaterThanOrEqual(3n);
    expect(stats.modelStats[0]?.inferenceStats?.success?.ns).toBeGreaterThan(0n);
    expect((await client.modelStatistics({})).modelStats.map((s) => s.name)).toEqual(['iris']);
    async function* requests() {
      yield await Promise.resolve(typedRequest('s-1'));
      yield typedRequest('s-2', { modelName: 'nope' });
      yield typedRequest('s-3');
    }
    const answers = [];
    for await (const a of client.modelStreamInfer(requests())) answers.push([a.inferResponse?.id, a.errorMessage.split(':')[0]]);
    expect(answers).toEqual([
      ['s-1', ''],
      ['s-2', 'model nope is not loaded'],
      ['s-3', ''],
    ]);
  });

  it('serves OIP JSON over REST', async () => {
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const res = await fetch(`${base}/v2/models/iris/infer`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        id: 'rest-1',
        inputs: [
          { name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 1], [2, 0]] },
          { name: 'd', shape: [2], datatype: 'FP64', data: [3, -0.5] },
          { name: 'i', shape: [2], datatype: 'INT64', data: [5, String(-(2n ** 40n))] },
          { name: 'n', shape: [2], datatype: 'INT32', data: [7, -2] },
          { name: 'f', shape: [2], datatype: 'BOOL', data: [true, false] },
        ],
        outputs: [{ name: 'y' }, { name: 'i2' }, { name: 'nf' }],
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model_name: 'iris',
      model_version: '1',
      id: 'rest-1',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [2, 2], data: expectedY['1'] },
        { name: 'i2', datatype: 'INT64', shape: [2], data: [10, -(2 ** 41)] },
        { name: 'nf', datatype: 'BOOL', shape: [2], data: [false, true] },
      ],
    });
    const bad = await fetch(`${base}/v2/models/iris/infer`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^inputs\[0\]\.shape: input "x" of model iris has shape \[-1,2\]/);
    // The versioned path, and the token check of the infer routes (served outside Nest's pipeline).
    const small = JSON.stringify({
      inputs: [
        { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 1] },
        { name: 'd', shape: [1], datatype: 'FP64', data: [3] },
        { name: 'i', shape: [1], datatype: 'INT64', data: [5] },
        { name: 'n', shape: [1], datatype: 'INT32', data: [7] },
        { name: 'f', shape: [1], datatype: 'BOOL', data: [true] },
      ],
    });
    const versioned = await fetch(`${base}/v2/models/iris/versions/1/infer`, { method: 'POST', headers: auth, body: small });
    expect(await versioned.json()).toMatchObject({ model_name: 'iris', model_version: '1' });
    const missingVersion = await fetch(`${base}/v2/models/iris/versions/9/infer`, { method: 'POST', headers: auth, body: small });
    expect(missingVersion.status).toBe(404);
    const anonymous = await fetch(`${base}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toMatch(/token/);
    const meta = await fetch(`${base}/v2/models/iris`, { headers: auth });
    expect(((await meta.json()) as { inputs: { shape: number[] }[] }).inputs[0]?.shape).toEqual([-1, 2]);
    expect((await fetch(`${base}/v2/models/iris/ready`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/v2/models/iris/versions/9/ready`, { headers: auth })).status).toBe(404);
    // Triton's shapes for config and statistics (perf_analyzer reads them): bare config, numeric counters.
    for (const path of ['/v2/models/iris/config', '/v2/models/iris/versions/1/config']) {
      const cfg = (await (await fetch(`${base}${path}`, { headers: auth })).json()) as { name: string; max_batch_size?: number; input: { name: string; dims: unknown[] }[] };
      expect(cfg.name).toBe('iris');
      expect(cfg.input[0]).toMatchObject({ name: 'x', dims: [-1, 2] });
    }
    const stats = (await (await fetch(`${base}/v2/models/iris/stats`, { headers: auth })).json()) as { model_stats: { version: string; inference_count: unknown; inference_stats: { success: { count: unknown } } }[] };
    expect(stats.model_stats[0]?.version).toBe('1');
    expect(typeof stats.model_stats[0]?.inference_count).toBe('number');
    expect(stats.model_stats[0]?.inference_stats.success.count).toBeGreaterThanOrEqual(1);
  });

  it('answers every bad request with a status that names the problem, and keeps serving', async () => {
    const cases: [string, () => Promise<unknown>, Status, RegExp][] = [
      ['unknown model', () => client.modelInfer(typedRequest('b1', { modelName: 'nope' })), Status.NOT_FOUND, /^model nope is not loaded: no deployment of it is known/],
      ['unknown version', () => client.modelInfer(typedRequest('b2', { modelVersion: '9' })), Status.NOT_FOUND, /^model iris version 9 is not loaded: it is deployed \(generation \d+\) but that version is not served \(serving: 1\)/],
      ['unknown input', () => client.modelInfer(typedRequest('b3', { inputs: [...inputsInit(), { name: 'zz', datatype: 'FP32', shape: [1n], contents: { fp32Contents: [1] } }] })), Status.INVALID_ARGUMENT, /^inputs\[5\]\.name: model iris has no input "zz"/],
      ['missing input', () => client.modelInfer(typedRequest('b4', { inputs: inputsInit().slice(0, 4) })), Status.INVALID_ARGUMENT, /^inputs: model iris needs input "f"/],
      ['wrong datatype', () => client.modelInfer(typedRequest('b5', { inputs: withInput(2, { datatype: 'INT32', contents: { intContents: [1, 2] } }) })), Status.INVALID_ARGUMENT, /^inputs\[2\]\.datatype: input "i" of model iris is INT64, got INT32/],
      ['wrong shape', () => client.modelInfer(typedRequest('b6', { inputs: withInput(0, { shape: [4n] }) })), Status.INVALID_ARGUMENT, /^inputs\[0\]\.shape: .*rank 1 instead of 2/],
      ['wrong value count', () => client.modelInfer(typedRequest('b7', { inputs: withInput(0, { contents: { fp32Contents: [1, 2, 3] } }) })), Status.INVALID_ARGUMENT, /^inputs\[0\]\.contents\.fp32_contents: input "x" holds 3 values; shape \[2,2\] needs 4/],
      ['raw length', () => client.modelInfer(rawRequest('b8', { rawInputContents: rawContents().map((b, i) => (i === 1 ? b.subarray(0, 12) : b)) })), Status.INVALID_ARGUMENT, /^raw_input_contents\[1\]: input "d" has 12 bytes; shape \[2\] x FP64 \(8 bytes each\) needs 16/],
      ['raw count', () => client.modelInfer(rawRequest('b9', { rawInputContents: rawContents().slice(0, 2) })), Status.INVALID_ARGUMENT, /^raw_input_contents: must hold one entry per input/],
      ['too large', () => client.modelInfer(typedRequest('b10', { inputs: withInput(0, { shape: [BigInt(MAX_INPUT_BYTES), 2n], contents: {} }) })), Status.INVALID_ARGUMENT, /^inputs\[0\]\.shape: .*over the limit of 1048576 bytes per request \(AIO_INFER_MAX_INPUT_BYTES\)/],
      ['unknown output', () => client.modelInfer(typedRequest('b11', { outputs: [{ name: 'zz' }] })), Status.INVALID_ARGUMENT, /^outputs\[0\]\.name: model iris has no output "zz"/],
      ['no model name', () => client.modelInfer(typedRequest('b12', { modelName: '' })), Status.INVALID_ARGUMENT, /^model_name: is required/],
    ];
    for (const [what, call, code, message] of cases) {
      const err = await failure(call());
      expect(err.code, what).toBe(code);
      expect(err.message, what).toMatch(message);
    }
    expect((await client.serverLive({})).live).toBe(true);
    checkTyped(await client.modelInfer(typedRequest('after-bad')));
  });

  it('swaps version 1 for 2 under load without failing a request, then unloads 1', async () => {
    let swapped = false;
    let after = 0;
    const answered: string[] = [];
    const failures: string[] = [];
    // Four callers in a loop until 40 requests after the first answer from version 2 (bounded by a count, not time).
    const callers = Array.from({ length: 4 }, async (_, c) => {
      for (let k = 0; k < 2_000 && after < 40; k++) {
        try {
          const res = await client.modelInfer(typedRequest(`swap-${c}-${k}`));
          checkTyped(res);
          answered.push(res.modelVersion);
          if (res.modelVersion === '2') swapped = true;
          if (swapped) after++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    });
    await eventually('the first answers from version 1', () => Promise.resolve(answered.length >= 8 ? true : undefined));
    await deploy({ target: { case: 'version', value: 2 } });
    await Promise.all(callers);
    expect(failures).toEqual([]);
    expect(swapped).toBe(true);
    // Version 2 answers only once it is warm; version 1 answers until the switch, never after a 2.
    expect(answered.indexOf('2')).toBeGreaterThan(0);
    expect(answered.slice(answered.indexOf('2')).filter((v) => v === '1').length).toBeLessThanOrEqual(4);
    await eventually('version 1 unloaded', async () => {
      const entries = await index();
      return entries.length === 1 && entries[0]?.version === '2' ? entries : undefined;
    });
    expect(await index()).toEqual([{ version: '2', state: 'READY', reason: '' }]);
  });

  it('splits traffic by the canary weights and reports the version that served', async () => {
    await deploy({ target: { case: 'version', value: 2 }, traffic: [{ version: 1, weight: 3 }, { version: 2, weight: 1 }] });
    await eventually('both versions ready', async () => {
      const entries = await index();
      return entries.length === 2 && entries.every((e) => e.state === 'READY') ? entries : undefined;
    });
    const counts: Record<string, number> = { '1': 0, '2': 0 };
    for (let k = 0; k < 200; k++) {
      const res = await client.modelInfer(typedRequest(`canary-${k}`));
      checkTyped(res);
      counts[res.modelVersion] = (counts[res.modelVersion] ?? 0) + 1;
    }
    // 75% / 25% expected; the binomial standard deviation over 200 is about 6 requests.
    expect(counts['1']).toBeGreaterThan(120);
    expect(counts['2']).toBeGreaterThan(20);
    const stats = await client.modelStatistics({ name: 'iris' });
    expect(stats.modelStats.map((s) => s.version).sort()).toEqual(['1', '2']);
  });

  it('keeps serving the previous split when a new version cannot be loaded, and says why', async () => {
    await deploy({ target: { case: 'version', value: 3 } });
    const entry = await eventually('version 3 unavailable', async () => (await index()).find((e) => e.version === '3' && e.state === 'UNAVAILABLE'));
    expect(entry.reason).toMatch(/load failed: input "s" has type string, which the gateway does not serve/);
    const res = await client.modelInfer(typedRequest('still-serving'));
    expect(['1', '2']).toContain(res.modelVersion);
  });

  it('follows an alias move for a deployment that targets the alias', async () => {
    await deploy({ target: { case: 'alias', value: 'champion' } });
    await eventually('served from the champion (1) alone', async () => {
      const entries = await index();
      return entries.length === 1 && entries[0]?.version === '1' && entries[0].state === 'READY' ? true : undefined;
    });
    aliases.set('champion', 2);
    await publisher.publish(topic, AliasMovedSchema, create(AliasMovedSchema, { change: { model: 'iris', alias: 'champion', fromVersion: 1, toVersion: 2 } }), { key: 'iris', source });
    await eventually('served from version 2', async () => ((await client.modelInfer(typedRequest('alias'))).modelVersion === '2' ? true : undefined));
  });

  it('unloads and reloads on RepositoryModelUnload / RepositoryModelLoad (inference:admin)', async () => {
    expect((await failure(client.repositoryModelUnload({ modelName: 'iris' }))).code).toBe(Status.PERMISSION_DENIED);
    await root.repositoryModelUnload({ modelName: 'iris' });
    expect((await client.modelReady({ name: 'iris' })).ready).toBe(false);
    const err = await failure(client.modelInfer(typedRequest('unloaded')));
    expect(err.code).toBe(Status.NOT_FOUND);
    expect(err.message).toMatch(/unloaded by RepositoryModelUnload/);
    await root.repositoryModelLoad({ modelName: 'iris' });
    expect((await client.modelReady({ name: 'iris' })).ready).toBe(true);
    checkTyped(await client.modelInfer(typedRequest('reloaded')));
    expect((await failure(root.repositoryModelLoad({ modelName: 'nope' }))).code).toBe(Status.NOT_FOUND);
  });

  it('publishes sampled inference records to the inference log topic', async () => {
    const wanted = ['typed-1', 'raw-1', 'b5', 'reloaded'];
    await eventually('records of the requests', () => Promise.resolve(wanted.every((id) => records.some((r) => r.requestId === id)) ? true : undefined));
    const typed = records.find((r) => r.requestId === 'typed-1');
    expect(typed).toMatchObject({ model: 'iris', version: 1, route: Route.PRIMARY, status: 'OK', error: '' });
    expect(typed?.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['x', 'FP32', [2n, 2n]],
      ['d', 'FP64', [2n]],
      ['i', 'INT64', [2n]],
      ['n', 'INT32', [2n]],
      ['f', 'BOOL', [2n]],
    ]);
    expect(Array.from(new Float32Array(new Uint8Array(typed!.inputs[0]!.raw).buffer))).toEqual([1, 1, 2, 0]);
    expect(Array.from(new Float32Array(new Uint8Array(typed!.outputs[0]!.raw).buffer))).toEqual(expectedY['1']);
    expect(typed?.latencyMs).toBeGreaterThan(0);
    const bad = records.find((r) => r.requestId === 'b5');
    expect(bad).toMatchObject({ status: 'INVALID_ARGUMENT', outputs: [] });
    expect(bad?.error).toMatch(/^inputs\[2\]\.datatype/);
    expect(records.some((r) => r.route === Route.CANARY)).toBe(true);
    const metricsText = await (await fetch(`${base}/metrics`)).text();
    expect(metricsText).toMatch(/aio_inference_log_records_total\{[^}]*outcome="published"[^}]*\} [1-9]/);
    expect(metricsText).toMatch(/aio_inference_in_flight\{[^}]*model="iris"/);
  });

  it("batches concurrent requests as the deployment's batching asks, answers identical to unbatched ones", async () => {
    // 8 requests of 2 rows fill max_batch_size 16: they run together at once; the long delay only
    // makes sure requests still on the wire on a slow machine join them.
    await deploy({ target: { case: 'version', value: 2 }, batching: { maxBatchSize: 16, maxQueueDelayMicros: 1_000_000, preferredBatchSizes: [16] } });
    await eventually('batching on', async () => ((await client.modelConfig({ name: 'iris' })).config?.maxBatchSize === 16 ? true : undefined));
    const config = (await client.modelConfig({ name: 'iris' })).config;
    // Triton's convention: dims without the batch dimension once max_batch_size > 0.
    expect(config?.input.map((t) => [t.name, t.dims])).toEqual([['x', [2n]], ['d', []], ['i', []], ['n', []], ['f', []]]);
    expect(config?.schedulingChoice).toMatchObject({ case: 'dynamicBatching', value: { preferredBatchSize: [16], maxQueueDelayMicroseconds: 1_000_000n } });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => client.modelInfer(typedRequest(`batch-${i}`))));
    answers.forEach((a, i) => {
      expect([a.id, a.modelVersion]).toEqual([`batch-${i}`, '2']);
      checkTyped(a);
    });
    const stats = (await client.modelStatistics({ name: 'iris', version: '2' })).modelStats[0];
    expect(stats?.batchStats.some((b) => b.batchSize === 16n)).toBe(true);
    expect(stats!.executionCount).toBeLessThan(stats!.inferenceCount);
  });
});
