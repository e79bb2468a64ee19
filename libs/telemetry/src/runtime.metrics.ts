import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Meter } from '@opentelemetry/api';

/**
 * Process health every service exports: resident memory, V8 heap, and event-loop delay (p50, p99 and
 * max since the previous collection, in seconds): what a soak test watches for leaks and stalls.
 */
export function registerRuntimeMetrics(meter: Meter): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  meter.createObservableGauge('process_resident_memory_bytes', { description: 'Resident set size of the process.', unit: 'By' }).addCallback((r) => {
    r.observe(process.memoryUsage.rss());
  });
  meter.createObservableGauge('nodejs_heap_used_bytes', { description: 'V8 heap in use.', unit: 'By' }).addCallback((r) => {
    r.observe(process.memoryUsage().heapUsed);
  });
  meter.createObservableGauge('nodejs_eventloop_delay_seconds', { description: 'Event-loop delay since the previous collection, by quantile.', unit: 's' }).addCallback((r) => {
    if (delay.count === 0) return;
    r.observe(delay.percentile(50) / 1e9, { quantile: '0.5' });
    r.observe(delay.percentile(99) / 1e9, { quantile: '0.99' });
    r.observe(delay.max / 1e9, { quantile: '1' });
    delay.reset();
  });
  return () => delay.disable();
}
