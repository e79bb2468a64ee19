import { describe, expect, it } from 'vitest';
import { uintParam } from './query.params.js';
import { consumerGroup } from './registry-events.consumer.js';

describe('uintParam', () => {
  it('reads absent and empty as 0 and digits as numbers', () => {
    expect(uintParam('page_size', undefined)).toBe(0);
    expect(uintParam('page_size', '')).toBe(0);
    expect(uintParam('page_size', '25')).toBe(25);
  });

  it('rejects anything else naming the field', () => {
    for (const bad of ['-1', '1.5', 'ten', '99999999999', '4294967296']) {
      expect(() => uintParam('page_size', bad)).toThrow(/^page_size: must be a non-negative integer$/);
    }
  });
});

describe('consumerGroup', () => {
  it('keeps the plain name for the default prefix and scopes any other', () => {
    expect(consumerGroup('aio', 'monitor')).toBe('monitor');
    expect(consumerGroup('t-123', 'monitor')).toBe('t-123.monitor');
  });
});
