// Node attributes. ONNX types every attribute explicitly (an INT `axis` is not a FLOAT), so values are
// built with these helpers rather than guessed from a JavaScript number.
import { create } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, AttributeProtoSchema, type AttributeProto } from '@aio/proto/onnx/onnx';
import { tensorProto, type TensorData } from './tensor.js';

/** One attribute value with its ONNX type. */
export type AttributeValue =
  | { readonly type: 'int'; readonly value: number | bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: TensorData; readonly dims: readonly number[] };

/** Constructors for typed attribute values: `attr.int(1)`, `attr.floats([0.5, 1])`. */
export const attr = {
  int: (value: number | bigint): AttributeValue => ({ type: 'int', value }),
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  ints: (value: readonly (number | bigint)[]): AttributeValue => ({ type: 'ints', value }),
  floats: (value: readonly number[]): AttributeValue => ({ type: 'floats', value }),
  strings: (value: readonly string[]): AttributeValue => ({ type: 'strings', value }),
  tensor: (value: TensorData, dims: readonly number[]): AttributeValue => ({ type: 'tensor', value, dims }),
} as const;

const utf8 = new TextEncoder();

function toBigInt(name: string, v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw new RangeError(`attribute "${name}": ${v} is not an integer`);
  return BigInt(v);
}

/** The AttributeProto of one named value. */
export function attributeProto(name: string, a: AttributeValue): AttributeProto {
  switch (a.type) {
    case 'int':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: toBigInt(name, a.value) });
    case 'float':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: a.value });
    case 'string':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: utf8.encode(a.value) });
    case 'ints':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: a.value.map((v) => toBigInt(name, v)) });
    case 'floats':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: [...a.value] });
    case 'strings':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRINGS, strings: a.value.map((s) => utf8.encode(s)) });
    case 'tensor':
      return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.TENSOR, t: tensorProto(name, a.value, a.dims) });
  }
}
