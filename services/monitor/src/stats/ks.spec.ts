import { describe, expect, it } from 'vitest';
import { kolmogorovQ, ksTest } from './ks.js';

describe('kolmogorov distribution', () => {
  it('matches tabulated tail probabilities', () => {
    // P(K > 1) = 2 (e^-2 - e^-8 + e^-18 - ...) = 2 (0.1353353 - 0.0003355 + 0.0000000) = 0.2699997
    expect(kolmogorovQ(1)).toBeCloseTo(0.2699997, 6);
    // 1.36 is the classic 5 % critical value.
    expect(kolmogorovQ(1.36)).toBeCloseTo(0.049486, 5);
    // Below 1.18 the theta form is used; it agrees with the series: P(K > 0.5) = 0.963945.
    expect(kolmogorovQ(0.5)).toBeCloseTo(0.963945, 5);
    expect(kolmogorovQ(1.17)).toBeCloseTo(0.129390, 5);
    expect(kolmogorovQ(0)).toBe(1);
    expect(kolmogorovQ(10)).toBeLessThan(1e-80);
  });
});

describe('two-sample ks', () => {
  it('finds the largest gap between the empirical CDFs', () => {
    // F_a = .25 .5 .75 1 at 1 2 3 4; F_b = 0 0 .25 .5 .75 1 at 1..6: largest gap .5 (at 2, 3 and 4).
    const r = ksTest([4, 2, 3, 1], [3, 4, 5, 6]);
    expect(r?.statistic).toBe(0.5);
    // ne = 4*4/8 = 2; lambda = (1.414214 + 0.12 + 0.11/1.414214) * 0.5 = 0.805998; Q = 0.534416
    expect(r?.pValue).toBeCloseTo(0.534416, 5);
  });

  it('moves both CDFs together on ties', () => {
    expect(ksTest([1, 1, 2, 2], [1, 2])?.statistic).toBe(0);
    expect(ksTest([1, 1, 1, 2], [1, 2, 2, 2])?.statistic).toBe(0.5);
  });

  it('treats equal weights as the plain test and uses weights in the CDF', () => {
    const plain = ksTest([1, 2, 3, 4], [3, 4, 5, 6]);
    expect(ksTest([1, 2, 3, 4], [3, 4, 5, 6], [7, 7, 7, 7])).toEqual(plain);
    // Weights 3,1 on [1, 5] against [5]: F_live(1) = .75, F_ref(1) = 0 -> D = .75.
    expect(ksTest([1, 5], [5], [3, 1])?.statistic).toBe(0.75);
  });

  it('separates a shifted sample from the reference and keeps a same-distribution sample', () => {
    const reference = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const same = Array.from({ length: 500 }, (_, i) => (i + 0.5) / 500);
    const shifted = same.map((v) => v + 0.3);
    expect(ksTest(same, reference)?.pValue).toBeGreaterThan(0.99);
    const drift = ksTest(shifted, reference);
    expect(drift?.statistic).toBeCloseTo(0.3, 2);
    expect(drift?.pValue).toBeLessThan(1e-10);
  });

  it('is undefined for an empty side', () => {
    expect(ksTest([], [1])).toBeUndefined();
    expect(ksTest([1], [])).toBeUndefined();
  });
});
