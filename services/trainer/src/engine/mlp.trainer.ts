// A small multi-layer perceptron on standardised features: one or two ReLU hidden layers, He-normal
// initialisation from the seeded generator, minibatch Adam for a fixed number of epochs. Classification
// minimises softmax cross-entropy; regression minimises squared error on the standardised target and
// folds the target's scale back into the output layer, so the exported graph predicts in label units.
import { Adam } from './adam.optimizer.js';
import { BuiltinModel, type BuiltinModelInfo, type DenseLayer } from './builtin.model.js';
import { affine, takeRows, toFloat32, type Matrix } from './matrix.js';
import { Rng } from './random.js';
import { standardize, type Standardizer } from './standardizer.js';

export interface MlpOptions {
  /** Units per hidden layer (one or two layers). */
  readonly hiddenLayers: readonly number[];
  readonly epochs: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly l2: number;
  readonly seed: number;
}

interface Layer {
  readonly inputs: number;
  readonly outputs: number;
  readonly w: Float64Array;
  readonly b: Float64Array;
  readonly gw: Float64Array;
  readonly gb: Float64Array;
}

/** `y` holds class indices (classification) or target values (regression). */
export function trainMlp(info: BuiltinModelInfo, s: Standardizer, x: Matrix, y: Float64Array | Int32Array, options: MlpOptions): BuiltinModel {
  const rng = new Rng(options.seed);
  const z = standardize(s, x);
  const n = z.rows;
  const classification = info.task === 'classification';
  const outputs = classification ? info.classes.length : 1;
  let yMean = 0;
  let yStd = 1;
  if (!classification) {
    for (const v of y) yMean += v / n;
    let ss = 0;
    for (const v of y) ss += (v - yMean) ** 2;
    yStd = Math.sqrt(ss / n) > 1e-12 ? Math.sqrt(ss / n) : 1;
  }
  const sizes = [z.cols, ...options.hiddenLayers, outputs];
  const layers: Layer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l] as number;
    const outs = sizes[l + 1] as number;
    const scale = Math.sqrt((l + 2 < sizes.length ? 2 : 1) / inputs);
    const w = Float64Array.from({ length: inputs * outs }, () => rng.normal() * scale);
    layers.push({ inputs, outputs: outs, w, b: new Float64Array(outs), gw: new Float64Array(w.length), gb: new Float64Array(outs) });
  }
  const adam = new Adam(
    layers.flatMap((l) => [l.w, l.b]),
    options.learningRate,
  );
  const order = Array.from({ length: n }, (_, i) => i);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < n; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      const m = batch.length;
      // forward, keeping every layer's input
      const acts: Matrix[] = [takeRows(z, batch)];
      layers.forEach((layer, l) => {
        const h = affine(acts[l] as Matrix, layer.w, layer.b, layer.outputs);
        if (l + 1 < layers.length) for (let i = 0; i < h.data.length; i++) if ((h.data[i] as number) < 0) h.data[i] = 0;
        acts.push(h);
      });
      // d(mean loss)/d(output)
      const out = acts[layers.length] as Matrix;
      const delta = out.data;
      for (let r = 0; r < m; r++) {
        const target = y[batch[r] as number] as number;
        if (classification) {
          let max = -Infinity;
          for (let k = 0; k < outputs; k++) max = Math.max(max, delta[r * outputs + k] as number);
          let sum = 0;
          for (let k = 0; k < outputs; k++) sum += delta[r * outputs + k] = Math.exp((delta[r * outputs + k] as number) - max);
          for (let k = 0; k < outputs; k++) delta[r * outputs + k] = ((delta[r * outputs + k] as number) / sum - (k === target ? 1 : 0)) / m;
        } else {
          delta[r] = ((delta[r] as number) - (target - yMean) / yStd) / m;
        }
      }
      // backward
      let d = out;
      for (let l = layers.length - 1; l >= 0; l--) {
        const layer = layers[l] as Layer;
        const input = acts[l] as Matrix;
        layer.gb.fill(0);
        for (let i = 0; i < layer.w.length; i++) layer.gw[i] = options.l2 * (layer.w[i] as number);
        for (let r = 0; r < m; r++) {
          for (let k = 0; k < layer.outputs; k++) {
            const dk = d.data[r * layer.outputs + k] as number;
            if (dk === 0) continue;
            layer.gb[k] = (layer.gb[k] as number) + dk;
            for (let i = 0; i < layer.inputs; i++) {
              layer.gw[i * layer.outputs + k] = (layer.gw[i * layer.outputs + k] as number) + (input.data[r * layer.inputs + i] as number) * dk;
            }
          }
        }
        if (l > 0) {
          const prev = { rows: m, cols: layer.inputs, data: new Float64Array(m * layer.inputs) };
          for (let r = 0; r < m; r++) {
            for (let i = 0; i < layer.inputs; i++) {
              if ((input.data[r * layer.inputs + i] as number) <= 0) continue; // ReLU gate
              let sum = 0;
              for (let k = 0; k < layer.outputs; k++) sum += (layer.w[i * layer.outputs + k] as number) * (d.data[r * layer.outputs + k] as number);
              prev.data[r * layer.inputs + i] = sum;
            }
          }
          d = prev;
        }
      }
      adam.step(layers.flatMap((l) => [l.gw, l.gb]));
    }
  }
  const last = layers[layers.length - 1] as Layer;
  if (!classification) {
    for (let i = 0; i < last.w.length; i++) last.w[i] = (last.w[i] as number) * yStd;
    last.b[0] = (last.b[0] as number) * yStd + yMean;
  }
  const dense: DenseLayer[] = layers.map((l, i) => ({
    inputs: l.inputs,
    outputs: l.outputs,
    w: toFloat32(l.w),
    b: toFloat32(l.b),
    relu: i + 1 < layers.length,
  }));
  return new BuiltinModel(info, s, dense, classification ? 'softmax' : 'identity');
}
