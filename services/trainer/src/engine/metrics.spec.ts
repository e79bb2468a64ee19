import { describe, expect, it } from 'vitest';
import { accuracy, f1Macro, mae, r2, rmse, rocAuc, rocAucOvr } from './metrics.js';

describe('classification metrics', () => {
  it('accuracy is the share of exact matches', () => {
    expect(accuracy([0, 1, 1, 0], [0, 1, 0, 0])).toBe(0.75);
  });

  it('macro F1 averages per-class F1 over classes seen in truth or prediction', () => {
    // class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 2, fp 1, fn 0 -> 0.8; class 2: tp 0 -> 0
    expect(f1Macro([0, 0, 1, 1, 2], [0, 1, 1, 1, 0])).toBeCloseTo((0.5 + 0.8 + 0) / 3, 12);
    expect(f1Macro([1, 1], [1, 1])).toBe(1);
  });

  it('ROC AUC counts correctly ordered positive/negative pairs, ties as half', () => {
    // pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    expect(rocAuc([0, 1, 1], [0.2, 0.2, 0.9])).toBe(0.75);
    expect(rocAuc([1, 1], [0.1, 0.2])).toBeUndefined();
  });

  it('one-vs-rest AUC averages the classes present', () => {
    const perfect = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
    expect(rocAucOvr([0, 1, 2], perfect, 3)).toBe(1);
    // class 2 absent from truth: averaged over classes 0 and 1 only; class 0 ranks row 1 above row 0 -> 0
    expect(rocAucOvr([0, 1], [0.4, 0.6, 0, 0.7, 0.3, 0], 3)).toBe(0);
    expect(() => rocAucOvr([0, 1], [0.5], 3)).toThrow(/expected 2 x 3/);
  });

  it('rejects inputs of different lengths', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(/differ in length: 2 vs 1/);
  });
});

describe('regression metrics', () => {
  it('RMSE, MAE and R2 match hand computation', () => {
    // errors 0, 0, -2; mean 2, SS_tot 2, SS_res 4
    expect(rmse([1, 2, 3], [1, 2, 5])).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(mae([1, 2, 3], [1, 2, 5])).toBeCloseTo(2 / 3, 12);
    expect(r2([1, 2, 3], [1, 2, 5])).toBeCloseTo(-1, 12);
    expect(r2([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(r2([4, 4], [4, 5])).toBeUndefined();
  });
});
