// A typed builder for ONNX graphs. Values are referred to by name (strings), as in ONNX itself; each op
// helper returns the name of the value it produces. The builder checks what a runtime would reject
// late and vaguely (unknown inputs, duplicate names, outputs nothing produces) as each call is made.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from '@aio/proto/onnx/onnx';
import { attr, attributeProto, type AttributeValue } from './attribute.js';
import { dataTypeOf, OnnxBuildError, tensorProto, type DType, type TensorData } from './tensor.js';

/** A dimension: a fixed size, a symbolic name (e.g. "N" for the batch) or null for unknown. */
export type Dim = number | string | null;

export interface ModelBuilderOptions {
  /** Graph name (default "main"). */
  readonly graphName?: string;
  /** Default ONNX-domain opset (default 17). */
  readonly opsetVersion?: number;
  /** IR version (default 8, which every runtime since onnxruntime 1.10 loads). */
  readonly irVersion?: number;
  /** Written into ModelProto.producer_name (default "aiochestrator"). */
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
}

export interface NodeOptions {
  /** Output names, or how many fresh names to make (default 1). */
  readonly outputs?: readonly string[] | number;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  /** Node name (default: a fresh one from the op type). */
  readonly name?: string;
  /** Operator set domain ("" = ONNX). */
  readonly domain?: string;
}

export interface GemmOptions {
  readonly alpha?: number;
  readonly beta?: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
}

export interface ArgMaxOptions {
  readonly axis?: number;
  /** Keep the reduced axis as size 1 (ONNX default true). */
  readonly keepdims?: boolean;
  readonly selectLastIndex?: boolean;
}

type ValueOrigin = 'input' | 'initializer' | 'node';

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

export class ModelBuilder {
  private readonly values = new Map<string, ValueOrigin>();
  private readonly nodeNames = new Set<string>();
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly metadata = new Map<string, string>();
  private readonly counters = new Map<string, number>();

  constructor(private readonly options: ModelBuilderOptions = {}) {}

  /** Declares a graph input; returns its name. */
  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.claim(name, 'input');
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Adds a constant tensor (its element type follows the typed array); returns its name. */
  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    const tensor = tensorProto(name, data, dims);
    this.claim(name, 'initializer');
    this.initializers.push(tensor);
    return name;
  }

  /** Adds a constant with a fresh name derived from `hint`; returns the name. */
  constant(hint: string, data: TensorData, dims: readonly number[]): string {
    return this.initializer(this.fresh(hint), data, dims);
  }

  /**
   * Declares a graph output. `from` names the value to expose when it differs from `name` (an
   * Identity node connects them); otherwise `name` must already be produced.
   */
  output(name: string, dtype: DType, shape: readonly Dim[], from?: string): string {
    if (from !== undefined && from !== name) this.identity(from, name);
    if (!this.values.has(name)) {
      throw new OnnxBuildError(`output "${name}": no input, initializer or node produces a value of that name`);
    }
    if (this.outputs.some((o) => o.name === name)) throw new OnnxBuildError(`output "${name}" is declared twice`);
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Adds a ModelProto.metadata_props entry (later calls with the same key replace the value). */
  meta(key: string, value: string): this {
    this.metadata.set(key, value);
    return this;
  }

  /** Adds any operator; returns its output names. Inputs may be "" for an omitted optional input. */
  node(opType: string, inputs: readonly string[], options: NodeOptions = {}): string[] {
    for (const [i, input] of inputs.entries()) {
      if (input !== '' && !this.values.has(input)) {
        throw new OnnxBuildError(`${opType} input ${i} "${input}": no input, initializer or earlier node produces it`);
      }
    }
    const wanted = options.outputs ?? 1;
    const outputs = typeof wanted === 'number' ? Array.from({ length: wanted }, () => this.fresh(opType.toLowerCase())) : [...wanted];
    if (outputs.length === 0) throw new OnnxBuildError(`${opType}: a node needs at least one output`);
    for (const o of outputs) this.claim(o, 'node');
    const name = options.name ?? this.fresh(`${opType}_node`);
    if (this.nodeNames.has(name)) throw new OnnxBuildError(`node name "${name}" is used twice`);
    this.nodeNames.add(name);
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        name,
        input: [...inputs],
        output: outputs,
        ...(options.domain !== undefined ? { domain: options.domain } : {}),
        attribute: Object.entries(options.attributes ?? {}).map(([k, v]) => attributeProto(k, v)),
      }),
    );
    return outputs;
  }

  matMul(a: string, b: string, out?: string): string {
    return this.single('MatMul', [a, b], out);
  }

  /** Y = alpha * A' * B' + beta * C (A' = transpose(A) when transA). */
  gemm(a: string, b: string, c: string | undefined, options: GemmOptions = {}, out?: string): string {
    const attributes: Record<string, AttributeValue> = {};
    if (options.alpha !== undefined) attributes.alpha = attr.float(options.alpha);
    if (options.beta !== undefined) attributes.beta = attr.float(options.beta);
    if (options.transA) attributes.transA = attr.int(1);
    if (options.transB) attributes.transB = attr.int(1);
    return this.single('Gemm', c === undefined ? [a, b] : [a, b, c], out, attributes);
  }

  add(a: string, b: string, out?: string): string {
    return this.single('Add', [a, b], out);
  }

  sub(a: string, b: string, out?: string): string {
    return this.single('Sub', [a, b], out);
  }

  mul(a: string, b: string, out?: string): string {
    return this.single('Mul', [a, b], out);
  }

  div(a: string, b: string, out?: string): string {
    return this.single('Div', [a, b], out);
  }

  relu(x: string, out?: string): string {
    return this.single('Relu', [x], out);
  }

  sigmoid(x: string, out?: string): string {
    return this.single('Sigmoid', [x], out);
  }

  identity(x: string, out?: string): string {
    return this.single('Identity', [x], out);
  }

  /** Softmax along `axis` (opset 13+: the axis alone, default the last). */
  softmax(x: string, axis = -1, out?: string): string {
    return this.single('Softmax', [x], out, { axis: attr.int(axis) });
  }

  /** Index of the largest value along `axis`, as INT64. */
  argMax(x: string, options: ArgMaxOptions = {}, out?: string): string {
    return this.single('ArgMax', [x], out, {
      axis: attr.int(options.axis ?? 0),
      keepdims: attr.int(options.keepdims === false ? 0 : 1),
      ...(options.selectLastIndex ? { select_last_index: attr.int(1) } : {}),
    });
  }

  cast(x: string, to: DType, out?: string): string {
    return this.single('Cast', [x], out, { to: attr.int(dataTypeOf(to)) });
  }

  /** Reshape to a fixed target (0 copies the input's dimension, -1 is inferred). */
  reshape(x: string, shape: readonly number[], out?: string): string {
    const target = this.constant('shape', BigInt64Array.from(shape, (d) => BigInt(d)), [shape.length]);
    return this.single('Reshape', [x, target], out);
  }

  /** Concatenates along `axis`. */
  concat(inputs: readonly string[], axis: number, out?: string): string {
    return this.single('Concat', inputs, out, { axis: attr.int(axis) });
  }

  /** The ModelProto; checks the graph has inputs and outputs. */
  build(): ModelProto {
    if (this.outputs.length === 0) throw new OnnxBuildError('the graph declares no output: call output(name, dtype, shape)');
    const opset = this.options.opsetVersion ?? DEFAULT_OPSET;
    return create(ModelProtoSchema, {
      irVersion: BigInt(this.options.irVersion ?? DEFAULT_IR_VERSION),
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
      producerName: this.options.producerName ?? 'aiochestrator',
      ...(this.options.producerVersion !== undefined ? { producerVersion: this.options.producerVersion } : {}),
      ...(this.options.docString !== undefined ? { docString: this.options.docString } : {}),
      metadataProps: [...this.metadata].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
      graph: create(GraphProtoSchema, {
        name: this.options.graphName ?? 'main',
        node: [...this.nodes],
        initializer: [...this.initializers],
        input: [...this.inputs],
        output: [...this.outputs],
      }),
    });
  }

  /** The serialized model: the bytes of an .onnx file. */
  toBytes(): Uint8Array {
    return toBinary(ModelProtoSchema, this.build());
  }

  private single(opType: string, inputs: readonly string[], out: string | undefined, attributes?: Record<string, AttributeValue>): string {
    const [output] = this.node(opType, inputs, { outputs: out === undefined ? 1 : [out], ...(attributes ? { attributes } : {}) });
    return output as string;
  }

  private claim(name: string, origin: ValueOrigin): void {
    if (name === '') throw new OnnxBuildError(`an ${origin} needs a non-empty name`);
    const existing = this.values.get(name);
    if (existing !== undefined) throw new OnnxBuildError(`value "${name}" is already defined (as an ${existing})`);
    this.values.set(name, origin);
  }

  private fresh(hint: string): string {
    let n = this.counters.get(hint) ?? 0;
    let name: string;
    do {
      name = `${hint}_${n++}`;
    } while (this.values.has(name) || this.nodeNames.has(name));
    this.counters.set(hint, n);
    return name;
  }
}

function valueInfo(name: string, dtype: DType, shape: readonly Dim[]): ValueInfoProto {
  const dim = shape.map((d) => {
    if (d === null) return create(TensorShapeProto_DimensionSchema, {});
    if (typeof d === 'string') return create(TensorShapeProto_DimensionSchema, { value: { case: 'dimParam', value: d } });
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxBuildError(`value "${name}": dimension ${d} is not a non-negative integer`);
    return create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } });
  });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: { elemType: dataTypeOf(dtype), shape: { dim } } } }),
  });
}

/** Parses the bytes of an .onnx file (for inspection and tests). */
export function readModel(bytes: Uint8Array): ModelProto {
  return fromBinary(ModelProtoSchema, bytes);
}
