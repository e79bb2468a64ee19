/** A mistake in how the command was called: usage is printed and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Something the user can fix that is not a usage mistake (missing file, no token): exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}
