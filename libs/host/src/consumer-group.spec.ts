import { describe, expect, it } from 'vitest';
import { consumerGroup } from './platform.service.js';

describe('consumerGroup', () => {
  it('keeps the plain name for the default prefix and scopes any other', () => {
    expect(consumerGroup('aio', 'inference-gateway')).toBe('inference-gateway');
    expect(consumerGroup('t-1', 'inference-gateway')).toBe('t-1.inference-gateway');
  });
});
