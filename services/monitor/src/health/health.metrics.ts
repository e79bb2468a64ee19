import type { ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { metrics, type Attributes, type BatchObservableCallback, type Counter, type Meter, type ObservableGauge } from '@opentelemetry/api';
import { versionKey } from '../reference-profiles.repository.js';

/**
 * Prometheus series of the monitor (rendered on /metrics by @aio/telemetry): gauges per model and
 * version from the last evaluation, counters of what was consumed and raised. A version forgotten by
 * the in-memory LRU is dropped from the gauges too, so series stay bounded.
 */
@Injectable()
export class MonitorMetrics implements OnApplicationShutdown {
  private readonly meter: Meter;
  private readonly latest = new Map<string, ModelHealth>();
  private readonly gauges: Record<'psi' | 'ksStatistic' | 'ksPValue' | 'p50' | 'p99' | 'errorRate' | 'throughput' | 'quality' | 'requests', ObservableGauge>;
  private readonly observe: BatchObservableCallback;
  readonly records: Counter;
  readonly feedback: Counter;
  readonly firings: Counter;

  constructor() {
    this.meter = metrics.getMeter('@aio/service-monitor');
    const gauge = (name: string, description: string): ObservableGauge => this.meter.createObservableGauge(name, { description });
    this.gauges = {
      psi: gauge('aio_monitor_drift_psi', 'Population stability index of a feature (or the prediction) against the version reference profile'),
      ksStatistic: gauge('aio_monitor_drift_ks_statistic', 'Two-sample Kolmogorov-Smirnov statistic of a numeric feature against the reference sample'),
      ksPValue: gauge('aio_monitor_drift_ks_pvalue', 'Asymptotic p-value of the KS statistic'),
      p50: gauge('aio_monitor_latency_p50_ms', 'Median gateway latency of the version over the window, milliseconds'),
      p99: gauge('aio_monitor_latency_p99_ms', '99th percentile gateway latency of the version over the window, milliseconds'),
      errorRate: gauge('aio_monitor_error_rate', 'Share of failed requests over the window'),
      throughput: gauge('aio_monitor_throughput_rps', 'Requests per second over the window'),
      quality: gauge('aio_monitor_quality', 'Quality from joined feedback labels (metric: accuracy, rmse, mae)'),
      requests: gauge('aio_monitor_window_requests', 'Requests in the window'),
    };
    this.observe = (result) => {
      for (const h of this.latest.values()) {
        const at: Attributes = { model: h.model, version: String(h.version) };
        result.observe(this.gauges.p50, h.latency?.p50Ms ?? 0, at);
        result.observe(this.gauges.p99, h.latency?.p99Ms ?? 0, at);
        result.observe(this.gauges.errorRate, h.errorRate, at);
        result.observe(this.gauges.throughput, h.throughputRps, at);
        result.observe(this.gauges.requests, Number(h.requestCount), at);
        for (const [metric, value] of Object.entries(h.quality)) result.observe(this.gauges.quality, value, { ...at, metric });
        for (const d of h.drift) {
          const fa = { ...at, feature: d.feature };
          if (d.method === 'psi') result.observe(this.gauges.psi, d.score, fa);
          if (d.method === 'ks') {
            result.observe(this.gauges.ksStatistic, d.score, fa);
            result.observe(this.gauges.ksPValue, d.pValue, fa);
          }
        }
      }
    };
    this.meter.addBatchObservableCallback(this.observe, Object.values(this.gauges));
    this.records = this.meter.createCounter('aio_monitor_inference_records', { description: 'Inference log records consumed (outcome: counted, stale)' });
    this.feedback = this.meter.createCounter('aio_monitor_feedback', { description: 'Feedback labels consumed (outcome: joined, unmatched, unusable)' });
    this.firings = this.meter.createCounter('aio_monitor_rule_firings', { description: 'DriftDetected and AlertRaised events recorded (rule)' });
  }

  /** The health a version's gauges show until the next evaluation. */
  update(health: ModelHealth): void {
    this.latest.set(versionKey(health.model, health.version), health);
  }

  forget(model: string, version: number): void {
    this.latest.delete(versionKey(model, version));
  }

  onApplicationShutdown(): void {
    this.meter.removeBatchObservableCallback(this.observe, Object.values(this.gauges));
  }
}
