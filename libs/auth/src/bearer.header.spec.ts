import { describe, expect, it } from 'vitest';
import { AuthError } from './auth.error.js';
import { bearerFrom } from './bearer.header.js';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuthError) return err.reason;
    throw err;
  }
  return 'no error';
}

describe('bearerFrom', () => {
  it('reads HTTP headers and gRPC metadata values', () => {
    expect(bearerFrom('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerFrom('bearer   abc')).toBe('abc');
    expect(bearerFrom(['Bearer abc'])).toBe('abc');
    expect(bearerFrom([Buffer.from('Bearer xyz')])).toBe('xyz');
  });

  it('says what is wrong with the header', () => {
    expect(reasonOf(() => bearerFrom(undefined))).toBe('missing token');
    expect(reasonOf(() => bearerFrom([]))).toBe('missing token');
    expect(reasonOf(() => bearerFrom(' '))).toBe('missing token');
    expect(reasonOf(() => bearerFrom('Basic dXNlcjpwdw=='))).toBe('malformed authorization header');
    expect(reasonOf(() => bearerFrom('Bearer a b'))).toBe('malformed authorization header');
    expect(reasonOf(() => bearerFrom(['Bearer a', 'Bearer b']))).toBe('malformed authorization header');
  });
});
