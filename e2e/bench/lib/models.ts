// The benchmark models, built in code with @aio/onnx from a seeded generator (the same bytes on every
// machine and run, so the registry's content-addressed store keeps one copy) and cached as files under
// .infra/bench/models/. Weights are random: serving cost does not depend on what they learned.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { attr, ModelBuilder, readModel, seededRandom } from '@aio/onnx';
import { ROOT } from './result.ts';

export const MODELS_DIR = path.join(ROOT, '.infra', 'bench', 'models');

export interface BenchModel {
  /** Registry model name. */
  name: string;
  file: string;
  bytes: Uint8Array;
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
  params: number;
}

/** He-uniform weights: activations stay in a sane range through many layers. */
function weights(rand: () => number, count: number, fanIn: number): Float32Array {
  const limit = Math.sqrt(6 / fanIn);
  const w = new Float32Array(count);
  for (let i = 0; i < count; i++) w[i] = (rand() * 2 - 1) * limit;
  return w;
}

function small(rand: () => number, count: number): Float32Array {
  const b = new Float32Array(count);
  for (let i = 0; i < count; i++) b[i] = (rand() * 2 - 1) * 0.01;
  return b;
}

/** Deterministic input values in [0, 1). */
export function inputData(count: number, seed = 7): Float32Array {
  const rand = seededRandom(seed);
  const x = new Float32Array(count);
  for (let i = 0; i < count; i++) x[i] = rand();
  return x;
}

/** Parameters: elements of every initializer (read from the file, so a cached model is counted too). */
function paramsOf(bytes: Uint8Array): number {
  return (readModel(bytes).graph?.initializer ?? []).reduce((n, t) => n + t.dims.reduce((m, d) => m * Number(d), 1), 0);
}

function cached(file: string, build: () => Uint8Array): Uint8Array {
  const full = path.join(MODELS_DIR, file);
  if (existsSync(full)) return new Uint8Array(readFileSync(full));
  mkdirSync(MODELS_DIR, { recursive: true });
  const bytes = build();
  writeFileSync(full, bytes);
  return bytes;
}

/** Dense layers with ReLU between them: x [N, sizes[0]] -> y [N, sizes.at(-1)]. */
function mlpBytes(sizes: readonly number[], seed: number): Uint8Array {
  const rand = seededRandom(seed);
  const b = new ModelBuilder({ graphName: `mlp_${sizes.join('_')}` });
  let h = b.input('x', 'float32', ['N', sizes[0] as number]);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l] as number, sizes[l + 1] as number];
    const w = b.initializer(`w${l}`, weights(rand, i * o, i), [i, o]);
    const bias = b.initializer(`b${l}`, small(rand, o), [o]);
    h = b.gemm(h, w, bias);
    if (l + 2 < sizes.length) h = b.relu(h);
  }
  b.output('y', 'float32', ['N', sizes.at(-1) as number], h);
  return b.toBytes();
}

function mlp(name: string, sizes: readonly number[], seed: number): BenchModel {
  const file = `${name}.onnx`;
  const bytes = cached(file, () => mlpBytes(sizes, seed));
  return {
    name,
    file: path.join(MODELS_DIR, file),
    bytes,
    input: { name: 'x', shape: [1, sizes[0] as number] },
    output: { name: 'y', shape: [1, sizes.at(-1) as number] },
    params: paramsOf(bytes),
  };
}

/** MLP 64 -> 256 -> 256 -> 10, FP32, batch dimension N. */
export function mlpModel(): BenchModel {
  return mlp('bench-mlp', [64, 256, 256, 10], 1);
}

/** `count` distinct small MLPs (16 -> 32 -> 4, own seed each, so each is its own artifact). */
export function smallModels(count: number): BenchModel[] {
  return Array.from({ length: count }, (_, i) => mlp(`bench-small-${String(i).padStart(2, '0')}`, [16, 32, 4], 1000 + i));
}

/**
 * ResNet-18's graph and size (11.69M parameters) at 3x224x224: BatchNorm is folded into each Conv's
 * weights and bias, as exporters do for inference, so every block is Conv(+bias) -> Relu.
 */
function resnet18Bytes(seed: number): Uint8Array {
  const rand = seededRandom(seed);
  const b = new ModelBuilder({ graphName: 'resnet18' });
  const conv = (x: string, cin: number, cout: number, k: number, stride: number): string => {
    const w = b.constant('conv_w', weights(rand, cout * cin * k * k, cin * k * k), [cout, cin, k, k]);
    const bias = b.constant('conv_b', small(rand, cout), [cout]);
    const pad = Math.floor(k / 2);
    return b.node('Conv', [x, w, bias], {
      attributes: { kernel_shape: attr.ints([k, k]), strides: attr.ints([stride, stride]), pads: attr.ints([pad, pad, pad, pad]) },
    })[0] as string;
  };
  const block = (x: string, cin: number, cout: number, stride: number): string => {
    const h = b.relu(conv(x, cin, cout, 3, stride));
    const y = conv(h, cout, cout, 3, 1);
    const shortcut = stride !== 1 || cin !== cout ? conv(x, cin, cout, 1, stride) : x;
    return b.relu(b.add(y, shortcut));
  };
  let h = b.relu(conv(b.input('input', 'float32', ['N', 3, 224, 224]), 3, 64, 7, 2));
  h = b.node('MaxPool', [h], { attributes: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } })[0] as string;
  let cin = 64;
  for (const [cout, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]] as const) {
    h = block(h, cin, cout, stride);
    h = block(h, cout, cout, 1);
    cin = cout;
  }
  h = b.node('GlobalAveragePool', [h])[0] as string;
  h = b.node('Flatten', [h], { attributes: { axis: attr.int(1) } })[0] as string;
  const w = b.constant('fc_w', weights(rand, 512 * 1000, 512), [512, 1000]);
  const bias = b.constant('fc_b', small(rand, 1000), [1000]);
  b.output('logits', 'float32', ['N', 1000], b.gemm(h, w, bias));
  return b.toBytes();
}

/** ResNet-18-sized CNN (11.69M parameters): input [N, 3, 224, 224] -> logits [N, 1000]. */
export function cnnModel(): BenchModel {
  const bytes = cached('bench-resnet18.onnx', () => resnet18Bytes(18));
  return {
    name: 'bench-resnet18',
    file: path.join(MODELS_DIR, 'bench-resnet18.onnx'),
    bytes,
    input: { name: 'input', shape: [1, 3, 224, 224] },
    output: { name: 'logits', shape: [1, 1000] },
    params: paramsOf(bytes),
  };
}
