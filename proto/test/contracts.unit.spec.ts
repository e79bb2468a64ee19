// Wire identities third-party clients rely on (Triton/KServe field numbers, health, the permission
// option) checked against the generated descriptors, plus binary round trips.
import { create, fromBinary, getOption, hasOption, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { permission } from '../src/gen/aio/auth/v1/options_pb.js';
import { ModelVersionSchema, RegistryService } from '../src/gen/aio/registry/v1/registry_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../src/gen/grpc/health/v1/health_pb.js';
import {
  GRPCInferenceService,
  InferParameterSchema,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  ModelStatisticsSchema,
  ModelStreamInferResponseSchema,
} from '../src/gen/inference/grpc_service_pb.js';
import { DataType, ModelConfigSchema, ModelDynamicBatchingSchema, ModelInputSchema } from '../src/gen/inference/model_config_pb.js';
import { protoRegistry } from '../src/index.js';

function fieldNumbers(desc: DescMessage): Record<string, number> {
  return Object.fromEntries(desc.fields.map((f) => [f.name, f.number]));
}

describe('Open Inference Protocol / Triton wire compatibility', () => {
  it('keeps the service and method names tritonclient calls', () => {
    expect(GRPCInferenceService.typeName).toBe('inference.GRPCInferenceService');
    expect(GRPCInferenceService.methods.map((m) => m.name)).toEqual([
      'ServerLive',
      'ServerReady',
      'ModelReady',
      'ServerMetadata',
      'ModelMetadata',
      'ModelInfer',
      'ModelStreamInfer',
      'ModelConfig',
      'ModelStatistics',
      'RepositoryIndex',
      'RepositoryModelLoad',
      'RepositoryModelUnload',
    ]);
    expect(GRPCInferenceService.method.modelStreamInfer.methodKind).toBe('bidi_streaming');
    expect(GRPCInferenceService.method.modelStreamInfer.output).toBe(ModelStreamInferResponseSchema);
  });

  it('uses Triton field numbers for the infer messages', () => {
    expect(fieldNumbers(ModelInferRequestSchema)).toEqual({
      model_name: 1,
      model_version: 2,
      id: 3,
      parameters: 4,
      inputs: 5,
      outputs: 6,
      raw_input_contents: 7,
    });
    expect(fieldNumbers(ModelInferResponseSchema)).toMatchObject({ outputs: 5, raw_output_contents: 6 });
    expect(fieldNumbers(InferParameterSchema)).toEqual({
      bool_param: 1,
      int64_param: 2,
      string_param: 3,
      double_param: 4,
      uint64_param: 5,
    });
    expect(fieldNumbers(ModelStatisticsSchema)).toMatchObject({ inference_stats: 6, batch_stats: 7, response_stats: 9 });
  });

  it('uses Triton field numbers for the model configuration', () => {
    expect(fieldNumbers(ModelConfigSchema)).toMatchObject({
      name: 1,
      platform: 2,
      backend: 17,
      max_batch_size: 4,
      input: 5,
      output: 6,
      dynamic_batching: 11,
      instance_group: 7,
    });
    expect(fieldNumbers(ModelInputSchema)).toMatchObject({ data_type: 2, format: 3, dims: 4 });
    expect(fieldNumbers(ModelDynamicBatchingSchema)).toMatchObject({ preferred_batch_size: 1, max_queue_delay_microseconds: 2 });
    expect(DataType.TYPE_FP32).toBe(11);
    expect(DataType.TYPE_STRING).toBe(13);
    expect(DataType.TYPE_BF16).toBe(14);
  });

  it('round-trips a ModelInferRequest with raw input contents', () => {
    const floats = new Float32Array([1.5, -2, 3.25, 0]);
    const request = create(ModelInferRequestSchema, {
      modelName: 'iris',
      modelVersion: '3',
      id: 'req-1',
      parameters: { priority: { parameterChoice: { case: 'int64Param', value: 2n } } },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 4n] }],
      outputs: [{ name: 'y' }],
      rawInputContents: [new Uint8Array(floats.buffer)],
    });
    const bytes = toBinary(ModelInferRequestSchema, request);
    // Field 7, wire type 2 (length-delimited) is tag byte 0x3a, followed by the 16-byte length.
    expect(Buffer.from(bytes).includes(Buffer.from([0x3a, 16]))).toBe(true);
    const decoded = fromBinary(ModelInferRequestSchema, bytes);
    expect(decoded.modelName).toBe('iris');
    expect(decoded.inputs[0]?.shape).toEqual([1n, 4n]);
    expect(decoded.parameters.priority?.parameterChoice).toEqual({ case: 'int64Param', value: 2n });
    const raw = decoded.rawInputContents[0];
    expect(raw).toBeDefined();
    expect(Array.from(new Float32Array(raw!.slice().buffer))).toEqual([1.5, -2, 3.25, 0]);
  });

  it('round-trips a ModelConfig with dynamic batching', () => {
    const config = create(ModelConfigSchema, {
      name: 'iris',
      backend: 'onnxruntime',
      maxBatchSize: 64,
      input: [{ name: 'x', dataType: DataType.TYPE_FP32, dims: [4n] }],
      schedulingChoice: { case: 'dynamicBatching', value: { preferredBatchSize: [8, 16], maxQueueDelayMicroseconds: 500n } },
    });
    const decoded = fromBinary(ModelConfigSchema, toBinary(ModelConfigSchema, config));
    expect(decoded.schedulingChoice.case).toBe('dynamicBatching');
    expect(decoded.input[0]?.dataType).toBe(DataType.TYPE_FP32);
  });
});

describe('gRPC health', () => {
  it('is the standard grpc.health.v1.Health', () => {
    expect(Health.typeName).toBe('grpc.health.v1.Health');
    expect(Health.method.watch.methodKind).toBe('server_streaming');
    expect(HealthCheckResponse_ServingStatus.SERVING).toBe(1);
    expect(HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN).toBe(3);
  });
});

describe('aio contracts', () => {
  it('declares a permission on every aio method', () => {
    for (const method of RegistryService.methods) {
      expect(hasOption(method, permission), method.name).toBe(true);
    }
    expect(getOption(RegistryService.method.setDeployment, permission)).toBe('deployments:write');
    expect(permission.number).toBe(50001);
  });

  it('resolves every aio type by name through the root registry', () => {
    expect(protoRegistry.getMessage('aio.registry.v1.ModelVersionCreated')).toBeDefined();
    expect(protoRegistry.getMessage('aio.monitor.v1.Feedback')).toBeDefined();
    expect(protoRegistry.getMessage('aio.gateway.v1.InferenceRecord')).toBeDefined();
    expect(protoRegistry.getMessage('aio.registry.v1.ModelVersion')).toBe(ModelVersionSchema);
    expect(protoRegistry.getService('aio.ingestion.v1.IngestionService')?.method.ingestRecords?.methodKind).toBe(
      'client_streaming',
    );
  });
});
