// Element types and dense tensor encoding. Tensors are written as `raw_data` (fixed-width little-endian,
// the compact form every runtime reads); the typed-array kind decides the ONNX element type.
import { create } from '@bufbuild/protobuf';
import { TensorProto_DataType, TensorProtoSchema, type TensorProto } from '@aio/proto/onnx/onnx';

/** Element types a graph input, output or Cast target can have, named like onnxruntime's tensor types. */
export type DType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool' | 'string';

const DATA_TYPES: Record<DType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
  int32: TensorProto_DataType.INT32,
  int64: TensorProto_DataType.INT64,
  bool: TensorProto_DataType.BOOL,
  string: TensorProto_DataType.STRING,
};

/** The ONNX `TensorProto.DataType` number of an element type. */
export function dataTypeOf(dtype: DType): TensorProto_DataType {
  return DATA_TYPES[dtype];
}

/** Typed arrays an initializer or tensor attribute can be built from. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** Thrown for a graph that would not load: the message names the value, node or field and the rule. */
export class OnnxBuildError extends Error {
  override readonly name = 'OnnxBuildError';
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** Encodes `data` with shape `dims` as a TensorProto (row-major, raw little-endian bytes). */
export function tensorProto(name: string, data: TensorData, dims: readonly number[]): TensorProto {
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new OnnxBuildError(`tensor "${name}": dimension ${d} is not a non-negative integer (dims [${dims.join(', ')}])`);
    }
  }
  if (elementCount(dims) !== data.length) {
    throw new OnnxBuildError(
      `tensor "${name}": dims [${dims.join(', ')}] hold ${elementCount(dims)} elements but the data has ${data.length}`,
    );
  }
  const raw = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const view = new DataView(raw.buffer);
  let dataType: TensorProto_DataType;
  if (data instanceof Float32Array) {
    dataType = TensorProto_DataType.FLOAT;
    data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  } else if (data instanceof Float64Array) {
    dataType = TensorProto_DataType.DOUBLE;
    data.forEach((v, i) => view.setFloat64(i * 8, v, true));
  } else if (data instanceof Int32Array) {
    dataType = TensorProto_DataType.INT32;
    data.forEach((v, i) => view.setInt32(i * 4, v, true));
  } else {
    dataType = TensorProto_DataType.INT64;
    data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  }
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType, rawData: raw });
}
