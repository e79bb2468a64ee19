import { Status } from '@aio/grpc';
import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken, MAX_PAGE_SIZE, pageSize } from './page-token.codec.js';

describe('page tokens', () => {
  it('round-trips the last name and treats an empty token as the first page', () => {
    expect(decodePageToken(encodePageToken('iris'))).toBe('iris');
    expect(decodePageToken('')).toBeUndefined();
  });

  it('refuses a token it did not issue', () => {
    expect(() => decodePageToken('bm9wZQ')).toThrow(expect.objectContaining({ code: Status.INVALID_ARGUMENT, message: expect.stringMatching(/^page_token: /) as unknown }));
  });

  it('defaults and caps the page size', () => {
    expect(pageSize(0)).toBe(50);
    expect(pageSize(7)).toBe(7);
    expect(pageSize(1_000_000)).toBe(MAX_PAGE_SIZE);
  });
});
