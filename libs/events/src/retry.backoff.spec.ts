import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortableSleep, backoffDelay, retryOptions } from './retry.backoff.js';

describe('backoff schedule', () => {
  const options = retryOptions({ maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });

  it('doubles from the base delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelay(retry, options))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('takes up to `jitter` off each delay and never exceeds the cap', () => {
    const jittered = { ...options, jitter: 0.5 };
    expect(backoffDelay(3, jittered, () => 0)).toBe(400);
    expect(backoffDelay(3, jittered, () => 1)).toBe(200);
    expect(backoffDelay(10, jittered, () => 0)).toBe(1_000);
  });

  it('lists every invalid setting at once', () => {
    expect(() => retryOptions({ maxAttempts: 0, baseDelayMs: 10, maxDelayMs: 5, jitter: 2 })).toThrow(
      'invalid retry options: maxAttempts must be an integer >= 1; maxDelayMs must be >= baseDelayMs; jitter must be within 0..1',
    );
  });
});

describe('abortableSleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves true after the delay', async () => {
    vi.useFakeTimers();
    const slept = abortableSleep(1_000, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await slept).toBe(true);
  });

  it('resolves false as soon as the signal aborts', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const slept = abortableSleep(60_000, controller.signal);
    controller.abort();
    expect(await slept).toBe(false);
    expect(await abortableSleep(10, controller.signal)).toBe(false);
  });
});
