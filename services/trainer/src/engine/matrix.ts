// Row-major dense matrices over Float64Array: all the linear algebra the built-in trainers need.

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** rows * cols values, row-major. */
  readonly data: Float64Array;
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** A matrix from rows of equal length; throws naming the first ragged row. */
export function fromRows(rows: readonly (readonly number[])[], cols?: number): Matrix {
  const width = cols ?? rows[0]?.length ?? 0;
  const m = zeros(rows.length, width);
  rows.forEach((r, i) => {
    if (r.length !== width) throw new RangeError(`row ${i} has ${r.length} values, expected ${width}`);
    m.data.set(r, i * width);
  });
  return m;
}

/** The rows at `indices`, in that order. */
export function takeRows(m: Matrix, indices: readonly number[]): Matrix {
  const out = zeros(indices.length, m.cols);
  indices.forEach((r, i) => out.data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return out;
}

/** x · W + b, with W row-major [x.cols, outCols] and b of length outCols. */
export function affine(x: Matrix, w: ArrayLike<number>, b: ArrayLike<number>, outCols: number): Matrix {
  const out = zeros(x.rows, outCols);
  for (let r = 0; r < x.rows; r++) {
    const o = r * outCols;
    for (let j = 0; j < outCols; j++) out.data[o + j] = b[j] as number;
    for (let i = 0; i < x.cols; i++) {
      const xv = x.data[r * x.cols + i] as number;
      if (xv === 0) continue;
      const wo = i * outCols;
      for (let j = 0; j < outCols; j++) out.data[o + j] = (out.data[o + j] as number) + xv * (w[wo + j] as number);
    }
  }
  return out;
}

/** Row-wise softmax in place (max-shifted for stability). */
export function softmaxRows(m: Matrix): Matrix {
  for (let r = 0; r < m.rows; r++) {
    const row = m.data.subarray(r * m.cols, (r + 1) * m.cols);
    let max = -Infinity;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    for (let j = 0; j < row.length; j++) {
      const e = Math.exp((row[j] as number) - max);
      row[j] = e;
      sum += e;
    }
    for (let j = 0; j < row.length; j++) row[j] = (row[j] as number) / sum;
  }
  return m;
}

/** Index of the largest value of each row; the first one on ties (as ONNX ArgMax). */
export function argMaxRows(m: Matrix): Int32Array {
  const out = new Int32Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let best = 0;
    for (let j = 1; j < m.cols; j++) if ((m.data[r * m.cols + j] as number) > (m.data[r * m.cols + best] as number)) best = j;
    out[r] = best;
  }
  return out;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Solves A x = b for a symmetric positive-definite A (n x n, row-major) by Cholesky; throws when A
 * is not positive definite.
 */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`matrix is not positive definite at column ${i}`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / (l[j * n + j] as number);
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

/** Rounds to float32, the precision of the exported model, so both paths use identical parameters. */
export function toFloat32(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(values);
}
