import { InvalidSha256Error } from './artifact.error.js';

/** A sha256 digest as the store names it: 64 lower-case hex characters. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function isSha256(value: string): boolean {
  return SHA256_PATTERN.test(value);
}

/** Throws InvalidSha256Error (naming `field`) unless `value` is 64 lower-case hex characters. */
export function assertSha256(value: string, field = 'sha256'): void {
  if (!SHA256_PATTERN.test(value)) throw new InvalidSha256Error(field, value);
}
