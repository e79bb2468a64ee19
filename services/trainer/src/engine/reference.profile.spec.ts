import { describe, expect, it } from 'vitest';
import { numericDistribution, quantile, referenceProfile } from './reference.profile.js';

describe('numericDistribution', () => {
  it('bins 1..100 into ten quantile bins of ten values with exact summary statistics', () => {
    const d = numericDistribution(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(d.edges).toHaveLength(11);
    expect(d.edges[0]).toBe(1);
    expect(d.edges[1]).toBeCloseTo(10.9, 12);
    expect(d.edges[10]).toBe(100);
    expect(d.counts).toEqual(new Array(10).fill(10n));
    expect(d.min).toBe(1);
    expect(d.max).toBe(100);
    expect(d.mean).toBeCloseTo(50.5, 12);
    expect(d.stddev).toBeCloseTo(Math.sqrt((100 * 100 - 1) / 12), 10);
    expect(d.sample).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('keeps a sorted sample of at most 1000 values including both extremes', () => {
    const d = numericDistribution(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000));
    expect(d.sample).toHaveLength(1000);
    expect(d.sample[0]).toBe(0);
    expect(d.sample[999]).toBe(4999);
    expect(d.sample.every((v, i) => i === 0 || v >= (d.sample[i - 1] as number))).toBe(true);
    expect(d.counts.reduce((a, b) => a + b, 0n)).toBe(5000n);
  });

  it('merges duplicate edges: a constant column is one bin [v, v], skew gives fewer bins', () => {
    const c = numericDistribution([7, 7, 7]);
    expect(c.edges).toEqual([7, 7]);
    expect(c.counts).toEqual([3n]);
    const skew = numericDistribution([...new Array<number>(95).fill(0), 1, 2, 3, 4, 5]);
    expect(skew.edges[0]).toBe(0);
    expect(skew.counts.reduce((a, b) => a + b, 0n)).toBe(100n);
    expect(skew.counts.length).toBe(skew.edges.length - 1);
    expect(skew.counts.length).toBeLessThan(10);
    expect(numericDistribution([]).edges).toEqual([]);
  });

  it('interpolates quantiles between ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
  });
});

describe('referenceProfile', () => {
  it('profiles numeric, boolean and categorical features, missing values and the prediction', () => {
    const rows = [
      { x: 1, flag: true, colour: 'red' },
      { x: 3, flag: false, colour: 'red' },
      { x: null, flag: true, colour: 'blue' },
      { x: 2, colour: '' },
    ];
    const p = referenceProfile(
      [
        { name: 'x', type: 'numeric' },
        { name: 'flag', type: 'bool' },
        { name: 'colour', type: 'categorical' },
      ],
      rows,
      { kind: 'categorical', values: ['yes', 'no', 'yes', 'yes'] },
    );
    expect(p.features.map((f) => f.name)).toEqual(['x', 'flag', 'colour', 'prediction']);
    const [x, flag, colour, prediction] = p.features;
    expect([x?.count, x?.missing]).toEqual([4n, 1n]);
    expect(x?.distribution.case === 'numeric' && x.distribution.value.mean).toBe(2);
    expect(flag?.distribution.case === 'categorical' && flag.distribution.value.counts).toEqual({ true: 2n, false: 1n });
    expect(flag?.missing).toBe(1n);
    expect(colour?.distribution.case === 'categorical' && colour.distribution.value.counts).toEqual({ red: 2n, blue: 1n });
    expect(prediction?.distribution.case === 'categorical' && prediction.distribution.value.counts).toEqual({ yes: 3n, no: 1n });
  });
});
