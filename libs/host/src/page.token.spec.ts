import { Status } from '@aio/grpc';
import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken, MAX_PAGE_SIZE, pageSize } from './page.token.js';

describe('page tokens', () => {
  it('round-trip the position and treat an empty token as the first page', () => {
    expect(decodePageToken(encodePageToken('iris'))).toBe('iris');
    expect(decodePageToken('')).toBeUndefined();
  });

  it('refuse a token this API did not issue, naming the field', () => {
    expect(() => decodePageToken('bm9wZQ')).toThrow(expect.objectContaining({ code: Status.INVALID_ARGUMENT, message: expect.stringMatching(/^page_token: /) as unknown }));
    expect(() => decodePageToken('%%%', 'cursor')).toThrow(/^cursor: /);
  });

  it('default and cap the page size', () => {
    expect(pageSize(0)).toBe(50);
    expect(pageSize(7)).toBe(7);
    expect(pageSize(1_000_000)).toBe(MAX_PAGE_SIZE);
  });
});
