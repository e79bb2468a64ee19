import { randomUUID } from 'node:crypto';
import { GrpcError, invalidArgument, Status, statusName } from '@aio/grpc';
import { Readiness } from '@aio/host';
import { Route as LoggedRoute } from '@aio/proto/aio/gateway/v1/inference_log';
import {
  ModelConfigResponseSchema,
  MemoryUsageSchema,
  ModelMetadataResponseSchema,
  ModelStatisticsResponseSchema,
  ModelStreamInferResponseSchema,
  ServerMetadataResponseSchema,
  type ModelConfigResponse,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataResponse,
  type ModelStatisticsResponse,
  type ServerMetadataResponse,
} from '@aio/proto/inference/grpc_service';
import { DataType, ModelInstanceGroup_Kind } from '@aio/proto/inference/model_config';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DeploymentsService } from './deployments.service.js';
import { SERVER_NAME, SERVER_VERSION, ServingSettings } from './gateway.settings.js';
import { InferenceLog } from './serving/inference.log.js';
import { ModelManager, type Lease, type ServedVersion } from './serving/model.manager.js';
import { inferResponse } from './serving/oip.messages.js';
import type { RunOptions } from './serving/worker.pool.js';
import {
  decodeInputs,
  encodeOutputs,
  fromWire,
  requestedOutputs,
  tensorBytes,
  toWire,
  wantsRawOutput,
  type Signature,
  type Tensor,
} from './serving/tensor.codec.js';

/** The tensor data types of the Open Inference Protocol v2. */
export const OIP_DATATYPES: ReadonlySet<string> = new Set([
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16',
]);

/** Checks what an infer request must satisfy whatever the model; throws INVALID_ARGUMENT naming the field. */
export function validateInferRequest(req: ModelInferRequest): void {
  if (req.modelName === '') throw invalidArgument('model_name', 'is required');
  if (req.inputs.length === 0) throw invalidArgument('inputs', 'at least one input tensor is required');
  // Hot path: no field names or sets built unless a check fails.
  const inputs = req.inputs;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as (typeof inputs)[number];
    if (input.name === '') throw invalidArgument(`inputs[${i}].name`, 'is required');
    for (let j = 0; j < i; j++) if ((inputs[j] as typeof input).name === input.name) throw invalidArgument(`inputs[${i}].name`, `"${input.name}" is given twice`);
    if (!OIP_DATATYPES.has(input.datatype)) throw invalidArgument(`inputs[${i}].datatype`, `must be one of ${[...OIP_DATATYPES].join(', ')}`);
    for (const d of input.shape) if (d < 0n) throw invalidArgument(`inputs[${i}].shape`, 'dimensions must be >= 0');
  }
  if (req.rawInputContents.length !== 0 && req.rawInputContents.length !== req.inputs.length) {
    throw invalidArgument('raw_input_contents', `must hold one entry per input (${req.inputs.length}) or none`);
  }
}

export function requireName(field: string, name: string): void {
  if (name === '') throw invalidArgument(field, 'is required');
}

const PLATFORM = 'onnxruntime_onnx';

/** Requests of one ModelStreamInfer stream in flight at once. */
export const STREAM_WINDOW = 64;

type LoggedTensorInit = { name: string; datatype: string; shape: bigint[]; raw: Uint8Array };

function logged(t: Tensor, copy: boolean): LoggedTensorInit {
  const bytes = tensorBytes(t.data);
  return { name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt), raw: copy ? bytes.slice() : bytes };
}

function tensorMetadata(sig: Signature, kind: 'inputs' | 'outputs') {
  return sig[kind].map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) }));
}

/**
 * The inference API: routes each request to a loaded version (canary weights honoured), decodes and
 * checks its tensors against the model's signature, runs it on the worker pool and encodes the
 * answer; counts statistics and samples inference records. gRPC and REST both come through here.
 */
@Injectable()
export class InferenceService implements OnModuleInit, BeforeApplicationShutdown {
  constructor(
    @Inject(Readiness) private readonly readiness: Readiness,
    @Inject(DeploymentsService) private readonly deployments: DeploymentsService,
    @Inject(ModelManager) private readonly models: ModelManager,
    @Inject(InferenceLog) private readonly log: InferenceLog,
    @Inject(ServingSettings) private readonly settings: ServingSettings,
  ) {}

  onModuleInit(): void {
    this.models.start();
  }

  /** After gRPC drained: in-flight inferences finish, workers terminate, the last records are published. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.models.close();
    await this.log.close();
  }

  /** Ready when every dependency is (MongoDB, the registry-events consumer) and not shutting down. */
  async ready(): Promise<{ ready: boolean; problems: string[] }> {
    const report = await this.readiness.report();
    return { ready: report.ready, problems: Object.entries(report.checks).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k}: ${v}`) };
  }

  metadata(): ServerMetadataResponse {
    return create(ServerMetadataResponseSchema, { name: SERVER_NAME, version: SERVER_VERSION, extensions: ['model_repository', 'model_configuration', 'statistics'] });
  }

  modelReady(name: string, version: string): boolean {
    requireName('name', name);
    return this.models.isReady(name, version);
  }

  async modelMetadata(name: string, version: string): Promise<ModelMetadataResponse> {
    const v = await this.loaded(name, version);
    const sig = v.signature as Signature;
    return create(ModelMetadataResponseSchema, {
      name,
      versions: this.models.versions(name).filter((x) => x.state === 'READY').map((x) => String(x.version)),
      platform: PLATFORM,
      inputs: tensorMetadata(sig, 'inputs'),
      outputs: tensorMetadata(sig, 'outputs'),
    });
  }

  async modelConfig(name: string, version: string): Promise<ModelConfigResponse> {
    const v = await this.loaded(name, version);
    const sig = v.signature as Signature;
    const dataType = (datatype: string): DataType => DataType[`TYPE_${datatype}` as keyof typeof DataType];
    const policy = v.batching?.policy;
    const batching = policy !== undefined && policy.maxBatchSize > 1;
    // Triton's convention: with max_batch_size > 0 the dims leave out the batch dimension.
    const dims = (shape: readonly number[]) => (batching ? shape.slice(1) : shape).map(BigInt);
    return create(ModelConfigResponseSchema, {
      config: {
        name,
        platform: PLATFORM,
        backend: 'onnxruntime',
        maxBatchSize: batching ? policy.maxBatchSize : 0,
        input: sig.inputs.map((t) => ({ name: t.name, dataType: dataType(t.datatype), dims: dims(t.shape) })),
        output: sig.outputs.map((t) => ({ name: t.name, dataType: dataType(t.datatype), dims: dims(t.shape) })),
        schedulingChoice: batching
          ? {
              case: 'dynamicBatching',
              value: {
                preferredBatchSize: [...policy.preferredBatchSizes],
                maxQueueDelayMicroseconds: BigInt(policy.maxQueueDelayMicros),
                preserveOrdering: true,
                defaultQueuePolicy: { maxQueueSize: policy.maxQueueSize },
              },
            }
          : { case: undefined },
        instanceGroup: [{ name: `${name}_cpu`, kind: ModelInstanceGroup_Kind.CPU, count: this.settings.workers }],
      },
    });
  }

  /** Triton's statistics: every loaded version (empty name), or the versions of one model. */
  async modelStatistics(name: string, version: string): Promise<ModelStatisticsResponse> {
    const versions = this.models
      .versions(name === '' ? undefined : name)
      .filter((v) => v.state === 'READY' || v.state === 'UNLOADING' || v.evicted)
      .filter((v) => version === '' || String(v.version) === version);
    if (name !== '' && versions.length === 0) throw await this.notLoaded(name, version);
    return create(ModelStatisticsResponseSchema, {
      modelStats: versions.map((v) => {
        const stats = v.stats.toProto(v.model, String(v.version));
        // Estimated ((artifact size + session overhead) x workers); 0 while unloaded for the memory budget.
        stats.memoryUsage = [create(MemoryUsageSchema, { type: 'CPU', id: 0n, byteSize: BigInt(v.evicted ? 0 : v.bytes) })];
        return stats;
      }),
    });
  }

  /** One inference; `call` carries the caller's deadline and cancellation (gRPC), honoured while it waits. */
  async infer(req: ModelInferRequest, call: RunOptions = {}): Promise<ModelInferResponse> {
    validateInferRequest(req);
    const arrived = Date.now();
    const started = process.hrtime.bigint();
    let lease: Lease;
    try {
      const acquired = this.models.acquire(req.modelName, req.modelVersion);
      lease = acquired instanceof Promise ? await acquired : acquired;
    } catch (err) {
      if (err instanceof GrpcError && err.code === Status.NOT_FOUND) throw await this.notLoaded(req.modelName, req.modelVersion);
      throw err;
    }
    const v = lease.version;
    const requestId = req.id === '' ? randomUUID() : req.id;
    let sampled = this.log.sample();
    let inputs: LoggedTensorInit[] | undefined;
    try {
      const sig = v.signature as Signature;
      const tensors = decodeInputs(req, req.modelName, sig, { maxInputBytes: this.settings.maxInputBytes });
      const names = requestedOutputs(req, req.modelName, sig);
      // The inputs' buffers move to the worker: what the log and the shadows need is copied first.
      if (sampled) sampled = this.log.admit(tensors.reduce((n, t) => n + t.data.byteLength, 0));
      if (sampled) inputs = tensors.map((t) => logged(t, true));
      const shadows = this.models.acquireShadows(req.modelName);
      const shadowFeeds = shadows.map(() => tensors.map((t) => toWire({ ...t, data: t.data.slice() })));
      const decodedAt = process.hrtime.bigint();
      const result = await this.models.run(lease, tensors.map(toWire), names, call);
      const ranAt = process.hrtime.bigint();
      const outputs = result.outputs.map(fromWire);
      const encoded = encodeOutputs(outputs, wantsRawOutput(req));
      const response = inferResponse({ modelName: req.modelName, modelVersion: String(v.version), id: requestId, outputs: encoded.outputs, rawOutputContents: encoded.rawOutputContents });
      const done = process.hrtime.bigint();
      v.stats.recordSuccess({
        totalNs: Number(done - started),
        queueNs: result.queueNs,
        inputNs: Number(decodedAt - started),
        computeNs: result.computeNs,
        outputNs: Number(done - ranAt),
        batchSize: result.batchSize,
        execution: result.execution,
      });
      if (sampled) this.record({ requestId, v, route: lease.route, inputs, outputs: outputs.map((t) => logged(t, false)), started, arrived });
      shadows.forEach((s, i) => this.shadow(s, shadowFeeds[i] ?? [], names, requestId, inputs, arrived));
      return response;
    } catch (err) {
      v.stats.recordFailure(Number(process.hrtime.bigint() - started));
      if (sampled) this.record({ requestId, v, route: lease.route, inputs, outputs: [], started, arrived, err });
      throw err;
    } finally {
      lease.release();
    }
  }

  /**
   * Triton's stream semantics: each request gets one response, in the order sent; a failed request is
   * reported in that response's error_message and the stream stays open for the next. Up to
   * STREAM_WINDOW requests of one stream run at once (so they batch); beyond it the stream is not read
   * until the oldest is answered, which is the client's backpressure.
   */
  async *streamInfer(requests: AsyncIterable<ModelInferRequest>, call: RunOptions = {}): AsyncGenerator<MessageInitShape<typeof ModelStreamInferResponseSchema>> {
    const answer = async (req: ModelInferRequest): Promise<MessageInitShape<typeof ModelStreamInferResponseSchema>> => {
      try {
        return { inferResponse: await this.infer(req, call) };
      } catch (err) {
        const message = err instanceof GrpcError ? err.message : 'internal error';
        return { errorMessage: message, inferResponse: { modelName: req.modelName, modelVersion: req.modelVersion, id: req.id } };
      }
    };
    const window: Promise<MessageInitShape<typeof ModelStreamInferResponseSchema>>[] = [];
    for await (const req of requests) {
      window.push(answer(req));
      if (window.length >= STREAM_WINDOW) yield await (window.shift() as Promise<MessageInitShape<typeof ModelStreamInferResponseSchema>>);
    }
    while (window.length > 0) yield await (window.shift() as Promise<MessageInitShape<typeof ModelStreamInferResponseSchema>>);
  }

  /** NOT_FOUND saying why: no deployment known, or deployed but not (yet) loaded and why. */
  async notLoaded(model: string, version: string): Promise<GrpcError> {
    const deployment = await this.deployments.find(model);
    const subject = version === '' ? `model ${model}` : `model ${model} version ${version}`;
    if (deployment === undefined) return new GrpcError(Status.NOT_FOUND, `${subject} is not loaded: no deployment of it is known to this gateway (set one in the registry)`);
    const why = version === '' ? this.models.whyNotServing(model) : this.versionProblem(model, version);
    return new GrpcError(Status.NOT_FOUND, `${subject} is not loaded: it is deployed (generation ${deployment.generation}) but ${why}`);
  }

  private versionProblem(model: string, version: string): string {
    const v = this.models.versions(model).find((x) => String(x.version) === version);
    if (v === undefined) return `that version is not served (serving: ${this.models.servingVersions(model).join(', ') || 'none'})`;
    return `it is ${v.state}${v.reason === '' ? '' : `: ${v.reason}`}`;
  }

  /** The READY version that answers for (name, version); NOT_FOUND saying why otherwise. */
  async loaded(name: string, version: string): Promise<ServedVersion> {
    requireName('name', name);
    try {
      return this.models.find(name, version);
    } catch (err) {
      if (err instanceof GrpcError && err.code === Status.NOT_FOUND) throw await this.notLoaded(name, version);
      throw err;
    }
  }

  /** Runs a copy of the request on a shadow version; its answer is logged, never returned, and it never fails the request. */
  private shadow(lease: Lease, feeds: ReturnType<typeof toWire>[], names: string[], requestId: string, inputs: LoggedTensorInit[] | undefined, arrived: number): void {
    const started = process.hrtime.bigint();
    const v = lease.version;
    const own = names.filter((n) => v.signature?.outputs.some((o) => o.name === n));
    const outputNames = own.length > 0 ? own : (v.signature?.outputs.map((o) => o.name) ?? []);
    this.models
      .run(lease, feeds, outputNames)
      .then(
        (result) => {
          v.stats.recordSuccess({
            totalNs: Number(process.hrtime.bigint() - started),
            queueNs: result.queueNs,
            inputNs: 0,
            computeNs: result.computeNs,
            outputNs: 0,
            batchSize: result.batchSize,
            execution: result.execution,
          });
          if (inputs !== undefined) this.record({ requestId, v, route: 'shadow', inputs, outputs: result.outputs.map((t) => logged(fromWire(t), false)), started, arrived });
        },
        (err: unknown) => {
          v.stats.recordFailure(Number(process.hrtime.bigint() - started));
          if (inputs !== undefined) this.record({ requestId, v, route: 'shadow', inputs, outputs: [], started, arrived, err });
        },
      )
      .finally(() => lease.release())
      .catch(() => undefined);
  }

  private record(r: {
    requestId: string;
    v: ServedVersion;
    route: 'primary' | 'canary' | 'shadow';
    inputs: LoggedTensorInit[] | undefined;
    outputs: LoggedTensorInit[];
    started: bigint;
    /** ms since the epoch. */
    arrived: number;
    err?: unknown;
  }): void {
    const status = r.err === undefined ? 'OK' : r.err instanceof GrpcError ? statusName(r.err.code) : 'INTERNAL';
    this.log.push({
      requestId: r.requestId,
      model: r.v.model,
      version: r.v.version,
      route: r.route === 'canary' ? LoggedRoute.CANARY : r.route === 'shadow' ? LoggedRoute.SHADOW : LoggedRoute.PRIMARY,
      inputs: r.inputs ?? [],
      outputs: r.outputs,
      latencyMs: Number(process.hrtime.bigint() - r.started) / 1e6,
      status,
      error: r.err === undefined ? '' : r.err instanceof GrpcError ? r.err.message : 'internal error',
      timestamp: timestampFromMs(r.arrived),
    });
  }
}
