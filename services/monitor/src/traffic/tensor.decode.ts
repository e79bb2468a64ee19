import type { InferenceRecord, LoggedTensor } from '@aio/proto/aio/gateway/v1/inference_log';

/** One element of a logged tensor: numbers for numeric types, strings for BYTES. */
export type Cell = number | string;

/** One input row as logged, before it is matched to a reference profile (see `featureValue`). */
export interface ObservedRow {
  /** Column j of the first input tensor ([N, F]; a 1-D [N] tensor is one column). */
  columns: readonly (Cell | null)[];
  /** Every input tensor of shape [N] or [N, 1], by tensor name. */
  named: Readonly<Record<string, Cell>> | undefined;
  /** The model's answer for this row (see `predictionsOf`); undefined on failure. */
  prediction: Cell | undefined;
}

const widths: Record<string, number> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  FP16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

/** Datatypes whose values are labels rather than measurements when they are a model's output. */
const discrete = new Set(['BOOL', 'INT8', 'UINT8', 'INT16', 'UINT16', 'INT32', 'UINT32', 'INT64', 'UINT64', 'BYTES']);

export class TensorDecodeError extends Error {
  override readonly name = 'TensorDecodeError';
}

export interface DecodedTensor {
  name: string;
  datatype: string;
  shape: number[];
  values: Cell[];
}

/**
 * The elements of a logged tensor (OIP raw contents: little-endian, row-major; BYTES elements are a
 * 4-byte little-endian length then the bytes, read as UTF-8). BOOL is 0/1; 64-bit integers become
 * doubles (exact up to 2^53).
 */
export function decodeTensor(t: LoggedTensor): DecodedTensor {
  const shape = t.shape.map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new TensorDecodeError(`tensor "${t.name}": bad shape [${shape.join(', ')}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  const raw = t.raw;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const values: Cell[] = [];
  if (t.datatype === 'BYTES') {
    const text = new TextDecoder();
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 4 > raw.byteLength) throw new TensorDecodeError(`tensor "${t.name}": BYTES raw ends inside element ${i} of ${count}`);
      const len = view.getUint32(at, true);
      at += 4;
      if (at + len > raw.byteLength) throw new TensorDecodeError(`tensor "${t.name}": BYTES element ${i} runs past the raw contents`);
      values.push(text.decode(raw.subarray(at, at + len)));
      at += len;
    }
    return { name: t.name, datatype: t.datatype, shape, values };
  }
  const width = widths[t.datatype];
  if (width === undefined) throw new TensorDecodeError(`tensor "${t.name}": datatype "${t.datatype}" is not supported (want BOOL, INT*, UINT*, FP16, FP32, FP64 or BYTES)`);
  if (raw.byteLength !== count * width) {
    throw new TensorDecodeError(`tensor "${t.name}": ${raw.byteLength} raw bytes for ${count} ${t.datatype} elements (want ${count * width})`);
  }
  for (let i = 0, at = 0; i < count; i++, at += width) values.push(readElement(view, at, t.datatype));
  return { name: t.name, datatype: t.datatype, shape, values };
}

function readElement(view: DataView, at: number, datatype: string): number {
  switch (datatype) {
    case 'BOOL':
      return view.getUint8(at) === 0 ? 0 : 1;
    case 'INT8':
      return view.getInt8(at);
    case 'UINT8':
      return view.getUint8(at);
    case 'INT16':
      return view.getInt16(at, true);
    case 'UINT16':
      return view.getUint16(at, true);
    case 'FP16':
      return halfToNumber(view.getUint16(at, true));
    case 'INT32':
      return view.getInt32(at, true);
    case 'UINT32':
      return view.getUint32(at, true);
    case 'FP32':
      return view.getFloat32(at, true);
    case 'INT64':
      return Number(view.getBigInt64(at, true));
    case 'UINT64':
      return Number(view.getBigUint64(at, true));
    default:
      return view.getFloat64(at, true);
  }
}

export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Row count of a tensor whose first dimension is the batch; a scalar is one row. */
function rowsOf(t: DecodedTensor): number {
  return t.shape.length === 0 ? 1 : (t.shape[0] ?? 0);
}

/**
 * The model's answer per row, from the first output tensor: [N] or [N, 1] gives the value of each
 * row, [N, K > 1] (scores or probabilities) gives the index of the row's largest element, i.e. the
 * predicted class. Labels (integer, BOOL, BYTES outputs and arg-max classes) become strings, so they
 * compare with categorical profiles and labels as text ("1", "setosa"); float outputs stay numbers.
 */
export function predictionsOf(output: DecodedTensor): Cell[] {
  const n = rowsOf(output);
  const width = n === 0 ? 0 : output.values.length / n;
  const label = discrete.has(output.datatype);
  const out: Cell[] = [];
  for (let i = 0; i < n; i++) {
    if (width <= 1) {
      const v = output.values[i];
      if (v === undefined) break;
      out.push(label && typeof v === 'number' ? String(v) : v);
      continue;
    }
    let best = 0;
    for (let k = 1; k < width; k++) if (Number(output.values[i * width + k]) > Number(output.values[i * width + best])) best = k;
    out.push(String(best));
  }
  return out;
}

/**
 * Columns kept per row. Tabular models have tens of features; an image row has 150 528 values, and a
 * window's reservoir of such rows would take gigabytes (drift on raw pixels is not what the profile
 * describes anyway). Columns beyond this are not monitored.
 */
export const MAX_FEATURES = 1024;

/**
 * The rows of one inference record. Features: the first input tensor's columns (a [N, F] tensor's
 * column j is the profile's j-th non-prediction feature; at most `maxFeatures` of them), plus every
 * input of shape [N] or [N, 1] by its name (a tensor named like a profile feature wins over position).
 * Predictions from the first output.
 */
export function rowsOfRecord(record: InferenceRecord, maxFeatures = MAX_FEATURES): ObservedRow[] {
  const first = record.inputs[0];
  if (first === undefined) return [];
  const main = decodeTensor(first);
  const n = rowsOf(main);
  if (n === 0) return [];
  const width = main.values.length / n;
  const inputs = [main, ...record.inputs.slice(1).map(decodeTensor)];
  const named = inputs.filter((t) => rowsOf(t) === n && t.values.length === n);
  const output = record.outputs[0];
  const predictions = output === undefined ? [] : predictionsOf(decodeTensor(output));
  const rows: ObservedRow[] = [];
  for (let i = 0; i < n; i++) {
    const columns = main.values.slice(i * width, i * width + Math.min(width, maxFeatures));
    rows.push({
      columns,
      named: named.length === 0 ? undefined : Object.fromEntries(named.map((t) => [t.name, t.values[i] ?? ''])),
      prediction: predictions.length === n ? predictions[i] : undefined,
    });
  }
  return rows;
}
