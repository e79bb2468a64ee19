import { describe, expect, it } from 'vitest';
import { seededRandom } from '@aio/onnx';
import { chooseRoute, type Route } from './traffic.split.js';

describe('chooseRoute', () => {
  const routes: Route[] = [
    { version: 1, weight: 90, canary: true },
    { version: 2, weight: 10, canary: true },
    { version: 3, weight: 0, canary: true },
  ];

  it('follows the weights and never picks a zero-weight route', () => {
    const random = seededRandom(42);
    const counts = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const v = chooseRoute(routes, random).version;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect(counts.get(3)).toBeUndefined();
    // 10% of 10k with a binomial standard deviation of 30: well inside +-150.
    expect(counts.get(2)).toBeGreaterThan(850);
    expect(counts.get(2)).toBeLessThan(1150);
  });

  it('is deterministic for a seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const pick = (r: () => number) => Array.from({ length: 50 }, () => chooseRoute(routes, r).version);
    expect(pick(a)).toEqual(pick(b));
  });

  it('maps the ends of [0, 1) onto the first and last routes', () => {
    expect(chooseRoute(routes, () => 0).version).toBe(1);
    expect(chooseRoute(routes, () => 0.999999999).version).toBe(2);
    expect(() => chooseRoute([{ version: 1, weight: 0, canary: false }], () => 0.5)).toThrow(/positive weight/);
  });
});
