import { describe, expect, it } from 'vitest';
import { binOf, categoricalPsi, histogram, numericPsi, psiOfCounts } from './psi.js';

describe('psi', () => {
  it('is 0 for identical distributions and symmetric in its terms', () => {
    expect(psiOfCounts([10, 20, 30], [1, 2, 3])).toBeCloseTo(0, 12);
  });

  it('matches a hand-computed value', () => {
    // e = [.5, .5], a = [.75, .25]: .25 ln(1.5) + (-.25) ln(.5) = .25 (0.405465 + 0.693147) = 0.274653
    expect(psiOfCounts([50, 50], [75, 25])).toBeCloseTo(0.274653, 6);
  });

  it('smooths an empty live bin with epsilon instead of returning infinity', () => {
    // a = [1, 1e-4], e = [.5, .5]: .5 ln 2 + (1e-4 - .5) ln(2e-4) = 0.346574 + 4.257745 = 4.604318
    expect(psiOfCounts([5, 5], [8, 0])).toBeCloseTo(4.604318, 5);
  });

  it('bins over the reference edges: last bin closed, outside values into the end bins', () => {
    const edges = [0, 1, 2, 3];
    expect([-5, 0, 0.5, 1, 2.999, 3, 9].map((v) => binOf(edges, v))).toEqual([0, 0, 0, 1, 2, 2, 2]);
    expect(histogram(edges, [0.5, 1.5, 1.5, 2.5, -5, 9, 3])).toEqual([2, 2, 3]);
    expect(histogram(edges, [0.5, 1.5], [3, 0.5])).toEqual([3, 0.5, 0]);
  });

  it('scores live values against a reference histogram', () => {
    // e = [.25, .5, .25]; live counts [2, 2, 3] of 7:
    // (2/7 - .25) ln(8/7) + (2/7 - .5) ln(4/7) + (3/7 - .25) ln(12/7)
    // = 0.035714 * 0.133531 + (-0.214286)(-0.559616) + 0.178571 * 0.538997 = 0.220936
    expect(numericPsi([0, 1, 2, 3], [10, 20, 10], [0.5, 1.5, 1.5, 2.5, -5, 9, 3])).toBeCloseTo(0.220936, 6);
    expect(() => numericPsi([0, 1], [1, 2], [0.5])).toThrow(/2 edges but 2 counts/);
  });

  it('scores categories over the union, new categories at the epsilon reference share', () => {
    // cats a, b, c: e = [.3, .7, 1e-4], a = [.5, .25, .25]
    // .2 ln(5/3) + (-.45) ln(.25/.7) + (.25 - 1e-4) ln(2500) = 0.102165 + 0.463324 + 1.955235 = 2.520723
    expect(categoricalPsi(new Map([['a', 30], ['b', 70]]), ['a', 'a', 'b', 'c'])).toBeCloseTo(2.520723, 5);
    expect(categoricalPsi(new Map([['a', 1], ['b', 1]]), ['a', 'b', 'b', 'a'])).toBeCloseTo(0, 12);
  });
});
