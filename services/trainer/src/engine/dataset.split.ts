// Deterministic train/validation split. Classification splits per class (stratified) so every class
// the data has shows up on both sides when it has at least two rows.
import { Rng } from './random.js';

export interface Split {
  readonly train: number[];
  readonly validation: number[];
}

/**
 * Splits row indices 0..n-1. `groups` (the class of each row) makes the split stratified; each
 * group with at least two rows gives at least one row to each side.
 */
export function splitRows(n: number, validationFraction: number, seed: number, groups?: ArrayLike<number>): Split {
  const rng = new Rng(seed);
  const buckets = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups ? (groups[i] as number) : 0;
    let bucket = buckets.get(g);
    if (!bucket) buckets.set(g, (bucket = []));
    bucket.push(i);
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (const g of [...buckets.keys()].sort((a, b) => a - b)) {
    const idx = rng.shuffle(buckets.get(g) as number[]);
    let k = Math.round(idx.length * validationFraction);
    if (idx.length >= 2) k = Math.min(Math.max(k, 1), idx.length - 1);
    else k = 0;
    validation.push(...idx.slice(0, k));
    train.push(...idx.slice(k));
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}
