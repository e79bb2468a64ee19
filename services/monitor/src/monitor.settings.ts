import type { MonitorConfig } from './config.js';
import type { DriftThresholds } from './health/drift.js';

/** Slices a window is cut into: queries shorter than the window are exact to window / 60. */
export const WINDOW_BUCKETS = 60;

/** The monitor's tuning, in the units the code uses; built once from the config (injected by class). */
export class MonitorSettings {
  constructor(
    readonly windowMs: number,
    readonly maxSamples: number,
    readonly maxVersions: number,
    readonly maxPendingLabels: number,
    readonly drift: DriftThresholds,
    readonly driftCooldownMs: number,
    readonly errorRateThreshold: number,
    readonly p99LatencyMs: number,
    readonly minRequests: number,
    readonly alertCooldownMs: number,
    readonly evaluateMs: number,
  ) {}

  static fromConfig(c: MonitorConfig): MonitorSettings {
    return new MonitorSettings(
      c.MONITOR_WINDOW_SECONDS * 1000,
      c.MONITOR_MAX_SAMPLES,
      c.MONITOR_MAX_VERSIONS,
      c.MONITOR_MAX_PENDING_LABELS,
      { psi: c.MONITOR_PSI_THRESHOLD, ksPValue: c.MONITOR_KS_PVALUE, minSamples: c.MONITOR_MIN_SAMPLES },
      c.MONITOR_DRIFT_COOLDOWN_SECONDS * 1000,
      c.MONITOR_ERROR_RATE_THRESHOLD,
      c.MONITOR_P99_LATENCY_MS,
      c.MONITOR_MIN_REQUESTS,
      c.MONITOR_ALERT_COOLDOWN_SECONDS * 1000,
      c.MONITOR_EVALUATE_SECONDS * 1000,
    );
  }
}
