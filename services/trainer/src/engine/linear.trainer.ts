// Linear regression by ridge normal equations on standardised features:
// (Zcᵀ Zc + λ n I) w = Zcᵀ (y - ȳ), with Zc the centred features and an unpenalised intercept.
import { BuiltinModel, type BuiltinModelInfo } from './builtin.model.js';
import { solveSpd, toFloat32, type Matrix } from './matrix.js';
import { standardize, type Standardizer } from './standardizer.js';

export interface LinearOptions {
  /** Ridge penalty per training row (λ). */
  readonly l2: number;
}

export function trainLinearRegression(info: BuiltinModelInfo, s: Standardizer, x: Matrix, y: Float64Array, options: LinearOptions): BuiltinModel {
  const z = standardize(s, x);
  const f = z.cols;
  const n = z.rows;
  const zMean = new Float64Array(f);
  for (let r = 0; r < n; r++) for (let c = 0; c < f; c++) zMean[c] = (zMean[c] as number) + (z.data[r * f + c] as number) / n;
  let yMean = 0;
  for (const v of y) yMean += v / n;
  const a = new Float64Array(f * f);
  const rhs = new Float64Array(f);
  const row = new Float64Array(f);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < f; c++) row[c] = (z.data[r * f + c] as number) - (zMean[c] as number);
    const yc = (y[r] as number) - yMean;
    for (let i = 0; i < f; i++) {
      const ri = row[i] as number;
      rhs[i] = (rhs[i] as number) + ri * yc;
      for (let j = 0; j <= i; j++) a[i * f + j] = (a[i * f + j] as number) + ri * (row[j] as number);
    }
  }
  // A tiny floor keeps the system positive definite for constant or duplicated columns when l2 = 0.
  const ridge = Math.max(options.l2 * n, 1e-9 * n);
  for (let i = 0; i < f; i++) {
    a[i * f + i] = (a[i * f + i] as number) + ridge;
    for (let j = 0; j < i; j++) a[j * f + i] = a[i * f + j] as number;
  }
  const w = solveSpd(a, rhs, f);
  let b = yMean;
  for (let c = 0; c < f; c++) b -= (zMean[c] as number) * (w[c] as number);
  return new BuiltinModel(info, s, [{ inputs: f, outputs: 1, w: toFloat32(w), b: Float32Array.of(b), relu: false }], 'identity');
}
