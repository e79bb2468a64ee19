/** Base class of every error the store throws on purpose; `code` is stable for callers to switch on. */
export abstract class ArtifactError extends Error {
  abstract readonly code: 'INVALID_SHA256' | 'NOT_FOUND' | 'TOO_LARGE' | 'SIZE_MISMATCH' | 'SHA256_MISMATCH';
}

export class InvalidSha256Error extends ArtifactError {
  readonly code = 'INVALID_SHA256';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field}: must be 64 lower-case hex characters (a sha256), got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value)}`);
    this.name = 'InvalidSha256Error';
  }
}

export class ArtifactNotFoundError extends ArtifactError {
  readonly code = 'NOT_FOUND';
  constructor(readonly sha256: string) {
    super(`artifact ${sha256} is not in the store`);
    this.name = 'ArtifactNotFoundError';
  }
}

/** The stream carried more than `maxBytes`; nothing was stored. */
export class ArtifactTooLargeError extends ArtifactError {
  readonly code = 'TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`artifact exceeds the limit of ${maxBytes} bytes`);
    this.name = 'ArtifactTooLargeError';
  }
}

/** The stream's length differs from `expectedSize`; nothing was stored. */
export class ArtifactSizeMismatchError extends ArtifactError {
  readonly code = 'SIZE_MISMATCH';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`artifact has ${actual} bytes, expected ${expected}`);
    this.name = 'ArtifactSizeMismatchError';
  }
}

/** The stream's digest differs from `expectedSha256`; nothing was stored. */
export class ArtifactSha256MismatchError extends ArtifactError {
  readonly code = 'SHA256_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`artifact has sha256 ${actual}, expected ${expected}`);
    this.name = 'ArtifactSha256MismatchError';
  }
}
