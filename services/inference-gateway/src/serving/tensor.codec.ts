import { endianness } from 'node:os';
import { GrpcError, invalidArgument, Status } from '@aio/grpc';
import type {
  InferParameter,
  InferTensorContents,
  ModelInferRequest,
  ModelInferResponse_InferOutputTensor,
} from '@aio/proto/inference/grpc_service';
import { outputTensor, tensorContents } from './oip.messages.js';
import type { OrtType, TensorData, WireTensor } from './worker.messages.js';

// Raw contents are little-endian; typed arrays use the host's order, and every platform we ship on is LE.
if (endianness() !== 'LE') throw new Error('the inference gateway needs a little-endian host (raw tensor contents are little-endian)');

type ContentsField = 'boolContents' | 'intContents' | 'int64Contents' | 'uintContents' | 'uint64Contents' | 'fp32Contents' | 'fp64Contents';

interface Dtype {
  readonly ort: OrtType;
  readonly bytes: number;
  /** The InferTensorContents field typed values of this datatype travel in. */
  readonly field: ContentsField;
  /** Inclusive range of values the narrow integer types accept from their 32-bit contents field. */
  readonly range?: readonly [number, number];
  /** A typed view of `length` elements at `byteOffset` (aligned to the element size). */
  readonly alloc: (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorData;
}

/** OIP datatypes the gateway serves, with their onnxruntime type, element size and typed-contents field. */
export const DTYPES = {
  BOOL: { ort: 'bool', bytes: 1, field: 'boolContents', alloc: (b, o, n) => new Uint8Array(b, o, n) },
  INT8: { ort: 'int8', bytes: 1, field: 'intContents', range: [-128, 127], alloc: (b, o, n) => new Int8Array(b, o, n) },
  INT16: { ort: 'int16', bytes: 2, field: 'intContents', range: [-32768, 32767], alloc: (b, o, n) => new Int16Array(b, o, n) },
  INT32: { ort: 'int32', bytes: 4, field: 'intContents', alloc: (b, o, n) => new Int32Array(b, o, n) },
  INT64: { ort: 'int64', bytes: 8, field: 'int64Contents', alloc: (b, o, n) => new BigInt64Array(b, o, n) },
  UINT8: { ort: 'uint8', bytes: 1, field: 'uintContents', range: [0, 255], alloc: (b, o, n) => new Uint8Array(b, o, n) },
  UINT16: { ort: 'uint16', bytes: 2, field: 'uintContents', range: [0, 65535], alloc: (b, o, n) => new Uint16Array(b, o, n) },
  UINT32: { ort: 'uint32', bytes: 4, field: 'uintContents', alloc: (b, o, n) => new Uint32Array(b, o, n) },
  UINT64: { ort: 'uint64', bytes: 8, field: 'uint64Contents', alloc: (b, o, n) => new BigUint64Array(b, o, n) },
  FP32: { ort: 'float32', bytes: 4, field: 'fp32Contents', alloc: (b, o, n) => new Float32Array(b, o, n) },
  FP64: { ort: 'float64', bytes: 8, field: 'fp64Contents', alloc: (b, o, n) => new Float64Array(b, o, n) },
} as const satisfies Record<string, Dtype>;

export type Datatype = keyof typeof DTYPES;

const OIP_OF_ORT: ReadonlyMap<string, Datatype> = new Map(Object.entries(DTYPES).map(([oip, d]) => [d.ort, oip as Datatype]));

export function isServedDatatype(datatype: string): datatype is Datatype {
  return Object.hasOwn(DTYPES, datatype);
}

/** The OIP datatype of an onnxruntime tensor type, undefined for types the gateway does not serve (string, float16...). */
export function datatypeOfOrt(ort: string): Datatype | undefined {
  return OIP_OF_ORT.get(ort);
}

const CONTENTS_FIELD_NAMES: Record<ContentsField, string> = {
  boolContents: 'bool_contents',
  intContents: 'int_contents',
  int64Contents: 'int64_contents',
  uintContents: 'uint_contents',
  uint64Contents: 'uint64_contents',
  fp32Contents: 'fp32_contents',
  fp64Contents: 'fp64_contents',
};

/** One tensor of a model signature; -1 marks a dimension of any size. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** A decoded tensor: OIP datatype, dims and its own (transferable) little-endian buffer. */
export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export interface DecodeLimits {
  /** Bytes all input tensors of one request may hold together. */
  readonly maxInputBytes: number;
}

export function describeShape(shape: readonly (number | bigint)[]): string {
  return `[${shape.join(',')}]`;
}

function inputField(index: number): string {
  return `inputs[${index}]`;
}

function shapeRule(spec: TensorSpec, model: string): string {
  return `input "${spec.name}" of model ${model} has shape ${describeShape(spec.shape)} (-1 = any size)`;
}

function shapeTooLarge(index: number, shape: readonly bigint[], spec: TensorSpec, limits: DecodeLimits): GrpcError {
  return tooLarge(`${inputField(index)}.shape`, `${describeShape(shape)} x ${spec.datatype} exceeds ${limits.maxInputBytes} bytes`, limits.maxInputBytes);
}

function findSpec(specs: readonly TensorSpec[], name: string): TensorSpec | undefined {
  for (const s of specs) if (s.name === name) return s;
  return undefined;
}

function listNames(specs: readonly TensorSpec[]): string {
  return specs.map((s) => s.name).join(', ');
}

function tooLarge(field: string, what: string, limit: number): GrpcError {
  return invalidArgument(field, `${what}, over the limit of ${limit} bytes per request (AIO_INFER_MAX_INPUT_BYTES)`);
}

/**
 * Turns the input tensors of an infer request into typed arrays for the model, checking each against
 * the model's signature. Every problem is an INVALID_ARGUMENT naming the field and the rule; nothing
 * is allocated before the sizes are known to be within the limit. Raw contents stay where they are: the
 * tensors are views of the request's bytes (the @aio/grpc transport hands out views of what the socket
 * read, which nothing reuses), copied only when misaligned for the element type. The worker pool copies them into a batch's
 * buffer, or into one of their own before transferring them (tensor.batch transferable()).
 */
export function decodeInputs(req: ModelInferRequest, model: string, signature: Signature, limits: DecodeLimits): Tensor[] {
  const raw = req.rawInputContents.length > 0;
  if (raw && req.rawInputContents.length !== req.inputs.length) {
    throw invalidArgument('raw_input_contents', `must hold one entry per input (${req.inputs.length}) or none, got ${req.rawInputContents.length}`);
  }
  // Hot path: field names and messages are only built when a check fails.
  const plans: { index: number; spec: TensorSpec; dims: number[]; elements: number }[] = [];
  let totalBytes = 0;
  for (let index = 0; index < req.inputs.length; index++) {
    const input = req.inputs[index] as (typeof req.inputs)[number];
    const spec = findSpec(signature.inputs, input.name);
    if (spec === undefined) throw invalidArgument(`${inputField(index)}.name`, `model ${model} has no input "${input.name}" (its inputs: ${listNames(signature.inputs)})`);
    for (let j = 0; j < index; j++) if ((req.inputs[j] as typeof input).name === input.name) throw invalidArgument(`${inputField(index)}.name`, `"${input.name}" is given twice`);
    if (input.datatype !== spec.datatype) {
      throw invalidArgument(`${inputField(index)}.datatype`, `input "${spec.name}" of model ${model} is ${spec.datatype}, got ${input.datatype || '(empty)'}`);
    }
    if (input.shape.length !== spec.shape.length) {
      throw invalidArgument(`${inputField(index)}.shape`, `${shapeRule(spec, model)}, got ${describeShape(input.shape)}: rank ${input.shape.length} instead of ${spec.shape.length}`);
    }
    const dtype = DTYPES[spec.datatype];
    const elementLimit = Math.floor(limits.maxInputBytes / dtype.bytes);
    const dims: number[] = new Array<number>(input.shape.length);
    let elements = 1;
    for (let d = 0; d < input.shape.length; d++) {
      const dim = input.shape[d] as bigint;
      const want = spec.shape[d] ?? -1;
      if (dim < 0n) throw invalidArgument(`${inputField(index)}.shape`, `dimensions must be >= 0, got ${describeShape(input.shape)}`);
      // Inexact only beyond 2^53, which is over any element limit: the checks below hold without BigInts.
      const n = Number(dim);
      if (want >= 0 && n !== want) throw invalidArgument(`${inputField(index)}.shape`, `${shapeRule(spec, model)}, got ${describeShape(input.shape)}: dimension ${d} must be ${want}`);
      if (n > elementLimit) throw shapeTooLarge(index, input.shape, spec, limits);
      dims[d] = n;
      // Both factors are at most elementLimit (< 2^53), so the product is exact until it passes the limit.
      elements = Math.min(elements * n, elementLimit + 1);
    }
    if (elements > elementLimit) throw shapeTooLarge(index, input.shape, spec, limits);
    totalBytes += elements * dtype.bytes;
    if (totalBytes > limits.maxInputBytes) throw tooLarge('inputs', `the input tensors hold ${totalBytes} bytes or more`, limits.maxInputBytes);
    plans.push({ index, spec, dims, elements });
  }
  if (plans.length < signature.inputs.length) {
    const m = signature.inputs.find((s) => !req.inputs.some((i) => i.name === s.name)) as TensorSpec;
    const given = req.inputs.map((i) => i.name);
    throw invalidArgument('inputs', `model ${model} needs input "${m.name}" (${m.datatype} ${describeShape(m.shape)}); the request has ${given.join(', ') || 'none'}`);
  }
  return plans.map(({ index, spec, dims, elements }) => {
    const input = req.inputs[index];
    const dtype = DTYPES[spec.datatype];
    const typedCount = input?.contents === undefined ? 0 : countContents(input.contents);
    if (raw) {
      if (typedCount > 0) throw invalidArgument(`${inputField(index)}.contents`, `input "${spec.name}" has raw_input_contents too; send its values in one of them`);
      const bytes = req.rawInputContents[index] as Uint8Array;
      const need = elements * dtype.bytes;
      if (bytes.byteLength !== need) {
        throw invalidArgument(
          `raw_input_contents[${index}]`,
          `input "${spec.name}" has ${bytes.byteLength} bytes; shape ${describeShape(dims)} x ${spec.datatype} (${dtype.bytes} bytes each) needs ${need}`,
        );
      }
      // new Uint8Array(view) copies; slice() would not when the bytes are a Buffer, as received requests are (Buffer#slice is a view).
      const src = bytes.byteOffset % dtype.bytes === 0 ? bytes : new Uint8Array(bytes);
      return { name: spec.name, datatype: spec.datatype, shape: dims, data: dtype.alloc(src.buffer as ArrayBuffer, src.byteOffset, elements) };
    }
    const contents = input?.contents;
    const values = contents === undefined ? [] : contents[dtype.field];
    if (values.length !== typedCount) {
      const wrong = contentFieldsWithValues(contents).filter((f) => f !== dtype.field)[0] as ContentsField;
      throw invalidArgument(`${inputField(index)}.contents`, `${spec.datatype} values of input "${spec.name}" go in ${CONTENTS_FIELD_NAMES[dtype.field]}, got ${CONTENTS_FIELD_NAMES[wrong]}`);
    }
    if (values.length !== elements) {
      throw invalidArgument(
        `${inputField(index)}.contents.${CONTENTS_FIELD_NAMES[dtype.field]}`,
        `input "${spec.name}" holds ${values.length} values; shape ${describeShape(dims)} needs ${elements}` +
          (values.length === 0 && elements > 0 ? ' (send contents or raw_input_contents)' : ''),
      );
    }
    return { name: spec.name, datatype: spec.datatype, shape: dims, data: fromContents(spec.datatype, values, () => `${inputField(index)}.contents.${CONTENTS_FIELD_NAMES[dtype.field]}`) };
  });
}

function contentFieldsWithValues(contents: InferTensorContents | undefined): ContentsField[] {
  if (contents === undefined) return [];
  return (Object.keys(CONTENTS_FIELD_NAMES) as ContentsField[]).filter((f) => contents[f].length > 0);
}

function countContents(c: InferTensorContents): number {
  return (
    c.boolContents.length + c.intContents.length + c.int64Contents.length + c.uintContents.length + c.uint64Contents.length +
    c.fp32Contents.length + c.fp64Contents.length + c.bytesContents.length
  );
}

function fromContents(datatype: Datatype, values: readonly (number | bigint | boolean)[], field: () => string): TensorData {
  const dtype: Dtype = DTYPES[datatype];
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(values as readonly boolean[], (v) => (v ? 1 : 0));
    case 'INT64':
      return new BigInt64Array(values as readonly bigint[]);
    case 'UINT64':
      return new BigUint64Array(values as readonly bigint[]);
    case 'INT8':
    case 'INT16':
    case 'UINT8':
    case 'UINT16': {
      const [lo, hi] = dtype.range as readonly [number, number];
      const nums = values as readonly number[];
      const bad = nums.findIndex((v) => v < lo || v > hi);
      if (bad >= 0) throw invalidArgument(`${field()}[${bad}]`, `${nums[bad]} is out of the ${datatype} range ${lo}..${hi}`);
      return copyNumbers(datatype, nums);
    }
    case 'INT32':
      return new Int32Array(values as readonly number[]);
    case 'UINT32':
      return new Uint32Array(values as readonly number[]);
    case 'FP32':
      return new Float32Array(values as readonly number[]);
    case 'FP64':
      return new Float64Array(values as readonly number[]);
  }
}

function copyNumbers(datatype: 'INT16' | 'UINT8' | 'UINT16' | 'INT8', nums: readonly number[]): TensorData {
  switch (datatype) {
    case 'INT8':
      return new Int8Array(nums);
    case 'INT16':
      return new Int16Array(nums);
    case 'UINT8':
      return new Uint8Array(nums);
    case 'UINT16':
      return new Uint16Array(nums);
  }
}

/** Names of the outputs a request asks for (all of the model's when it names none); INVALID_ARGUMENT for unknown ones. */
export function requestedOutputs(req: ModelInferRequest, model: string, signature: Signature): string[] {
  if (req.outputs.length === 0) return signature.outputs.map((o) => o.name);
  const seen = new Set<string>();
  return req.outputs.map((o, i) => {
    if (!signature.outputs.some((s) => s.name === o.name)) {
      throw invalidArgument(`outputs[${i}].name`, `model ${model} has no output "${o.name}" (its outputs: ${listNames(signature.outputs)})`);
    }
    if (seen.has(o.name)) throw invalidArgument(`outputs[${i}].name`, `"${o.name}" is requested twice`);
    seen.add(o.name);
    return o.name;
  });
}

function boolParam(params: Record<string, InferParameter> | undefined, key: string): boolean {
  const p = params?.[key]?.parameterChoice;
  return p?.case === 'boolParam' && p.value;
}

/**
 * Whether outputs go back as raw_output_contents: when the request sent raw inputs (tritonclient
 * always does and reads raw outputs), or asked for binary data on an output or the whole request.
 */
export function wantsRawOutput(req: ModelInferRequest): boolean {
  return req.rawInputContents.length > 0 || boolParam(req.parameters, 'binary_data_output') || req.outputs.some((o) => boolParam(o.parameters, 'binary_data'));
}

/** The little-endian bytes of a tensor (a view, no copy). */
export function tensorBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Output tensors as OIP response tensors: typed contents, or raw contents in the same order. */
export function encodeOutputs(tensors: readonly Tensor[], raw: boolean): { outputs: ModelInferResponse_InferOutputTensor[]; rawOutputContents: Uint8Array[] } {
  const outputs = tensors.map((t) => outputTensor(t.name, t.datatype, t.shape.map(BigInt), raw ? undefined : toContents(t)));
  return { outputs, rawOutputContents: raw ? tensors.map((t) => tensorBytes(t.data)) : [] };
}

/** A typed array's values as a plain array (Array.from takes the slow iterator path on typed arrays). */
function plain<T extends number | bigint>(data: ArrayLike<T>): T[] {
  const out = new Array<T>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] as T;
  return out;
}

function toContents(t: Tensor): InferTensorContents {
  const data = t.data;
  switch (t.datatype) {
    case 'BOOL':
      return tensorContents({ boolContents: Array.from(data as Uint8Array, (v) => v !== 0) });
    case 'INT64':
      return tensorContents({ int64Contents: plain(data as BigInt64Array) });
    case 'UINT64':
      return tensorContents({ uint64Contents: plain(data as BigUint64Array) });
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return tensorContents({ intContents: plain(data as Int32Array) });
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return tensorContents({ uintContents: plain(data as Uint32Array) });
    case 'FP32':
      return tensorContents({ fp32Contents: plain(data as Float32Array) });
    case 'FP64':
      return tensorContents({ fp64Contents: plain(data as Float64Array) });
  }
}

/** A tensor from the worker as the codec's Tensor; INTERNAL when the model produced a type the gateway cannot encode. */
export function fromWire(t: WireTensor): Tensor {
  const datatype = datatypeOfOrt(t.type);
  if (datatype === undefined) throw new GrpcError(Status.INTERNAL, `output "${t.name}" has onnxruntime type ${t.type}, which the gateway does not serve`);
  return { name: t.name, datatype, shape: t.dims, data: t.data };
}

export function toWire(t: Tensor): WireTensor {
  return { name: t.name, type: DTYPES[t.datatype].ort, dims: [...t.shape], data: t.data };
}
