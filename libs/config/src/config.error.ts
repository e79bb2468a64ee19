export interface ConfigIssue {
  /** The environment variable, e.g. `KAFKA_BROKERS`. */
  readonly name: string;
  /** The rule it broke, e.g. `integer between 0 and 65535`. */
  readonly rule: string;
  /** What was received, already masked for secrets; undefined when the variable was not set. */
  readonly received: string | undefined;
}

/** Thrown by `parseEnv` with every bad or missing variable at once, so one restart fixes them all. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(ConfigError.format(issues));
  }

  private static format(issues: readonly ConfigIssue[]): string {
    const lines = issues.map((i) => {
      const got = i.received === undefined ? 'not set' : `received ${i.received}`;
      return `  - ${i.name}: expected ${i.rule}; ${got}`;
    });
    const noun = issues.length === 1 ? 'variable' : 'variables';
    return `Invalid environment: ${issues.length} ${noun} to fix\n${lines.join('\n')}`;
  }
}
