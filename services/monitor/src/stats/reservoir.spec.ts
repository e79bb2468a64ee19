import { describe, expect, it } from 'vitest';
import { Reservoir } from './reservoir.js';

describe('reservoir', () => {
  it('keeps everything until full, then stays at capacity and weights each item by seen / kept', () => {
    const r = new Reservoir<number>(3, () => 0);
    for (let i = 1; i <= 3; i++) r.add(i);
    expect(r.items).toEqual([1, 2, 3]);
    expect(r.weight).toBe(1);
    r.add(4); // random 0 -> slot 0 replaced
    expect(r.items).toEqual([4, 2, 3]);
    expect(r.weight).toBeCloseTo(4 / 3, 12);
  });

  it('skips an item whose drawn slot is past capacity', () => {
    const r = new Reservoir<number>(2, () => 0.99);
    [1, 2, 3].forEach((i) => r.add(i)); // floor(.99 * 3) = 2 >= 2: not kept
    expect(r.items).toEqual([1, 2]);
    expect(r.seen).toBe(3);
  });

  it('samples uniformly', () => {
    // Deterministic LCG so the test is repeatable: each of 0..9 should be kept about 1000 times of 10_000.
    let s = 42;
    const random = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const kept = new Array<number>(10).fill(0);
    for (let run = 0; run < 2000; run++) {
      const r = new Reservoir<number>(5, random);
      for (let i = 0; i < 10; i++) r.add(i);
      for (const i of r.items) kept[i] = (kept[i] ?? 0) + 1;
    }
    for (const k of kept) expect(Math.abs(k - 1000)).toBeLessThan(150);
  });

  it('rejects a bad capacity', () => {
    expect(() => new Reservoir(0)).toThrow(/positive integer/);
  });
});
