export interface RetryOptions {
  /** Attempts in total, the first one included. 1 means no retry. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Fraction of each delay that is randomised (0..1), so a fleet of consumers does not retry in lockstep. */
  jitter: number;
}

export const defaultRetry: RetryOptions = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, jitter: 0.2 };

export function retryOptions(partial: Partial<RetryOptions> | undefined): RetryOptions {
  const merged = { ...defaultRetry, ...partial };
  const problems: string[] = [];
  if (!Number.isInteger(merged.maxAttempts) || merged.maxAttempts < 1) problems.push('maxAttempts must be an integer >= 1');
  if (!(merged.baseDelayMs >= 0)) problems.push('baseDelayMs must be >= 0');
  if (!(merged.maxDelayMs >= merged.baseDelayMs)) problems.push('maxDelayMs must be >= baseDelayMs');
  if (!(merged.jitter >= 0 && merged.jitter <= 1)) problems.push('jitter must be within 0..1');
  if (problems.length > 0) throw new Error(`invalid retry options: ${problems.join('; ')}`);
  return merged;
}

/**
 * Delay before retry number `retry` (1 = after the first failure): base * 2^(retry-1), capped at
 * maxDelayMs, then reduced by up to `jitter` of itself. Never above the cap, never negative.
 */
export function backoffDelay(retry: number, options: RetryOptions, random: () => number = Math.random): number {
  const exponential = options.baseDelayMs * 2 ** Math.max(0, retry - 1);
  const capped = Math.min(options.maxDelayMs, exponential);
  return Math.round(capped * (1 - options.jitter * random()));
}

/** Sleeps `ms`; resolves false at once when `signal` aborts (shutdown, lost partition), true otherwise. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
