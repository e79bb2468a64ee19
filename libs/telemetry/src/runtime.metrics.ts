import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Meter } from '@opentelemetry/api';

const RESOLUTION_MS = 10;

/**
 * monitorEventLoopDelay records the time between its timer's runs, the resolution included (an idle loop
 * reads 10 ms at a 10 ms resolution): the delay is what exceeds the resolution, in seconds.
 */
export function loopDelaySeconds(recordedNs: number, resolutionMs = RESOLUTION_MS): number {
  return Math.max(0, recordedNs / 1e6 - resolutionMs) / 1e3;
}

/**
 * Process health every service exports: resident memory, V8 heap, and event-loop delay (p50, p99 and
 * max since the previous collection, in seconds): what a soak test watches for leaks and stalls.
 */
export function registerRuntimeMetrics(meter: Meter): () => void {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  meter.createObservableGauge('process_resident_memory_bytes', { description: 'Resident set size of the process.', unit: 'By' }).addCallback((r) => {
    r.observe(process.memoryUsage.rss());
  });
  meter.createObservableGauge('nodejs_heap_used_bytes', { description: 'V8 heap in use.', unit: 'By' }).addCallback((r) => {
    r.observe(process.memoryUsage().heapUsed);
  });
  meter.createObservableGauge('nodejs_eventloop_delay_seconds', { description: 'Event-loop delay since the previous collection, by quantile.', unit: 's' }).addCallback((r) => {
    if (delay.count === 0) return;
    r.observe(loopDelaySeconds(delay.percentile(50)), { quantile: '0.5' });
    r.observe(loopDelaySeconds(delay.percentile(99)), { quantile: '0.99' });
    r.observe(loopDelaySeconds(delay.max), { quantile: '1' });
    delay.reset();
  });
  return () => delay.disable();
}
