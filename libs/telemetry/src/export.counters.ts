import type { Counter, Meter, MeterProvider, MetricAttributes } from '@opentelemetry/api';

export type Signal = 'traces' | 'logs';

/** Why records never reached the search engine. */
export type DropReason = 'queue_full' | 'export_failed' | 'rejected';

export interface SignalStats {
  exported: number;
  dropped: number;
  droppedBy: Record<DropReason, number>;
}

export type ExportStats = Record<Signal, SignalStats>;

/**
 * Plain running totals of what the exporters shipped and lost. Metrics read them through observable
 * counters, so the numbers survive a MeterProvider that is not (or no longer) there.
 */
export class ExportCounters {
  readonly #stats: ExportStats = { traces: emptyStats(), logs: emptyStats() };

  exported(signal: Signal, count: number): void {
    this.#stats[signal].exported += count;
  }

  dropped(signal: Signal, reason: DropReason, count: number): void {
    if (count <= 0) return;
    const stats = this.#stats[signal];
    stats.dropped += count;
    stats.droppedBy[reason] += count;
  }

  snapshot(): ExportStats {
    return structuredClone(this.#stats);
  }
}

function emptyStats(): SignalStats {
  return { exported: 0, dropped: 0, droppedBy: { queue_full: 0, export_failed: 0, rejected: 0 } };
}

/** Registers `aio_telemetry_exported_total{signal}` and `aio_telemetry_dropped_total{signal,reason}`. */
export function registerExportMetrics(meter: Meter, counters: ExportCounters): void {
  const exported = meter.createObservableCounter('aio_telemetry_exported', {
    description: 'Spans and log records accepted by the search engine.',
  });
  const dropped = meter.createObservableCounter('aio_telemetry_dropped', {
    description: 'Spans and log records lost: queue full, export failed after retries, or rejected by the search engine.',
  });
  exported.addCallback((result) => {
    const stats = counters.snapshot();
    for (const signal of ['traces', 'logs'] as const) result.observe(stats[signal].exported, { signal });
  });
  dropped.addCallback((result) => {
    const stats = counters.snapshot();
    for (const signal of ['traces', 'logs'] as const) {
      for (const [reason, count] of Object.entries(stats[signal].droppedBy)) result.observe(count, { signal, reason });
    }
  });
}

/**
 * The SDK batch processors drop records when their queue is full but only report it through their
 * self-observability counter (`otel.sdk.processor.*.processed` with `error.type=queue_full`). Handing
 * them this provider forwards every SDK metric unchanged and also counts those drops for us.
 */
export function queueDropCountingMeterProvider(
  inner: MeterProvider,
  onQueueFull: (count: number) => void,
): MeterProvider {
  return {
    getMeter(name, version, options) {
      const meter = inner.getMeter(name, version, options);
      const wrapped: Meter = {
        createCounter(counterName, counterOptions) {
          return countingCounter(meter.createCounter(counterName, counterOptions), onQueueFull);
        },
        createGauge: (...args) => meter.createGauge(...args),
        createHistogram: (...args) => meter.createHistogram(...args),
        createUpDownCounter: (...args) => meter.createUpDownCounter(...args),
        createObservableGauge: (...args) => meter.createObservableGauge(...args),
        createObservableCounter: (...args) => meter.createObservableCounter(...args),
        createObservableUpDownCounter: (...args) => meter.createObservableUpDownCounter(...args),
        addBatchObservableCallback: (...args) => meter.addBatchObservableCallback(...args),
        removeBatchObservableCallback: (...args) => meter.removeBatchObservableCallback(...args),
      };
      return wrapped;
    },
  };
}

function countingCounter<A extends MetricAttributes>(counter: Counter<A>, onQueueFull: (count: number) => void): Counter<A> {
  return {
    add(value, attributes, context) {
      if (attributes?.['error.type'] === 'queue_full') onQueueFull(value);
      counter.add(value, attributes, context);
    },
  };
}
