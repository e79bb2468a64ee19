// Tiny graphs built here are loaded by onnxruntime and their outputs checked against values worked
// out by hand, so the bytes are proven to be a model a real runtime runs, not only a parseable message.
import { toBinary } from '@bufbuild/protobuf';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { AttributeProto_AttributeType, ModelProtoSchema, TensorProto_DataType } from '@aio/proto/onnx/onnx';
import { attr } from './attribute.js';
import { ModelBuilder, readModel } from './model.builder.js';
import { OnnxBuildError } from './tensor.js';

async function run(builder: ModelBuilder, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await InferenceSession.create(builder.toBytes());
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function floats(t: Tensor | undefined): number[] {
  if (!t) throw new Error('missing output');
  return Array.from(t.data as Float32Array);
}

describe('ModelBuilder with onnxruntime', () => {
  it('computes y = x W + b (MatMul + Add)', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'float32', ['N', 2]);
    const w = b.initializer('W', Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const bias = b.initializer('b', Float32Array.from([0.5, -1]), [2]);
    b.output('y', 'float32', ['N', 2], b.add(b.matMul(x, w), bias));
    const out = await run(b, { x: new Tensor('float32', Float32Array.from([1, 1, 2, 0]), [2, 2]) });
    // [1,1]·W = [4,6] + b = [4.5,5]; [2,0]·W = [2,4] + b = [2.5,3]
    expect(floats(out.y)).toEqual([4.5, 5, 2.5, 3]);
    expect(out.y?.dims).toEqual([2, 2]);
  });

  it('computes Gemm with transB, alpha and beta', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'float32', ['N', 2]);
    const w = b.initializer('W', Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2]); // [out=3, in=2]
    const c = b.initializer('c', Float32Array.from([1, 2, 3]), [3]);
    b.gemm(x, w, c, { transB: true, alpha: 2, beta: 0.5 }, 'y');
    b.output('y', 'float32', ['N', 3]);
    const out = await run(b, { x: new Tensor('float32', Float32Array.from([3, 4]), [1, 2]) });
    // x·Wᵀ = [3, 4, 7]; 2·that + 0.5·c = [6.5, 9, 15.5]
    expect(floats(out.y)).toEqual([6.5, 9, 15.5]);
  });

  it('standardises with Sub and Div, and applies Mul, Relu and Sigmoid', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'float32', [null, 2]);
    const z = b.div(b.sub(x, b.constant('mean', Float32Array.from([1, 10]), [2])), b.constant('std', Float32Array.from([2, 5]), [2]));
    b.output('z', 'float32', [null, 2], z);
    b.output('r', 'float32', [null, 2], b.relu(b.mul(z, b.constant('k', Float32Array.from([-1]), [1]))));
    b.output('s', 'float32', [null, 2], b.sigmoid(z));
    const out = await run(b, { x: new Tensor('float32', Float32Array.from([5, 0]), [1, 2]) });
    expect(floats(out.z)).toEqual([2, -2]);
    expect(floats(out.r)).toEqual([0, 2]);
    const s = floats(out.s);
    expect(s[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(s[1]).toBeCloseTo(1 / (1 + Math.exp(2)), 6);
  });

  it('gives softmax rows that sum to 1 and the argmax label as int64', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'float32', ['N', 3]);
    const p = b.softmax(x, 1, 'probabilities');
    b.output('probabilities', 'float32', ['N', 3]);
    b.output('label', 'int64', ['N'], b.argMax(p, { axis: 1, keepdims: false }));
    const out = await run(b, { x: new Tensor('float32', Float32Array.from([1, 2, 3, 0, 0, 0, 5, -1, 2]), [3, 3]) });
    const probs = floats(out.probabilities);
    for (let r = 0; r < 3; r++) {
      expect(probs[r * 3]! + probs[r * 3 + 1]! + probs[r * 3 + 2]!).toBeCloseTo(1, 6);
    }
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const sum = e[0]! + e[1]! + e[2]!;
    expect(probs[0]).toBeCloseTo(e[0]! / sum, 6);
    expect(probs.slice(3, 6).every((v) => Math.abs(v - 1 / 3) < 1e-6)).toBe(true);
    expect(out.label?.type).toBe('int64');
    expect(Array.from(out.label?.data as BigInt64Array)).toEqual([2n, 0n, 0n]);
  });

  it('casts, reshapes, concatenates and takes int64 initializers', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'int64', [2, 2]);
    const offset = b.initializer('offset', BigInt64Array.from([10n, 20n]), [2]);
    const flat = b.reshape(b.add(x, offset), [-1]);
    b.output('flat', 'float32', [4], b.cast(flat, 'float32'));
    b.output('both', 'int64', [8], b.concat([flat, flat], 0));
    const out = await run(b, { x: new Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n]), [2, 2]) });
    expect(floats(out.flat)).toEqual([11, 22, 13, 24]);
    expect(Array.from(out.both?.data as BigInt64Array)).toEqual([11n, 22n, 13n, 24n, 11n, 22n, 13n, 24n]);
  });

  it('runs a generic node with typed attributes (LeakyRelu alpha)', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'float32', [3]);
    b.node('LeakyRelu', [x], { outputs: ['y'], attributes: { alpha: attr.float(0.5) } });
    b.output('y', 'float32', [3]);
    const out = await run(b, { x: new Tensor('float32', Float32Array.from([-4, 0, 2]), [3]) });
    expect(floats(out.y)).toEqual([-2, 0, 2]);
  });
});

describe('wire compatibility with upstream onnx', () => {
  // Written by Python onnx 1.23.2 (helper.make_model, ir_version 8, opset 13): Cast(x: DOUBLE [?]) -> y INT32.
  const upstream = Buffer.from(
    '0808121261696f2d72656769737472792d74657374733a3d0a170a01781201792204436173742a090a02746f1806a001021204636173745a0d0a01781208' +
      '0a06080b12020a00620d0a017912080a06080612020a0042040a00100d',
    'hex',
  );

  it('reads a model upstream wrote and writes the same bytes back', () => {
    const model = readModel(upstream);
    expect(model.irVersion).toBe(8n);
    expect(model.producerName).toBe('aio-registry-tests');
    expect(model.opsetImport[0]?.version).toBe(13n);
    const node = model.graph?.node[0];
    expect([node?.opType, node?.input, node?.output]).toEqual(['Cast', ['x'], ['y']]);
    expect([node?.attribute[0]?.name, node?.attribute[0]?.type, node?.attribute[0]?.i]).toEqual(['to', AttributeProto_AttributeType.INT, 6n]);
    const x = model.graph?.input[0]?.type?.value;
    expect(x?.case === 'tensorType' && x.value.elemType).toBe(TensorProto_DataType.DOUBLE);
    expect(Buffer.from(toBinary(ModelProtoSchema, model)).equals(upstream)).toBe(true);
  });
});

describe('ModelBuilder structure', () => {
  it('writes opset 17, IR 8, metadata and little-endian raw initializers', () => {
    const b = new ModelBuilder({ producerVersion: '1.2.3' }).meta('aio.task', 'regression');
    const x = b.input('x', 'float32', ['N', 1]);
    b.initializer('w', Float32Array.from([1.5]), [1, 1]);
    b.output('y', 'float32', ['N', 1], b.matMul(x, 'w'));
    const model = readModel(b.toBytes());
    expect(model.irVersion).toBe(8n);
    expect(model.opsetImport.map((o) => [o.domain, o.version])).toEqual([['', 17n]]);
    expect(model.producerName).toBe('aiochestrator');
    expect(model.metadataProps.map((p) => [p.key, p.value])).toEqual([['aio.task', 'regression']]);
    const w = model.graph?.initializer[0];
    expect(w?.dataType).toBe(TensorProto_DataType.FLOAT);
    expect(w?.dims).toEqual([1n, 1n]);
    expect(Array.from(w?.rawData ?? [])).toEqual([0x00, 0x00, 0xc0, 0x3f]); // 1.5f, little-endian
    const dims = model.graph?.input[0]?.type?.value;
    expect(dims?.case).toBe('tensorType');
    expect(model.graph?.node.map((n) => n.opType)).toEqual(['MatMul', 'Identity']);
  });

  it('rejects what a runtime would reject, naming the value', () => {
    const b = new ModelBuilder();
    const x = b.input('x', 'float32', ['N', 2]);
    expect(() => b.input('x', 'float32', [1])).toThrow(/value "x" is already defined \(as an input\)/);
    expect(() => b.matMul(x, 'W')).toThrow(/MatMul input 1 "W": no input, initializer or earlier node produces it/);
    expect(() => b.initializer('W', Float32Array.from([1, 2, 3]), [2, 2])).toThrow(/dims \[2, 2\] hold 4 elements but the data has 3/);
    expect(() => b.output('nope', 'float32', [1])).toThrow(OnnxBuildError);
    expect(() => new ModelBuilder().toBytes()).toThrow(/declares no output/);
    expect(() => b.input('y', 'float32', [1.5])).toThrow(/dimension 1.5/);
  });

  it('makes fresh names that do not collide with user names', () => {
    const b = new ModelBuilder();
    const x = b.input('add_0', 'float32', [1]);
    const y = b.add(x, x);
    expect(y).toBe('add_1');
    expect(b.add(y, y)).toBe('add_2');
  });
});
