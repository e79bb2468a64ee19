import { describe, expect, it } from 'vitest';
import { weightedQuantile, weightedQuantiles } from './quantile.js';

describe('weighted quantiles', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it('is the nearest-rank percentile with equal weights', () => {
    expect(weightedQuantiles(oneToHundred, undefined, [0.5, 0.9, 0.95, 0.99, 1])).toEqual([50, 90, 95, 99, 100]);
    expect(weightedQuantile([5, 1, 3], undefined, 0.5)).toBe(3);
    expect(weightedQuantile([], undefined, 0.5)).toBe(0);
  });

  it('lets a heavy sample stand for the rows it represents', () => {
    // 10 stands for 9 rows, 100 for 1: p50 and p90 are 10, p95 is 100.
    expect(weightedQuantiles([100, 10], [1, 9], [0.5, 0.9, 0.95])).toEqual([10, 10, 100]);
  });
});
