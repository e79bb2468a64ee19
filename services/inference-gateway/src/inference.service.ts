import { GrpcError, invalidArgument, Status } from '@aio/grpc';
import { Readiness } from '@aio/host';
import type { ModelInferRequest, ServerMetadataResponse } from '@aio/proto/inference/grpc_service';
import { ServerMetadataResponseSchema } from '@aio/proto/inference/grpc_service';
import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { DeploymentsService, NOT_LOADED_REASON } from './deployments.service.js';
import { SERVER_NAME, SERVER_VERSION } from './gateway.settings.js';

/** The tensor data types of the Open Inference Protocol v2. */
export const OIP_DATATYPES: ReadonlySet<string> = new Set([
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16',
]);

/** Checks what an infer request must satisfy whatever the model; throws INVALID_ARGUMENT naming the field. */
export function validateInferRequest(req: ModelInferRequest): void {
  if (req.modelName === '') throw invalidArgument('model_name', 'is required');
  if (req.inputs.length === 0) throw invalidArgument('inputs', 'at least one input tensor is required');
  const seen = new Set<string>();
  for (const [i, input] of req.inputs.entries()) {
    const field = `inputs[${i}]`;
    if (input.name === '') throw invalidArgument(`${field}.name`, 'is required');
    if (seen.has(input.name)) throw invalidArgument(`${field}.name`, `"${input.name}" is given twice`);
    seen.add(input.name);
    if (!OIP_DATATYPES.has(input.datatype)) throw invalidArgument(`${field}.datatype`, `must be one of ${[...OIP_DATATYPES].join(', ')}`);
    if (input.shape.some((d) => d < 0n)) throw invalidArgument(`${field}.shape`, 'dimensions must be >= 0');
  }
  if (req.rawInputContents.length !== 0 && req.rawInputContents.length !== req.inputs.length) {
    throw invalidArgument('raw_input_contents', `must hold one entry per input (${req.inputs.length}) or none`);
  }
}

export function requireName(field: string, name: string): void {
  if (name === '') throw invalidArgument(field, 'is required');
}

/**
 * Server and model state for the inference API. No model is loaded yet (ONNX loading arrives with the
 * model lifecycle loop, issue #3), so every model-level question is answered truthfully: not ready,
 * not loaded. What the gateway does know is which deployments the registry announced.
 */
@Injectable()
export class InferenceService {
  constructor(
    @Inject(Readiness) private readonly readiness: Readiness,
    @Inject(DeploymentsService) private readonly deployments: DeploymentsService,
  ) {}

  /** Ready when every dependency is (MongoDB, the registry-events consumer) and not shutting down. */
  async ready(): Promise<{ ready: boolean; problems: string[] }> {
    const report = await this.readiness.report();
    return { ready: report.ready, problems: Object.entries(report.checks).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k}: ${v}`) };
  }

  metadata(): ServerMetadataResponse {
    // Extensions are listed once they are complete: the repository extension's load/unload and
    // statistics arrive with issue #3, so none is claimed yet.
    return create(ServerMetadataResponseSchema, { name: SERVER_NAME, version: SERVER_VERSION, extensions: [] });
  }

  /** The NOT_FOUND every model-level call answers while nothing can be loaded; says whether a deployment exists. */
  async notLoaded(model: string, version: string): Promise<GrpcError> {
    const deployment = await this.deployments.find(model);
    const subject = version === '' ? `model ${model}` : `model ${model} version ${version}`;
    const why =
      deployment === undefined
        ? 'no deployment of it is known to this gateway (set one in the registry)'
        : `it is deployed (generation ${deployment.generation}) but ${NOT_LOADED_REASON}`;
    return new GrpcError(Status.NOT_FOUND, `${subject} is not loaded: ${why}`);
  }

  async modelReady(name: string): Promise<boolean> {
    requireName('name', name);
    return Promise.resolve(false);
  }

  /** ModelMetadata, ModelConfig, a named ModelStatistics: always NOT_FOUND until loading exists. */
  async requireLoaded(field: string, name: string, version: string): Promise<never> {
    requireName(field, name);
    throw await this.notLoaded(name, version);
  }

  async infer(req: ModelInferRequest): Promise<never> {
    validateInferRequest(req);
    throw await this.notLoaded(req.modelName, req.modelVersion);
  }
}

/** The answer to the repository load/unload methods until the lifecycle loop lands. */
export function lifecycleUnimplemented(method: string): GrpcError {
  return new GrpcError(Status.UNIMPLEMENTED, `${method} arrives with the model lifecycle loop (issue #3)`);
}
