import { GrpcError, Status } from '@aio/grpc';
import { ModelInferResponseSchema, ModelStatisticsResponseSchema } from '@aio/proto/inference/grpc_service';
import { DataType, ModelConfigSchema } from '@aio/proto/inference/model_config';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { inferRequestFromJson, inferResponseToJson, tritonJson } from './oip-json.codec.js';

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as GrpcError).code).toBe(Status.INVALID_ARGUMENT);
    return (err as GrpcError).message;
  }
  throw new Error('no rejection');
}

describe('OIP REST JSON', () => {
  it('turns a JSON request (nested data) into typed contents', () => {
    const req = inferRequestFromJson('m', '2', {
      id: 'r1',
      inputs: [
        { name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3, 4]] },
        { name: 'i', shape: [2], datatype: 'INT64', data: [5, '9007199254740993'] },
        { name: 'f', shape: [1], datatype: 'BOOL', data: [true] },
      ],
      outputs: [{ name: 'y' }],
    });
    expect(req.modelName).toBe('m');
    expect(req.modelVersion).toBe('2');
    expect(req.id).toBe('r1');
    expect(req.inputs[0]?.contents?.fp32Contents).toEqual([1, 2, 3, 4]);
    expect(req.inputs[0]?.shape).toEqual([2n, 2n]);
    expect(req.inputs[1]?.contents?.int64Contents).toEqual([5n, 9007199254740993n]);
    expect(req.inputs[2]?.contents?.boolContents).toEqual([true]);
    expect(req.outputs.map((o) => o.name)).toEqual(['y']);
  });

  it('names what is wrong with a JSON request', () => {
    expect(rejection(() => inferRequestFromJson('m', '', 'nope'))).toMatch(/^body: /);
    expect(rejection(() => inferRequestFromJson('m', '', {}))).toMatch(/^inputs: must be an array/);
    expect(rejection(() => inferRequestFromJson('m', '', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32' }] }))).toBe('inputs[0].data: is required');
    expect(rejection(() => inferRequestFromJson('m', '', { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 'a'] }] }))).toBe('inputs[0].data[1]: must be a number, got "a"');
    expect(rejection(() => inferRequestFromJson('m', '', { inputs: [{ name: 'x', shape: [1], datatype: 'INT64', data: [1.5] }] }))).toMatch(/^inputs\[0\]\.data\[0\]: must be an integer/);
    expect(rejection(() => inferRequestFromJson('m', '', { inputs: [{ name: 'x', shape: [1], datatype: 'BOOL', data: [1] }] }))).toMatch(/^inputs\[0\]\.data\[0\]: must be true or false/);
    expect(rejection(() => inferRequestFromJson('m', '', { inputs: [{ name: 'x', shape: ['1'], datatype: 'FP32', data: [1] }] }))).toMatch(/^inputs\[0\]\.shape: /);
    expect(
      rejection(() => inferRequestFromJson('m', '', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }], outputs: [{ name: 'y', parameters: { binary_data: true } }] })),
    ).toMatch(/^outputs\[0\]\.parameters\.binary_data: binary tensor data is not supported over REST/);
  });

  it('writes a response with flat data and int64 beyond 2^53 as strings', () => {
    const res = create(ModelInferResponseSchema, {
      modelName: 'm',
      modelVersion: '1',
      id: 'r1',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [1n, 2n], contents: { fp32Contents: [4.5, 5] } },
        { name: 'i', datatype: 'INT64', shape: [2n], contents: { int64Contents: [10n, 2n ** 60n] } },
        { name: 'f', datatype: 'BOOL', shape: [1n], contents: { boolContents: [false] } },
      ],
    });
    expect(inferResponseToJson(res)).toEqual({
      model_name: 'm',
      model_version: '1',
      id: 'r1',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [1, 2], data: [4.5, 5] },
        { name: 'i', datatype: 'INT64', shape: [2], data: [10, String(2n ** 60n)] },
        { name: 'f', datatype: 'BOOL', shape: [1], data: [false] },
      ],
    });
  });
});

describe('Triton REST JSON', () => {
  it('writes 64-bit integers as numbers at any depth (fields, lists, maps), everything else as proto3 JSON', () => {
    const stats = create(ModelStatisticsResponseSchema, {
      modelStats: [
        {
          name: 'm',
          version: '3',
          lastInference: 1_700_000_000_000n,
          inferenceCount: 12n,
          inferenceStats: { success: { count: 12n, ns: 3_400_000n }, queue: { count: 12n, ns: 10n } },
          batchStats: [{ batchSize: 4n, computeInfer: { count: 3n, ns: 99n } }],
        },
      ],
    });
    expect(tritonJson(ModelStatisticsResponseSchema, stats)).toEqual({
      model_stats: [
        {
          name: 'm',
          version: '3',
          last_inference: 1_700_000_000_000,
          inference_count: 12,
          inference_stats: { success: { count: 12, ns: 3_400_000 }, queue: { count: 12, ns: 10 } },
          batch_stats: [{ batch_size: 4, compute_infer: { count: 3, ns: 99 } }],
        },
      ],
    });
    const config = create(ModelConfigSchema, {
      name: 'm',
      maxBatchSize: 16,
      input: [{ name: 'x', dataType: DataType.TYPE_FP32, dims: [64n] }],
      schedulingChoice: { case: 'dynamicBatching', value: { maxQueueDelayMicroseconds: 1000n, preferredBatchSize: [8, 16] } },
    });
    expect(tritonJson(ModelConfigSchema, config)).toMatchObject({
      name: 'm',
      max_batch_size: 16,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [64] }],
      dynamic_batching: { max_queue_delay_microseconds: 1000, preferred_batch_size: [8, 16] },
    });
  });
});
