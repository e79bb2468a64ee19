import { FeatureProfileSchema, ReferenceProfileSchema } from '@aio/proto/aio/profile/v1/profile';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { ObservedRow } from '../traffic/tensor.decode.js';
import { driftOf, featureAccessor } from './drift.js';

const thresholds = { psi: 0.2, ksPValue: 0.01, minSamples: 4 };

const numeric = (name: string, edges: number[], counts: number[], sample: number[]) =>
  create(FeatureProfileSchema, { name, distribution: { case: 'numeric', value: { edges, counts: counts.map(BigInt), sample } } });
const categorical = (name: string, counts: Record<string, number>) =>
  create(FeatureProfileSchema, {
    name,
    distribution: { case: 'categorical', value: { counts: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, BigInt(v)])) } },
  });

const profile = create(ReferenceProfileSchema, {
  features: [
    numeric('a', [0, 1, 2], [50, 50], [0.25, 0.5, 1.25, 1.5]),
    categorical('prediction', { yes: 50, no: 50 }),
    numeric('b', [0, 1, 2], [50, 50], []),
  ],
});

const row = (a: number, b: number, prediction: string): ObservedRow => ({ columns: [a, b], named: undefined, prediction });

describe('feature mapping', () => {
  it('skips the prediction when counting columns and prefers a tensor named like the feature', () => {
    const [a, prediction, b] = featureAccessor(profile);
    const r: ObservedRow = { columns: [1, 2], named: { b: 9 }, prediction: 'yes' };
    expect([a?.(r), prediction?.(r), b?.(r)]).toEqual([1, 'yes', 9]);
  });
});

describe('drift of live rows against a profile', () => {
  it('scores numeric features with PSI and KS, the categorical prediction with PSI', () => {
    // a: live bins [3, 1] of 4 vs [.5, .5]: PSI = .25 ln 1.5 + (-.25) ln .5 = 0.274653 > 0.2 -> drifted.
    // a: KS of [0.25, 0.5, 0.75, 1.5] vs [0.25, 0.5, 1.25, 1.5]: gap .25 at 0.75.
    // prediction: [yes, yes, no, no] vs 50/50 -> PSI 0. b has no sample: PSI only ([2, 2] vs 50/50 = 0).
    const rows = [row(0.25, 0.5, 'yes'), row(0.5, 0.5, 'yes'), row(0.75, 1.5, 'no'), row(1.5, 1.5, 'no')];
    const drift = driftOf(profile, rows, [1, 1, 1, 1], thresholds, 3);
    const by = (feature: string, method: string) => drift.find((d) => d.feature === feature && d.method === method);
    expect(drift.map((d) => `${d.feature}/${d.method}`)).toEqual(['a/psi', 'a/ks', 'prediction/psi', 'b/psi']);
    expect(by('a', 'psi')?.score).toBeCloseTo(0.274653, 6);
    expect(by('a', 'psi')).toMatchObject({ drifted: true, threshold: 0.2, sampleCount: 4n, version: 3 });
    expect(by('a', 'ks')?.score).toBe(0.25);
    expect(by('a', 'ks')?.drifted).toBe(false);
    expect(by('prediction', 'psi')?.score).toBeCloseTo(0, 12);
    expect(by('b', 'psi')?.drifted).toBe(false);
  });

  it('never calls drift below the minimum sample count, but still reports the score', () => {
    const rows = [row(0.25, 0.5, 'yes'), row(0.5, 0.5, 'yes'), row(0.75, 1.5, 'no')];
    const a = driftOf(profile, rows, [1, 1, 1], thresholds, 1).find((d) => d.feature === 'a' && d.method === 'psi');
    expect(a?.score).toBeGreaterThan(0.2);
    expect(a?.drifted).toBe(false);
  });

  it('skips missing and unreadable values', () => {
    const rows: ObservedRow[] = [{ columns: [null, 'x'], named: undefined, prediction: undefined }];
    expect(driftOf(profile, rows, [1], thresholds, 1)).toEqual([]);
  });
});
