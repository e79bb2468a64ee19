import { describe, expect, it } from 'vitest';
import { emptyQuality, qualityMetrics, SlidingWindow } from './sliding.window.js';

const opts = { windowMs: 60_000, buckets: 6, maxSamples: 60 };

describe('sliding window', () => {
  it('counts requests and errors over the window and forgets what slid out', () => {
    const w = new SlidingWindow<string>(opts);
    const t = 1_000_000; // bucket width 10 s
    expect(w.addRequest(t, t, 10, true, ['a'])).toBe(true);
    expect(w.addRequest(t + 5_000, t + 5_000, 20, false, ['b', 'c'])).toBe(true);
    expect(w.addRequest(t + 30_000, t + 30_000, 30, true, [])).toBe(true);
    const v = w.view(t + 30_000, 60_000);
    expect(v).toMatchObject({ requests: 3, errors: 1, rows: ['a', 'b', 'c'], latencies: [10, 20, 30] });
    expect(v.rowWeights).toEqual([1, 1, 1]);
    // A 15 s window ending at t+30 s holds only the newest bucket (and the one it overlaps: t+20..30 s, empty).
    expect(w.view(t + 30_000, 15_000).requests).toBe(1);
    // 70 s later the first two requests are out of the 60 s window.
    expect(w.view(t + 70_000, 60_000).requests).toBe(1);
    expect(w.view(t + 100_000, 60_000).requests).toBe(0);
    expect(w.isEmpty(t + 100_000)).toBe(true);
  });

  it('drops observations older than the window and clamps future ones to now', () => {
    const w = new SlidingWindow<string>(opts);
    const now = 1_000_000;
    expect(w.addRequest(now, now - 61_000, 1, true, [])).toBe(false);
    expect(w.addRequest(now, now + 3_600_000, 1, true, [])).toBe(true);
    expect(w.view(now, 60_000).requests).toBe(1);
  });

  it('never grows past maxSamples and weights samples by what they stand for', () => {
    const w = new SlidingWindow<number>({ ...opts, random: () => 0 });
    const now = 1_000_000;
    for (let i = 0; i < 1000; i++) w.addRequest(now, now, i, true, [i]);
    const v = w.view(now, 60_000);
    expect(v.requests).toBe(1000);
    expect(v.rows).toHaveLength(10); // 60 samples / 6 buckets
    expect(v.rowWeights.every((x) => x === 100)).toBe(true);
    expect(v.latencies).toHaveLength(10);
  });

  it('adds label outcomes and turns them into accuracy and RMSE', () => {
    const w = new SlidingWindow<number>(opts);
    const now = 1_000_000;
    w.addQuality(now, now, { ...emptyQuality(), classified: 4, correct: 3 });
    w.addQuality(now, now, { ...emptyQuality(), regressed: 2, squaredError: 1 + 9, absoluteError: 1 + 3 });
    const q = qualityMetrics(w.view(now, 60_000).quality);
    // accuracy 3/4; rmse sqrt(10 / 2) = 2.236068; mae 4 / 2 = 2
    expect(q['accuracy']).toBe(0.75);
    expect(q['rmse']).toBeCloseTo(2.236068, 6);
    expect(q['mae']).toBe(2);
    expect(qualityMetrics(emptyQuality())).toEqual({});
  });
});
