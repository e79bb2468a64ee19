// Feature standardisation fitted on the training split. Exported models carry it as Sub/Div nodes,
// so clients send raw (encoded) features.
import type { Matrix } from './matrix.js';

export interface Standardizer {
  /** Per-column mean (float32-rounded: the exported graph's values). */
  readonly mean: Float32Array;
  /** Per-column population standard deviation; 1 for a constant column. */
  readonly std: Float32Array;
}

export function fitStandardizer(x: Matrix): Standardizer {
  const mean = new Float64Array(x.cols);
  const sq = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) mean[c] = (mean[c] as number) + (x.data[r * x.cols + c] as number);
  for (let c = 0; c < x.cols; c++) mean[c] = x.rows === 0 ? 0 : (mean[c] as number) / x.rows;
  for (let r = 0; r < x.rows; r++) {
    for (let c = 0; c < x.cols; c++) {
      const d = (x.data[r * x.cols + c] as number) - (mean[c] as number);
      sq[c] = (sq[c] as number) + d * d;
    }
  }
  const std = Float32Array.from(sq, (s) => {
    const sd = Math.sqrt(x.rows === 0 ? 0 : s / x.rows);
    return sd > 1e-8 ? sd : 1;
  });
  return { mean: Float32Array.from(mean), std };
}

/** (x - mean) / std, as a new matrix. */
export function standardize(s: Standardizer, x: Matrix): Matrix {
  const data = new Float64Array(x.data.length);
  for (let r = 0; r < x.rows; r++) {
    for (let c = 0; c < x.cols; c++) {
      const i = r * x.cols + c;
      data[i] = ((x.data[i] as number) - (s.mean[c] as number)) / (s.std[c] as number);
    }
  }
  return { rows: x.rows, cols: x.cols, data };
}
