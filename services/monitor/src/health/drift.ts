import { FeatureDriftSchema, type FeatureDrift } from '@aio/proto/aio/monitor/v1/monitor';
import type { FeatureProfile, ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { create } from '@bufbuild/protobuf';
import { ksTest } from '../stats/ks.js';
import { categoricalPsi, numericPsi } from '../stats/psi.js';
import type { Cell, ObservedRow } from '../traffic/tensor.decode.js';

/** The profile feature that describes the model's output rather than an input column. */
export const PREDICTION_FEATURE = 'prediction';

export interface DriftThresholds {
  /** PSI above this is drift. */
  psi: number;
  /** KS p-value below this is drift. */
  ksPValue: number;
  /** Fewer live values than this never count as drift (scores are still reported). */
  minSamples: number;
}

/**
 * How a live row's value for profile feature `index` is found: the prediction for the feature named
 * "prediction"; otherwise an input tensor named like the feature, else column k of the first input
 * tensor, where k counts the profile's non-prediction features before this one.
 */
export function featureAccessor(profile: ReferenceProfile): ((row: ObservedRow) => Cell | null | undefined)[] {
  let column = 0;
  return profile.features.map((f) => {
    if (f.name === PREDICTION_FEATURE) return (row) => row.prediction;
    const k = column++;
    return (row) => row.named?.[f.name] ?? row.columns[k];
  });
}

function asNumber(v: Cell | null | undefined): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function asCategory(v: Cell | null | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'number' ? String(v) : v;
}

/** Scores of one feature: "psi" for every profiled feature, plus "ks" for numeric ones with a sample. */
export function featureDrift(
  feature: FeatureProfile,
  cells: readonly (Cell | null | undefined)[],
  weights: readonly number[],
  thresholds: DriftThresholds,
  version: number,
): FeatureDrift[] {
  const dist = feature.distribution;
  const out: FeatureDrift[] = [];
  if (dist.case === 'numeric') {
    const values: number[] = [];
    const w: number[] = [];
    cells.forEach((c, i) => {
      const n = asNumber(c);
      if (n !== undefined) {
        values.push(n);
        w.push(weights[i] ?? 1);
      }
    });
    const enough = values.length >= thresholds.minSamples;
    const { edges, counts, sample } = dist.value;
    if (edges.length >= 2 && counts.length === edges.length - 1 && values.length > 0) {
      const psi = numericPsi(edges, counts.map(Number), values, w);
      out.push(entry(feature.name, 'psi', psi, thresholds.psi, enough && psi > thresholds.psi, 0, values.length, version));
    }
    const ks = ksTest(values, sample, w);
    if (ks !== undefined) {
      out.push(entry(feature.name, 'ks', ks.statistic, thresholds.ksPValue, enough && ks.pValue < thresholds.ksPValue, ks.pValue, values.length, version));
    }
  } else if (dist.case === 'categorical') {
    const values: string[] = [];
    const w: number[] = [];
    cells.forEach((c, i) => {
      const s = asCategory(c);
      if (s !== undefined) {
        values.push(s);
        w.push(weights[i] ?? 1);
      }
    });
    const reference = new Map(Object.entries(dist.value.counts).map(([k, v]) => [k, Number(v)]));
    if (reference.size > 0 && values.length > 0) {
      const psi = categoricalPsi(reference, values, w);
      out.push(entry(feature.name, 'psi', psi, thresholds.psi, values.length >= thresholds.minSamples && psi > thresholds.psi, 0, values.length, version));
    }
  }
  return out;
}

/** Every profiled feature (and the prediction) of live rows against a version's reference profile. */
export function driftOf(profile: ReferenceProfile, rows: readonly ObservedRow[], weights: readonly number[], thresholds: DriftThresholds, version: number): FeatureDrift[] {
  const accessors = featureAccessor(profile);
  return profile.features.flatMap((feature, i) => {
    const get = accessors[i];
    return get === undefined ? [] : featureDrift(feature, rows.map(get), weights, thresholds, version);
  });
}

function entry(feature: string, method: string, score: number, threshold: number, drifted: boolean, pValue: number, samples: number, version: number): FeatureDrift {
  return create(FeatureDriftSchema, { feature, method, score, threshold, drifted, pValue, sampleCount: BigInt(samples), version });
}
