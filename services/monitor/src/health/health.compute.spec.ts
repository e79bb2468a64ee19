import { ReferenceProfileSchema } from '@aio/proto/aio/profile/v1/profile';
import { create } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../stats/sliding.window.js';
import type { ObservedRow } from '../traffic/tensor.decode.js';
import type { VersionState } from '../traffic/traffic.state.js';
import { computeHealth } from './health.compute.js';

const now = 1_000_000_000;
const thresholds = { psi: 0.2, ksPValue: 0.01, minSamples: 1 };

function state(version: number, latencies: number[], failures = 0): VersionState {
  const window = new SlidingWindow<ObservedRow>({ windowMs: 100_000, buckets: 10, maxSamples: 10_000 });
  latencies.forEach((l, i) => window.addRequest(now, now, l, i >= failures, [{ columns: [version], named: undefined, prediction: undefined }]));
  return { model: 'm', version, window, lastSeen: now, decodeProblem: undefined };
}

describe('health of a window', () => {
  it('computes throughput, error rate and nearest-rank latency percentiles', () => {
    const h = computeHealth('m', 1, [state(1, Array.from({ length: 100 }, (_, i) => i + 1), 5)], new Map(), thresholds, now, 50_000);
    expect(h.requestCount).toBe(100n);
    expect(h.errorCount).toBe(5n);
    expect(h.errorRate).toBe(0.05);
    expect(h.throughputRps).toBe(2); // 100 requests / 50 s
    expect(h.latency).toMatchObject({ p50Ms: 50, p90Ms: 90, p95Ms: 95, p99Ms: 99 });
    expect(h.windowStart && timestampMs(h.windowStart)).toBe(now - 50_000);
    expect(h.drift).toEqual([]);
  });

  it('pools versions for version 0 and lists drift per version against its own profile', () => {
    const profile = (center: number) =>
      create(ReferenceProfileSchema, { features: [{ name: 'f', distribution: { case: 'numeric', value: { edges: [center - 1, center + 1], counts: [10n], sample: [center] } } }] });
    const h = computeHealth('m', 0, [state(1, [10, 20]), state(2, [30])], new Map([[1, profile(1)], [2, null]]), thresholds, now, 100_000);
    expect(h.requestCount).toBe(3n);
    expect(h.latency?.p50Ms).toBe(20);
    // Version 1's rows hold 1, its profile's sample is [1]: no drift; version 2 has no profile.
    expect(h.drift.map((d) => [d.version, d.feature, d.method, d.score])).toEqual([
      [1, 'f', 'psi', 0],
      [1, 'f', 'ks', 0],
    ]);
  });
});
