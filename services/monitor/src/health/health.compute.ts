import { ModelHealthSchema, type FeatureDrift, type ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import type { ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { weightedQuantiles } from '../stats/quantile.js';
import { addQuality, emptyQuality, qualityMetrics } from '../stats/sliding.window.js';
import type { VersionState } from '../traffic/traffic.state.js';
import { driftOf, type DriftThresholds } from './drift.js';

/**
 * Health of one version (one state) or of a model over all its versions (several states: counts and
 * latency pooled, drift listed per version against each version's own profile) over the window of
 * `windowMs` ending at `now`.
 */
export function computeHealth(
  model: string,
  version: number,
  states: readonly VersionState[],
  profiles: ReadonlyMap<number, ReferenceProfile | null>,
  thresholds: DriftThresholds,
  now: number,
  windowMs: number,
): ModelHealth {
  let requests = 0;
  let errors = 0;
  const quality = emptyQuality();
  const latencies: number[] = [];
  const latencyWeights: number[] = [];
  const drift: FeatureDrift[] = [];
  let start = now - windowMs;
  for (const state of states) {
    const view = state.window.view(now, windowMs);
    start = view.start;
    requests += view.requests;
    errors += view.errors;
    addQuality(quality, view.quality);
    latencies.push(...view.latencies);
    latencyWeights.push(...view.latencyWeights);
    const profile = profiles.get(state.version);
    if (profile && view.rows.length > 0) drift.push(...driftOf(profile, view.rows, view.rowWeights, thresholds, state.version));
  }
  const [p50 = 0, p90 = 0, p95 = 0, p99 = 0] = weightedQuantiles(latencies, latencyWeights, [0.5, 0.9, 0.95, 0.99]);
  const seconds = (now - start) / 1000;
  return create(ModelHealthSchema, {
    model,
    version,
    windowStart: timestampFromMs(start),
    windowEnd: timestampFromMs(now),
    requestCount: BigInt(requests),
    throughputRps: seconds > 0 ? requests / seconds : 0,
    errorRate: requests > 0 ? errors / requests : 0,
    errorCount: BigInt(errors),
    latency: { p50Ms: p50, p90Ms: p90, p95Ms: p95, p99Ms: p99 },
    drift,
    quality: qualityMetrics(quality),
    labeledCount: BigInt(quality.classified + quality.regressed),
  });
}
