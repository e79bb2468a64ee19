import { invalidArgument } from '@aio/grpc';
import {
  InferParameterSchema,
  type InferParameter,
  type InferTensorContents,
  type ModelInferRequest,
  type ModelInferResponse,
} from '@aio/proto/inference/grpc_service';
import { toRestJson } from '@aio/host';
import { create, ScalarType, type DescMessage, type JsonObject, type JsonValue, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { inferRequest, inputTensor, requestedOutput, tensorContents } from './oip.messages.js';
import { DTYPES, isServedDatatype } from './tensor.codec.js';

type ParameterMap = Record<string, InferParameter>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parameters(value: unknown, field: string): ParameterMap {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidArgument(field, 'must be an object');
  const out: ParameterMap = {};
  const param = (parameterChoice: MessageInitShape<typeof InferParameterSchema>['parameterChoice']): InferParameter => create(InferParameterSchema, { parameterChoice });
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'boolean') out[k] = param({ case: 'boolParam', value: v });
    else if (typeof v === 'string') out[k] = param({ case: 'stringParam', value: v });
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out[k] = param({ case: 'int64Param', value: BigInt(v) });
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = param({ case: 'doubleParam', value: v });
    else throw invalidArgument(`${field}.${k}`, 'must be a boolean, string or number');
  }
  return out;
}

/** An array with no nested arrays: already row-major flat. */
function isFlat(data: unknown): data is unknown[] {
  return Array.isArray(data) && !data.some((v) => Array.isArray(v));
}

function flatten(data: unknown, field: string, out: unknown[] = []): unknown[] {
  if (!Array.isArray(data)) {
    out.push(data);
    return out;
  }
  for (const item of data) flatten(item, field, out);
  return out;
}

function integer(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  // Integers beyond 2^53 cannot travel as JSON numbers without loss: accept them as decimal strings.
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw invalidArgument(field, `must be an integer (a JSON number, or a decimal string beyond 2^53), got ${JSON.stringify(v)}`);
}

/** The typed contents of a tensor from its flat JSON values, checked against the datatype. */
function contentsOf(datatype: string, values: unknown[], field: string): InferTensorContents {
  return tensorContents(contentsFields(datatype, values, field));
}

function contentsFields(datatype: string, values: unknown[], field: string): Parameters<typeof tensorContents>[0] {
  if (!isServedDatatype(datatype)) return {};
  const at = (i: number) => `${field}[${i}]`;
  switch (DTYPES[datatype].field) {
    case 'boolContents':
      return {
        boolContents: values.map((v, i) => {
          if (typeof v !== 'boolean') throw invalidArgument(at(i), `must be true or false, got ${JSON.stringify(v)}`);
          return v;
        }),
      };
    case 'fp32Contents':
    case 'fp64Contents': {
      // The usual body: a flat array of numbers is taken as it is (no copy).
      const nums = values.every((v) => typeof v === 'number') ? values : values.map((v, i) => {
        if (typeof v !== 'number') throw invalidArgument(at(i), `must be a number, got ${JSON.stringify(v)}`);
        return v;
      });
      return DTYPES[datatype].field === 'fp32Contents' ? { fp32Contents: nums } : { fp64Contents: nums };
    }
    case 'intContents':
    case 'uintContents': {
      const nums = values.map((v, i) => {
        const n = integer(v, at(i));
        if (n < -(2n ** 31n) || n >= 2n ** 32n) throw invalidArgument(at(i), `${n} is out of the ${datatype} range`);
        return Number(n);
      });
      if (DTYPES[datatype].field === 'uintContents') {
        const bad = nums.findIndex((n) => n < 0);
        if (bad >= 0) throw invalidArgument(at(bad), `${nums[bad]} is out of the ${datatype} range`);
        return { uintContents: nums };
      }
      const bad = nums.findIndex((n) => n >= 2 ** 31);
      if (bad >= 0) throw invalidArgument(at(bad), `${nums[bad]} is out of the ${datatype} range`);
      return { intContents: nums };
    }
    case 'int64Contents':
      return { int64Contents: values.map((v, i) => integer(v, at(i))) };
    case 'uint64Contents':
      return {
        uint64Contents: values.map((v, i) => {
          const n = integer(v, at(i));
          if (n < 0n) throw invalidArgument(at(i), `${n} is out of the UINT64 range`);
          return n;
        }),
      };
  }
}

/**
 * An OIP REST infer body (`{ id, parameters, inputs: [{ name, shape, datatype, data }], outputs }`)
 * as the gRPC request, so both transports share one InferenceService. `data` may be flat or nested
 * row-major arrays. Triton's binary-data extension is refused by name, never half-honoured.
 */
export function inferRequestFromJson(model: string, version: string, body: unknown): ModelInferRequest {
  if (!isObject(body)) throw invalidArgument('body', 'must be a JSON object with "inputs" (OIP v2 inference request)');
  if (body.id !== undefined && typeof body.id !== 'string') throw invalidArgument('id', 'must be a string');
  if (!Array.isArray(body.inputs)) throw invalidArgument('inputs', 'must be an array of tensors');
  const inputs = (body.inputs as unknown[]).map((raw, i) => {
    const field = `inputs[${i}]`;
    if (!isObject(raw)) throw invalidArgument(field, 'must be an object with name, shape, datatype and data');
    const { name, shape, datatype, data } = raw;
    if (typeof name !== 'string') throw invalidArgument(`${field}.name`, 'must be a string');
    if (typeof datatype !== 'string') throw invalidArgument(`${field}.datatype`, 'must be a string');
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d))) throw invalidArgument(`${field}.shape`, 'must be an array of integers');
    const params = parameters(raw.parameters, `${field}.parameters`);
    if (params.binary_data_size !== undefined) {
      throw invalidArgument(`${field}.parameters.binary_data_size`, 'binary tensor data is not supported over REST; send "data" as JSON, or use gRPC raw_input_contents');
    }
    if (data === undefined) throw invalidArgument(`${field}.data`, 'is required');
    return inputTensor(name, datatype, (shape as number[]).map(BigInt), params, contentsOf(datatype, isFlat(data) ? data : flatten(data, `${field}.data`), `${field}.data`));
  });
  if (body.outputs !== undefined && !Array.isArray(body.outputs)) throw invalidArgument('outputs', 'must be an array');
  const outputs = ((body.outputs ?? []) as unknown[]).map((raw, i) => {
    const field = `outputs[${i}]`;
    if (!isObject(raw) || typeof raw.name !== 'string') throw invalidArgument(`${field}.name`, 'must be a string');
    const params = parameters(raw.parameters, `${field}.parameters`);
    const binary = params.binary_data?.parameterChoice;
    if (binary?.case === 'boolParam' && binary.value) {
      throw invalidArgument(`${field}.parameters.binary_data`, 'binary tensor data is not supported over REST; omit it to get JSON data, or use gRPC raw_output_contents');
    }
    return requestedOutput(raw.name, params);
  });
  const requestParams = parameters(body.parameters, 'parameters');
  if (requestParams.binary_data_output !== undefined) {
    throw invalidArgument('parameters.binary_data_output', 'binary tensor data is not supported over REST; omit it to get JSON data, or use gRPC raw_output_contents');
  }
  return inferRequest({ modelName: model, modelVersion: version, id: typeof body.id === 'string' ? body.id : '', parameters: requestParams, inputs, outputs });
}

function jsonValues(c: InferTensorContents | undefined): JsonValue[] {
  if (c === undefined) return [];
  if (c.boolContents.length > 0) return c.boolContents;
  if (c.fp32Contents.length > 0) return allFinite(c.fp32Contents) ? c.fp32Contents : c.fp32Contents.map(finite);
  if (c.fp64Contents.length > 0) return allFinite(c.fp64Contents) ? c.fp64Contents : c.fp64Contents.map(finite);
  if (c.intContents.length > 0) return c.intContents;
  if (c.uintContents.length > 0) return c.uintContents;
  // Beyond 2^53 a JSON number would silently change the value: such elements travel as strings.
  const big = (v: bigint): JsonValue => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
  if (c.int64Contents.length > 0) return c.int64Contents.map(big);
  if (c.uint64Contents.length > 0) return c.uint64Contents.map(big);
  return [];
}

function allFinite(values: readonly number[]): boolean {
  return values.every((v) => Number.isFinite(v));
}

// JSON has no NaN or infinities; OIP REST servers (Triton) emit them as strings too.
function finite(v: number): JsonValue {
  return Number.isFinite(v) ? v : String(v);
}

function parametersJson(params: Record<string, InferParameter>): JsonObject | undefined {
  const entries = Object.entries(params);
  if (entries.length === 0) return undefined;
  const out: JsonObject = {};
  for (const [k, p] of entries) {
    const c = p.parameterChoice;
    if (c.case === undefined) continue;
    out[k] = typeof c.value === 'bigint' ? Number(c.value) : c.value;
  }
  return out;
}

/** The OIP REST response body of a (typed-contents) infer response. */
export function inferResponseToJson(res: ModelInferResponse): JsonObject {
  const body: JsonObject = {
    model_name: res.modelName,
    model_version: res.modelVersion,
    id: res.id,
    outputs: res.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(Number), data: jsonValues(o.contents) })),
  };
  const params = parametersJson(res.parameters);
  if (params !== undefined) body.parameters = params;
  return body;
}

const INT64_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);

const int64Number = (v: JsonValue): JsonValue => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v);

function int64Numbers(desc: DescMessage, json: JsonValue): JsonValue {
  if (!isObject(json)) return json;
  const out: JsonObject = { ...json };
  for (const f of desc.fields) {
    const v = out[f.name];
    if (v === undefined || v === null) continue;
    if (f.fieldKind === 'scalar') out[f.name] = INT64_TYPES.has(f.scalar) ? int64Number(v) : v;
    else if (f.fieldKind === 'message') out[f.name] = int64Numbers(f.message, v);
    else if (f.fieldKind === 'list' && Array.isArray(v)) {
      if (f.listKind === 'message') out[f.name] = v.map((item) => int64Numbers(f.message, item));
      else if (f.listKind === 'scalar' && INT64_TYPES.has(f.scalar)) out[f.name] = v.map(int64Number);
    } else if (f.fieldKind === 'map' && isObject(v)) {
      const entries = Object.entries(v);
      if (f.mapKind === 'message') out[f.name] = Object.fromEntries(entries.map(([k, item]) => [k, int64Numbers(f.message, item)]));
      else if (f.mapKind === 'scalar' && INT64_TYPES.has(f.scalar)) out[f.name] = Object.fromEntries(entries.map(([k, item]) => [k, int64Number(item)]));
    }
  }
  return out;
}

/**
 * A message as Triton's REST API writes it: proto field names, and 64-bit integers (shapes, counters,
 * nanoseconds) as JSON numbers where proto3 JSON writes strings. perf_analyzer and tritonclient read them
 * as numbers. Values past 2^53 lose precision, as in any JSON reader that parses into doubles.
 */
export function tritonJson<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonValue {
  return int64Numbers(schema, toRestJson(schema, message));
}
