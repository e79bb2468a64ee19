import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';

/**
 * "At most N per second": a token bucket holding one second's worth, refilled continuously. What
 * keeps sampled work (root traces, inference records) a bounded cost however much traffic comes.
 */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;

  /** `perSecond` <= 0 means no limit. */
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perSecond;
    this.refilledAt = now();
  }

  /**
   * Takes `n` tokens when there are that many (a weight, e.g. bytes). Something heavier than a whole
   * second's worth is let through when the bucket is full, so a large item is rare, never impossible.
   */
  take(n = 1): boolean {
    if (this.perSecond <= 0) return true;
    const now = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
    const cost = Math.min(n, this.perSecond);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

/** Samples new (root) traces at most N per second; used under ParentBased, so continued traces follow their caller. */
export class RateLimitingSampler implements Sampler {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly perSecond: number,
    now?: () => number,
  ) {
    this.limiter = new RateLimiter(perSecond, now);
  }

  shouldSample(): SamplingResult {
    return { decision: this.limiter.take() ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `RateLimitingSampler{${this.perSecond}/s}`;
  }
}
