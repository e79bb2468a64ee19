import { InferenceRecordSchema, LoggedTensorSchema, type LoggedTensor } from '@aio/proto/aio/gateway/v1/inference_log';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { decodeTensor, halfToNumber, predictionsOf, rowsOfRecord } from './tensor.decode.js';

function tensor(name: string, datatype: string, shape: number[], write: (view: DataView) => void, bytes: number): LoggedTensor {
  const raw = new Uint8Array(bytes);
  write(new DataView(raw.buffer));
  return create(LoggedTensorSchema, { name, datatype, shape: shape.map(BigInt), raw });
}

const fp32 = (name: string, shape: number[], values: number[]): LoggedTensor =>
  tensor(name, 'FP32', shape, (v) => values.forEach((x, i) => v.setFloat32(i * 4, x, true)), values.length * 4);
const int64 = (name: string, shape: number[], values: number[]): LoggedTensor =>
  tensor(name, 'INT64', shape, (v) => values.forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true)), values.length * 8);

function bytesTensor(name: string, values: string[]): LoggedTensor {
  const parts = values.map((s) => new TextEncoder().encode(s));
  const raw = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(raw.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length, true);
    raw.set(p, at + 4);
    at += 4 + p.length;
  }
  return create(LoggedTensorSchema, { name, datatype: 'BYTES', shape: [BigInt(values.length)], raw });
}

describe('tensor decoding', () => {
  it('reads little-endian numeric types', () => {
    expect(decodeTensor(fp32('x', [2, 2], [1.5, -2, 0.25, 8])).values).toEqual([1.5, -2, 0.25, 8]);
    expect(decodeTensor(int64('y', [3], [-1, 0, 2 ** 40])).values).toEqual([-1, 0, 2 ** 40]);
    const f64 = tensor('z', 'FP64', [1], (v) => v.setFloat64(0, Math.PI, true), 8);
    expect(decodeTensor(f64).values).toEqual([Math.PI]);
    const i32 = tensor('i', 'INT32', [2], (v) => (v.setInt32(0, -7, true), v.setInt32(4, 9, true)), 8);
    expect(decodeTensor(i32).values).toEqual([-7, 9]);
    const bool = tensor('b', 'BOOL', [3], (v) => (v.setUint8(0, 1), v.setUint8(1, 0), v.setUint8(2, 5)), 3);
    expect(decodeTensor(bool).values).toEqual([1, 0, 1]);
  });

  it('reads BYTES elements with their 4-byte length prefixes', () => {
    expect(decodeTensor(bytesTensor('c', ['red', '', 'grün'])).values).toEqual(['red', '', 'grün']);
  });

  it('decodes IEEE half floats', () => {
    // 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125, 0x0001 = 2^-24 (smallest subnormal)
    expect([0x3c00, 0xc000, 0x3555, 0x0001].map(halfToNumber)).toEqual([1, -2, 0.333251953125, 2 ** -24]);
  });

  it('names what is wrong with a tensor it cannot read', () => {
    expect(() => decodeTensor(fp32('x', [3], [1, 2]))).toThrow(/tensor "x": 8 raw bytes for 3 FP32 elements \(want 12\)/);
    expect(() => decodeTensor(create(LoggedTensorSchema, { name: 'q', datatype: 'COMPLEX', shape: [1n] }))).toThrow(/datatype "COMPLEX" is not supported/);
  });
});

describe('rows of an inference record', () => {
  it('maps a [N, F] input to columns and the first output to predictions', () => {
    const record = create(InferenceRecordSchema, {
      inputs: [fp32('input', [2, 3], [1, 2, 3, 4, 5, 6])],
      outputs: [int64('label', [2], [0, 2])],
    });
    expect(rowsOfRecord(record)).toEqual([
      { columns: [1, 2, 3], named: undefined, prediction: '0' },
      { columns: [4, 5, 6], named: undefined, prediction: '2' },
    ]);
  });

  it('names [N] and [N, 1] inputs, and takes the arg-max of [N, K] scores as the class', () => {
    const record = create(InferenceRecordSchema, {
      inputs: [fp32('x', [2, 1], [0.5, 1.5]), bytesTensor('color', ['red', 'blue'])],
      outputs: [fp32('probabilities', [2, 3], [0.1, 0.7, 0.2, 0.6, 0.3, 0.1])],
    });
    expect(rowsOfRecord(record)).toEqual([
      { columns: [0.5], named: { x: 0.5, color: 'red' }, prediction: '1' },
      { columns: [1.5], named: { x: 1.5, color: 'blue' }, prediction: '0' },
    ]);
  });

  it('keeps at most maxFeatures columns of a row (an image row would fill the memory)', () => {
    const record = create(InferenceRecordSchema, { inputs: [fp32('image', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8])] });
    expect(rowsOfRecord(record, 2).map((r) => r.columns)).toEqual([[1, 2], [5, 6]]);
  });

  it('keeps float outputs as numbers (regression) and leaves predictions out of failed requests', () => {
    expect(predictionsOf(decodeTensor(fp32('y', [2, 1], [2.5, -1])))).toEqual([2.5, -1]);
    const failed = create(InferenceRecordSchema, { inputs: [fp32('input', [1, 2], [1, 2])], status: 'INTERNAL' });
    expect(rowsOfRecord(failed)).toEqual([{ columns: [1, 2], named: undefined, prediction: undefined }]);
  });
});
