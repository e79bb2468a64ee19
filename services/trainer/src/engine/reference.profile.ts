// The reference profile of a model version: the distribution of each feature over the training rows
// and of the model's predictions on them. The monitor compares live traffic against it (PSI over the
// histogram bins, KS against the sorted sample).
import { create } from '@bufbuild/protobuf';
import {
  CategoricalDistributionSchema,
  FeatureProfileSchema,
  NumericDistributionSchema,
  ReferenceProfileSchema,
  type FeatureProfile,
  type NumericDistribution,
  type ReferenceProfile,
} from '@aio/proto/aio/profile/v1/profile';
import { categoryOf, numericValue, type DataRecord, type FeatureDef } from './dataset.encoding.js';

export const PROFILE_BINS = 10;
export const PROFILE_SAMPLE = 1000;
export const PREDICTION_FEATURE = 'prediction';

/** The model's predictions on the profiled rows: values (regression) or class names. */
export type PredictionColumn = { readonly kind: 'numeric'; readonly values: ArrayLike<number> } | { readonly kind: 'categorical'; readonly values: readonly string[] };

/** Value at quantile q of sorted values (linear interpolation between closest ranks). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/**
 * Histogram over quantile edges (duplicates merged, so a skewed column can have fewer bins; a constant
 * column has the single bin [v, v]), min/max/mean/population std, and a sorted sample of at most
 * `sampleSize` values taken at evenly spaced ranks. No values: empty edges, counts and sample.
 */
export function numericDistribution(values: ArrayLike<number>, bins = PROFILE_BINS, sampleSize = PROFILE_SAMPLE): NumericDistribution {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return create(NumericDistributionSchema, {});
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const e = quantile(sorted, i / bins);
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  if (edges.length === 1) edges.push(edges[0] as number);
  const counts = new Array<bigint>(edges.length - 1).fill(0n);
  const last = counts.length - 1;
  for (const v of sorted) {
    // largest i with edges[i] <= v, clamped into [0, last]
    let lo = 0;
    let hi = edges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((edges[mid] as number) <= v) lo = mid;
      else hi = mid - 1;
    }
    const bin = Math.min(lo, last);
    counts[bin] = (counts[bin] as bigint) + 1n;
  }
  let mean = 0;
  for (const v of sorted) mean += v / n;
  let ss = 0;
  for (const v of sorted) ss += (v - mean) ** 2;
  const sample = n <= sampleSize ? Array.from(sorted) : Array.from({ length: sampleSize }, (_, k) => sorted[Math.round((k * (n - 1)) / (sampleSize - 1))] as number);
  return create(NumericDistributionSchema, {
    edges,
    counts,
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    mean,
    stddev: Math.sqrt(ss / n),
    sample,
  });
}

function categorical(name: string, values: readonly (string | undefined)[]): FeatureProfile {
  const counts: Record<string, bigint> = {};
  let missing = 0n;
  for (const v of values) {
    if (v === undefined) missing++;
    else counts[v] = (counts[v] ?? 0n) + 1n;
  }
  return create(FeatureProfileSchema, {
    name,
    count: BigInt(values.length),
    missing,
    distribution: { case: 'categorical', value: create(CategoricalDistributionSchema, { counts }) },
  });
}

function numeric(name: string, values: readonly (number | undefined)[]): FeatureProfile {
  const present = values.filter((v): v is number => v !== undefined);
  return create(FeatureProfileSchema, {
    name,
    count: BigInt(values.length),
    missing: BigInt(values.length - present.length),
    distribution: { case: 'numeric', value: numericDistribution(present) },
  });
}

/**
 * One FeatureProfile per raw feature (numeric features numeric; boolean and categorical features as
 * category counts, booleans as "true"/"false"), plus "prediction" when given.
 */
export function referenceProfile(features: readonly FeatureDef[], rows: readonly DataRecord[], prediction?: PredictionColumn): ReferenceProfile {
  const profiles = features.map((f) => {
    if (f.type === 'numeric') return numeric(f.name, rows.map((r, i) => numericValue(r[f.name], f, i)));
    if (f.type === 'bool') return categorical(f.name, rows.map((r, i) => numericValue(r[f.name], f, i)).map((v) => (v === undefined ? undefined : v === 1 ? 'true' : 'false')));
    return categorical(f.name, rows.map((r) => categoryOf(r[f.name])));
  });
  if (prediction) {
    profiles.push(
      prediction.kind === 'numeric' ? numeric(PREDICTION_FEATURE, Array.from(prediction.values)) : categorical(PREDICTION_FEATURE, prediction.values),
    );
  }
  return create(ReferenceProfileSchema, { features: profiles });
}
