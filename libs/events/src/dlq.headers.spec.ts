import { describe, expect, it } from 'vitest';
import { buildDlqHeaders, errorMessage, errorType, maxErrorMessageLength } from './dlq.headers.js';

describe('DLQ headers', () => {
  const failure = {
    error: new TypeError('boom'),
    topic: 'aio.events.data',
    partition: 2,
    offset: '41',
    failedAt: new Date('2026-01-02T03:04:05.000Z'),
    attempts: 5,
    groupId: 'monitor',
  };

  it('keeps the original headers and adds where and why it failed', () => {
    const original = { ce_id: Buffer.from('e1'), traceparent: Buffer.from('00-abc-def-01') };
    expect(buildDlqHeaders(original, failure)).toEqual({
      ce_id: Buffer.from('e1'),
      traceparent: Buffer.from('00-abc-def-01'),
      aio_error_message: 'boom',
      aio_error_type: 'TypeError',
      aio_original_topic: 'aio.events.data',
      aio_original_partition: '2',
      aio_original_offset: '41',
      aio_failed_at: '2026-01-02T03:04:05.000Z',
      aio_attempts: '5',
      aio_consumer_group: 'monitor',
    });
  });

  it('replaces the error headers of an earlier failure', () => {
    const headers = buildDlqHeaders({ aio_error_message: Buffer.from('old') }, failure);
    expect(headers['aio_error_message']).toBe('boom');
  });

  it('names and bounds any thrown value', () => {
    expect(errorType('text')).toBe('string');
    expect(errorType(null)).toBe('null');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(new Error('x'.repeat(10_000)))).toHaveLength(maxErrorMessageLength);
  });
});
