import { GrpcError, Status } from '@aio/grpc';
import { InferTensorContentsSchema, ModelInferRequest_InferInputTensorSchema, ModelInferRequestSchema, type ModelInferRequest } from '@aio/proto/inference/grpc_service';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { decodeInputs, encodeOutputs, requestedOutputs, wantsRawOutput, type Signature, type Tensor } from './tensor.codec.js';

const signature: Signature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'd', datatype: 'FP64', shape: [-1] },
    { name: 'i', datatype: 'INT64', shape: [-1] },
    { name: 'n', datatype: 'INT32', shape: [-1] },
    { name: 'f', datatype: 'BOOL', shape: [-1] },
  ],
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [-1, 2] },
    { name: 'i2', datatype: 'INT64', shape: [-1] },
  ],
};
const limits = { maxInputBytes: 1024 };

type Init = MessageInitShape<typeof ModelInferRequestSchema>;
type InputInit = MessageInitShape<typeof ModelInferRequest_InferInputTensorSchema>;
const typedInputs: InputInit[] = [
  { name: 'x', datatype: 'FP32', shape: [2n, 2n], contents: { fp32Contents: [1, 2, 3, 4] } },
  { name: 'd', datatype: 'FP64', shape: [1n], contents: { fp64Contents: [0.5] } },
  { name: 'i', datatype: 'INT64', shape: [2n], contents: { int64Contents: [-(2n ** 40n), 7n] } },
  { name: 'n', datatype: 'INT32', shape: [1n], contents: { intContents: [-3] } },
  { name: 'f', datatype: 'BOOL', shape: [3n], contents: { boolContents: [true, false, true] } },
];
const withFirst = (patch: Partial<InputInit>): InputInit[] => typedInputs.map((t, i) => (i === 0 ? ({ ...t, ...patch } as InputInit) : t));
const request = (init: Init): ModelInferRequest => create(ModelInferRequestSchema, { modelName: 'm', inputs: typedInputs, ...init });

function le(values: ArrayLike<number> | ArrayLike<bigint>, Ctor: { from(v: ArrayLike<number> | ArrayLike<bigint>): { buffer: ArrayBufferLike } }): Uint8Array {
  return new Uint8Array(Ctor.from(values).buffer);
}

const rawRequest = (): ModelInferRequest =>
  request({
    inputs: typedInputs.map((t) => ({ ...t, contents: undefined })),
    rawInputContents: [
      le([1, 2, 3, 4], Float32Array),
      le([0.5], Float64Array),
      le([-(2n ** 40n), 7n], BigInt64Array),
      le([-3], Int32Array),
      Uint8Array.from([1, 0, 1]),
    ],
  });

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(Status.INVALID_ARGUMENT);
    return (err as GrpcError).message;
  }
  throw new Error('no rejection');
}

const values = (tensors: Tensor[]) => Object.fromEntries(tensors.map((t) => [t.name, { shape: t.shape, data: Array.from(t.data as ArrayLike<unknown>) }]));

describe('decodeInputs', () => {
  const expected = {
    x: { shape: [2, 2], data: [1, 2, 3, 4] },
    d: { shape: [1], data: [0.5] },
    i: { shape: [2], data: [-(2n ** 40n), 7n] },
    n: { shape: [1], data: [-3] },
    f: { shape: [3], data: [1, 0, 1] },
  };

  it('decodes typed contents of FP32, FP64, INT64, INT32 and BOOL', () => {
    expect(values(decodeInputs(request({}), 'm', signature, limits))).toEqual(expected);
  });

  it('decodes little-endian raw contents as views of the request bytes (no copy)', () => {
    const req = rawRequest();
    const tensors = decodeInputs(req, 'm', signature, limits);
    expect(values(tensors)).toEqual(expected);
    const bytes = req.rawInputContents[0] as Uint8Array;
    expect(tensors[0]?.data.buffer).toBe(bytes.buffer);
    expect(tensors[0]?.data.byteOffset).toBe(bytes.byteOffset);
  });

  it('copies raw contents misaligned for their type, and views aligned ones inside a larger buffer', () => {
    const req = rawRequest();
    const big = new Uint8Array(40);
    big.set(req.rawInputContents[0] as Uint8Array, 1);
    big.set(req.rawInputContents[0] as Uint8Array, 20);
    req.rawInputContents[0] = big.subarray(1, 17);
    const misaligned = decodeInputs(req, 'm', signature, limits)[0]?.data as Float32Array;
    expect(Array.from(misaligned)).toEqual([1, 2, 3, 4]);
    expect(misaligned.buffer).not.toBe(big.buffer);
    // Received requests are Buffers, whose slice() is a view: still copied.
    req.rawInputContents[0] = Buffer.from(big.buffer, 1, 16);
    expect(Array.from(decodeInputs(req, 'm', signature, limits)[0]?.data as Float32Array)).toEqual([1, 2, 3, 4]);
    req.rawInputContents[0] = big.subarray(20, 36);
    const aligned = decodeInputs(req, 'm', signature, limits)[0]?.data as Float32Array;
    expect(Array.from(aligned)).toEqual([1, 2, 3, 4]);
    expect([aligned.buffer, aligned.byteOffset]).toEqual([big.buffer, 20]);
  });

  it('names an unknown input, a duplicate and a missing one', () => {
    expect(rejection(() => decodeInputs(request({ inputs: [...typedInputs, { name: 'z', datatype: 'FP32', shape: [1n] }] }), 'm', signature, limits))).toMatch(
      /^inputs\[5\]\.name: model m has no input "z" \(its inputs: x, d, i, n, f\)/,
    );
    expect(rejection(() => decodeInputs(request({ inputs: typedInputs.slice(1) }), 'm', signature, limits))).toMatch(/^inputs: model m needs input "x" \(FP32 \[-1,2\]\)/);
    expect(rejection(() => decodeInputs(request({ inputs: [...typedInputs, typedInputs[0] as never] }), 'm', signature, limits))).toMatch(/^inputs\[5\]\.name: "x" is given twice/);
  });

  it('names a wrong datatype', () => {
    const inputs = withFirst({ datatype: 'FP64' });
    expect(rejection(() => decodeInputs(request({ inputs }), 'm', signature, limits))).toBe('inputs[0].datatype: input "x" of model m is FP32, got FP64');
  });

  it('names a wrong rank and a wrong fixed dimension, and accepts any size for -1', () => {
    const rank = withFirst({ shape: [4n] });
    expect(rejection(() => decodeInputs(request({ inputs: rank }), 'm', signature, limits))).toMatch(/^inputs\[0\]\.shape: input "x" of model m has shape \[-1,2\].*got \[4\]: rank 1 instead of 2/);
    const dim = withFirst({ shape: [1n, 4n] });
    expect(rejection(() => decodeInputs(request({ inputs: dim }), 'm', signature, limits))).toMatch(/^inputs\[0\]\.shape: .*got \[1,4\]: dimension 1 must be 2/);
    const zero = withFirst({ shape: [0n, 2n], contents: { fp32Contents: [] } });
    expect(decodeInputs(request({ inputs: zero }), 'm', signature, limits)[0]?.shape).toEqual([0, 2]);
  });

  it('names a typed-contents count that does not match the shape, and values in the wrong field', () => {
    const count = withFirst({ contents: { fp32Contents: [1, 2, 3] } });
    expect(rejection(() => decodeInputs(request({ inputs: count }), 'm', signature, limits))).toBe('inputs[0].contents.fp32_contents: input "x" holds 3 values; shape [2,2] needs 4');
    const field = withFirst({ contents: { fp64Contents: [1, 2, 3, 4] } });
    expect(rejection(() => decodeInputs(request({ inputs: field }), 'm', signature, limits))).toBe('inputs[0].contents: FP32 values of input "x" go in fp32_contents, got fp64_contents');
    const none = withFirst({ contents: undefined });
    expect(rejection(() => decodeInputs(request({ inputs: none }), 'm', signature, limits))).toMatch(/needs 4 \(send contents or raw_input_contents\)$/);
  });

  it('names a raw byte length that is not shape x datatype size, and raw plus typed values', () => {
    const req = rawRequest();
    req.rawInputContents[2] = new Uint8Array(15);
    expect(rejection(() => decodeInputs(req, 'm', signature, limits))).toBe('raw_input_contents[2]: input "i" has 15 bytes; shape [2] x INT64 (8 bytes each) needs 16');
    const both = rawRequest();
    (both.inputs[1] as { contents?: unknown }).contents = create(InferTensorContentsSchema, { fp64Contents: [1] });
    expect(rejection(() => decodeInputs(both, 'm', signature, limits))).toMatch(/^inputs\[1\]\.contents: input "d" has raw_input_contents too/);
    const short = rawRequest();
    short.rawInputContents.pop();
    expect(rejection(() => decodeInputs(short, 'm', signature, limits))).toMatch(/^raw_input_contents: must hold one entry per input \(5\)/);
  });

  it('refuses tensors over the byte limit before allocating anything', () => {
    const huge = withFirst({ shape: [2n ** 40n, 2n] });
    expect(rejection(() => decodeInputs(request({ inputs: huge }), 'm', signature, limits))).toMatch(/^inputs\[0\]\.shape: .* over the limit of 1024 bytes per request \(AIO_INFER_MAX_INPUT_BYTES\)/);
    const product = withFirst({ shape: [200n, 2n] });
    expect(rejection(() => decodeInputs(request({ inputs: product }), 'm', signature, limits))).toMatch(/over the limit of 1024 bytes/);
    // Each tensor fits, together they do not.
    expect(rejection(() => decodeInputs(request({}), 'm', signature, { maxInputBytes: 20 }))).toMatch(/^inputs: the input tensors hold \d+ bytes or more, over the limit of 20 bytes/);
  });

  it('refuses narrow integers out of range', () => {
    const sig: Signature = { inputs: [{ name: 'b', datatype: 'INT8', shape: [2] }], outputs: [] };
    const req = create(ModelInferRequestSchema, { modelName: 'm', inputs: [{ name: 'b', datatype: 'INT8', shape: [2n], contents: { intContents: [1, 300] } }] });
    expect(rejection(() => decodeInputs(req, 'm', sig, limits))).toBe('inputs[0].contents.int_contents[1]: 300 is out of the INT8 range -128..127');
  });
});

describe('outputs', () => {
  const tensors: Tensor[] = [
    { name: 'y', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([4.5, 5]) },
    { name: 'i2', datatype: 'INT64', shape: [1], data: BigInt64Array.from([10n]) },
    { name: 'nf', datatype: 'BOOL', shape: [2], data: Uint8Array.from([0, 1]) },
  ];

  it('encodes typed contents', () => {
    const { outputs, rawOutputContents } = encodeOutputs(tensors, false);
    expect(rawOutputContents).toEqual([]);
    expect(outputs.map((o) => [o.name, o.datatype, o.shape, o.contents?.fp32Contents, o.contents?.int64Contents, o.contents?.boolContents])).toEqual([
      ['y', 'FP32', [1n, 2n], [4.5, 5], [], []],
      ['i2', 'INT64', [1n], [], [10n], []],
      ['nf', 'BOOL', [2n], [], [], [false, true]],
    ]);
  });

  it('encodes raw contents in output order, little-endian', () => {
    const { outputs, rawOutputContents } = encodeOutputs(tensors, true);
    expect(outputs.every((o) => o.contents === undefined)).toBe(true);
    expect(Array.from(new Float32Array((rawOutputContents[0] as Uint8Array).slice().buffer))).toEqual([4.5, 5]);
    expect(Array.from(rawOutputContents[1] as Uint8Array)).toEqual([10, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(rawOutputContents[2] as Uint8Array)).toEqual([0, 1]);
  });

  it('answers raw when the request sent raw inputs or asked for binary data', () => {
    expect(wantsRawOutput(request({}))).toBe(false);
    expect(wantsRawOutput(rawRequest())).toBe(true);
    expect(wantsRawOutput(request({ outputs: [{ name: 'y', parameters: { binary_data: { parameterChoice: { case: 'boolParam', value: true } } } }] }))).toBe(true);
    expect(wantsRawOutput(request({ parameters: { binary_data_output: { parameterChoice: { case: 'boolParam', value: true } } } }))).toBe(true);
  });

  it('checks requested output names', () => {
    expect(requestedOutputs(request({}), 'm', signature)).toEqual(['y', 'i2']);
    expect(requestedOutputs(request({ outputs: [{ name: 'i2' }] }), 'm', signature)).toEqual(['i2']);
    expect(rejection(() => requestedOutputs(request({ outputs: [{ name: 'zz' }] }), 'm', signature))).toBe('outputs[0].name: model m has no output "zz" (its outputs: y, i2)');
  });
});
