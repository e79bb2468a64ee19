/**
 * kafkajs 2.2.4 arms timers with negative delays on Node 24 (tulios/kafkajs#1751; Node clamps them to
 * 1 ms): one harmless TimeoutNegativeWarning per connection that would otherwise fill every stderr.
 * Call once at process start; every other warning is still printed.
 */
export function quietKafkajsTimerWarnings(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning') return;
    for (const listener of listeners) listener(warning);
  });
}
