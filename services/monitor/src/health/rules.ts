import { AlertSeverity } from '@aio/proto/aio/monitor/v1/events';
import type { FeatureDrift, ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import type { MonitorSettings } from '../monitor.settings.js';

export const DRIFT_RULE = 'drift';
export const ERROR_RATE_RULE = 'error-rate';
export const P99_LATENCY_RULE = 'p99-latency';

export interface AlertDecision {
  rule: typeof ERROR_RATE_RULE | typeof P99_LATENCY_RULE;
  severity: AlertSeverity;
  value: number;
  threshold: number;
  message: string;
}

export interface RuleDecisions {
  /** The drifted features (each method that crossed), when any did. */
  drifted: FeatureDrift[];
  alerts: AlertDecision[];
}

/**
 * What one version's health calls for. Drift: any feature whose PSI is above MONITOR_PSI_THRESHOLD or
 * whose KS p-value is below MONITOR_KS_PVALUE with MONITOR_MIN_SAMPLES live values (the `drifted` flag
 * of each score). Alerts, once MONITOR_MIN_REQUESTS requests are in the window: error rate above
 * MONITOR_ERROR_RATE_THRESHOLD, p99 latency above MONITOR_P99_LATENCY_MS; critical at twice the
 * threshold (or an error rate of 1), warning below. Cooldowns are applied by whoever records them.
 */
export function decideRules(health: ModelHealth, settings: MonitorSettings): RuleDecisions {
  const drifted = health.drift.filter((d) => d.drifted);
  const alerts: AlertDecision[] = [];
  const requests = Number(health.requestCount);
  const where = `${health.model} v${health.version}`;
  if (requests >= settings.minRequests) {
    const rate = health.errorRate;
    const threshold = settings.errorRateThreshold;
    if (rate > threshold) {
      alerts.push({
        rule: ERROR_RATE_RULE,
        severity: rate >= Math.min(1, 2 * threshold) ? AlertSeverity.CRITICAL : AlertSeverity.WARNING,
        value: rate,
        threshold,
        message: `${where}: ${(rate * 100).toFixed(1)}% of ${requests} requests failed in the window (threshold ${(threshold * 100).toFixed(1)}%, MONITOR_ERROR_RATE_THRESHOLD)`,
      });
    }
    const p99 = health.latency?.p99Ms ?? 0;
    if (p99 > settings.p99LatencyMs) {
      alerts.push({
        rule: P99_LATENCY_RULE,
        severity: p99 >= 2 * settings.p99LatencyMs ? AlertSeverity.CRITICAL : AlertSeverity.WARNING,
        value: p99,
        threshold: settings.p99LatencyMs,
        message: `${where}: p99 latency ${p99.toFixed(1)} ms over ${requests} requests (threshold ${settings.p99LatencyMs} ms, MONITOR_P99_LATENCY_MS)`,
      });
    }
  }
  return { drifted, alerts };
}

/** One line per drifted score, for the log: `x psi=0.41>0.2 n=300; x ks=0.38 p=1.2e-9<0.01 n=300`. */
export function describeDrift(features: readonly FeatureDrift[]): string {
  return features
    .map((f) =>
      f.method === 'ks'
        ? `${f.feature} ks=${f.score.toFixed(3)} p=${f.pValue.toExponential(2)}<${f.threshold} n=${f.sampleCount}`
        : `${f.feature} ${f.method}=${f.score.toFixed(3)}>${f.threshold} n=${f.sampleCount}`,
    )
    .join('; ');
}
