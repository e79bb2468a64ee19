import { ConfigError, type ConfigIssue } from './config.error.js';
import { redactUrl, type Field } from './env.field.js';

export type EnvSpec = Readonly<Record<string, Field<unknown>>>;

/** The typed object `parseEnv` returns for a spec: one property per variable, typed by its field. */
export type EnvConfig<S extends EnvSpec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export type EnvSource = Readonly<Record<string, string | undefined>>;

/**
 * Reads every variable in `spec` from `env`. Blank values count as unset, so `FOO=` in a compose file
 * falls back to the default instead of failing as an empty string. Throws one `ConfigError` listing
 * every problem.
 */
export function parseEnv<const S extends EnvSpec>(spec: S, env: EnvSource = process.env): EnvConfig<S> {
  const out: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const [name, field] of Object.entries(spec)) {
    const value = env[name];
    const raw = value === undefined || value.trim() === '' ? undefined : value.trim();
    const result = field.parse(raw);
    if (result.ok) {
      out[name] = result.value;
    } else {
      issues.push({ name, rule: result.rule, received: raw === undefined ? undefined : shown(raw, field.secret) });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  // Every key of the spec was assigned a value its field produced, which is what EnvConfig<S> says.
  return out as EnvConfig<S>;
}

function shown(raw: string, secret: boolean): string {
  // A malformed URL may still carry a password, so URL-shaped values are redacted too.
  return secret ? `a hidden value of ${raw.length} characters` : JSON.stringify(redactUrl(raw));
}

/** One line for the startup log: `NAME=value` pairs in spec order, secrets as `***`, URL passwords masked. */
export function describeConfig<S extends EnvSpec>(config: EnvConfig<S>, spec: S): string {
  return Object.entries(spec)
    .map(([name, field]) => {
      const value: unknown = (config as Readonly<Record<string, unknown>>)[name];
      return `${name}=${field.secret && value !== undefined ? '***' : field.show(value)}`;
    })
    .join(' ');
}
