import { afterEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatPulse } from './heartbeat.pulse.js';

describe('HeartbeatPulse', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats on every interval until stopped', async () => {
    vi.useFakeTimers();
    const beat = vi.fn(() => Promise.resolve());
    const pulse = new HeartbeatPulse(beat, 100);
    await vi.advanceTimersByTimeAsync(350);
    pulse.stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(beat).toHaveBeenCalledTimes(3);
    expect(pulse.signal.aborted).toBe(false);
  });

  it('aborts its signal on the first failed beat and beats no more', async () => {
    vi.useFakeTimers();
    const rebalancing = new Error('The group is rebalancing');
    const beat = vi.fn(() => Promise.reject(rebalancing));
    const pulse = new HeartbeatPulse(beat, 100);
    await vi.advanceTimersByTimeAsync(500);
    expect(beat).toHaveBeenCalledTimes(1);
    expect(pulse.signal.aborted).toBe(true);
    expect(pulse.error).toBe(rebalancing);
  });
});
