import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { RateLimiter, RateLimitingSampler } from './rate.limiter.js';

describe('RateLimiter', () => {
  it('allows one second of burst, then refills continuously up to it', () => {
    let now = 0;
    const limiter = new RateLimiter(2, () => now);
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false]);
    now = 500;
    expect([limiter.take(), limiter.take()]).toEqual([true, false]);
    now = 60_000;
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([true, true, false]);
  });

  it('takes weights (bytes); an item over a second of budget passes only from a full bucket', () => {
    let now = 0;
    const limiter = new RateLimiter(1000, () => now);
    expect([limiter.take(600), limiter.take(600)]).toEqual([true, false]);
    now = 1000;
    expect([limiter.take(5000), limiter.take(1)]).toEqual([true, false]);
  });

  it('does not limit at 0', () => {
    const limiter = new RateLimiter(0);
    expect(Array.from({ length: 1000 }, () => limiter.take()).every(Boolean)).toBe(true);
  });

  it('samples root traces up to the rate', () => {
    const now = 0;
    const sampler = new RateLimitingSampler(1, () => now);
    expect([sampler.shouldSample().decision, sampler.shouldSample().decision]).toEqual([SamplingDecision.RECORD_AND_SAMPLED, SamplingDecision.NOT_RECORD]);
  });
});
