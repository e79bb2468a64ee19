// Logistic regression on standardised features, full-batch Adam on the mean log-loss plus an L2
// penalty on the weights: a sigmoid over one logit for two classes, a softmax over one logit per class
// for more.
import { Adam } from './adam.optimizer.js';
import { BuiltinModel, type BuiltinModelInfo } from './builtin.model.js';
import { sigmoid, toFloat32, type Matrix } from './matrix.js';
import { standardize, type Standardizer } from './standardizer.js';

export interface LogisticOptions {
  readonly l2: number;
  readonly epochs: number;
  readonly learningRate: number;
}

export function trainLogisticRegression(
  info: BuiltinModelInfo,
  s: Standardizer,
  x: Matrix,
  y: Int32Array,
  options: LogisticOptions,
): BuiltinModel {
  const z = standardize(s, x);
  const f = z.cols;
  const n = z.rows;
  const classes = info.classes.length;
  const outputs = classes === 2 ? 1 : classes;
  const w = new Float64Array(f * outputs);
  const b = new Float64Array(outputs);
  const gw = new Float64Array(w.length);
  const gb = new Float64Array(b.length);
  const adam = new Adam([w, b], options.learningRate);
  const logits = new Float64Array(outputs);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    gw.fill(0);
    gb.fill(0);
    for (let r = 0; r < n; r++) {
      const row = z.data.subarray(r * f, (r + 1) * f);
      logits.set(b);
      for (let i = 0; i < f; i++) {
        const xi = row[i] as number;
        for (let k = 0; k < outputs; k++) logits[k] = (logits[k] as number) + xi * (w[i * outputs + k] as number);
      }
      const label = y[r] as number;
      if (outputs === 1) {
        logits[0] = sigmoid(logits[0] as number) - label;
      } else {
        let max = -Infinity;
        for (const v of logits) if (v > max) max = v;
        let sum = 0;
        for (let k = 0; k < outputs; k++) sum += logits[k] = Math.exp((logits[k] as number) - max);
        for (let k = 0; k < outputs; k++) logits[k] = (logits[k] as number) / sum - (k === label ? 1 : 0);
      }
      // logits now holds d(loss)/d(logit) for this row
      for (let k = 0; k < outputs; k++) gb[k] = (gb[k] as number) + (logits[k] as number) / n;
      for (let i = 0; i < f; i++) {
        const xi = (row[i] as number) / n;
        if (xi === 0) continue;
        for (let k = 0; k < outputs; k++) gw[i * outputs + k] = (gw[i * outputs + k] as number) + xi * (logits[k] as number);
      }
    }
    for (let i = 0; i < w.length; i++) gw[i] = (gw[i] as number) + options.l2 * (w[i] as number);
    adam.step([gw, gb]);
  }
  return new BuiltinModel(info, s, [{ inputs: f, outputs, w: toFloat32(w), b: toFloat32(b), relu: false }], outputs === 1 ? 'sigmoid' : 'softmax');
}
