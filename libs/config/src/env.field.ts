// Field builders: each one knows how to turn one raw environment string into a typed value, and what
// rule to print when it cannot. The value type rides on `Field<T>` so `parseEnv` can infer the config.

export type FieldResult<T> = { ok: true; value: T } | { ok: false; rule: string };

export interface Field<T> {
  /** Human-readable rule, printed in errors and docs ("integer between 1 and 65535"). */
  readonly rule: string;
  /** Secrets are never printed: not in errors, not in `describeConfig`. */
  readonly secret: boolean;
  /** `raw` is undefined when the variable is unset or blank. */
  parse(raw: string | undefined): FieldResult<T>;
  /** How the parsed value is shown in a startup log line (secrets are masked before this is called). */
  show(value: T): string;
}

const MISSING = 'is required but not set';

function ok<T>(value: T): FieldResult<T> {
  return { ok: true, value };
}

function fail<T>(rule: string): FieldResult<T> {
  return { ok: false, rule };
}

function showPlain(value: string | number | boolean | readonly string[] | undefined): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

function withDefault(
  rule: string,
  fallback: { has: boolean; value?: string | number | boolean | readonly string[]; optional?: boolean },
): string {
  if (fallback.has) return `${rule} (default ${showPlain(fallback.value)})`;
  return fallback.optional ? `${rule} (optional)` : rule;
}

// --- str -------------------------------------------------------------------------------------------

export function str(options: { optional: true }): Field<string | undefined>;
export function str(options?: { default?: string; optional?: false }): Field<string>;
export function str(options: { default?: string; optional?: boolean } = {}): Field<string | undefined> {
  const has = options.default !== undefined;
  return {
    rule: withDefault('string', { has, value: options.default, optional: options.optional }),
    secret: false,
    parse: (raw) => {
      if (raw !== undefined) return ok(raw);
      if (has || options.optional) return ok(options.default);
      return fail(`string ${MISSING}`);
    },
    show: showPlain,
  };
}

// --- int / port ------------------------------------------------------------------------------------

interface IntOptions {
  default?: number;
  min?: number;
  max?: number;
}

function intRule(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `integer between ${min} and ${max}`;
  if (min !== undefined) return `integer >= ${min}`;
  if (max !== undefined) return `integer <= ${max}`;
  return 'integer';
}

export function int(options: IntOptions & { optional: true }): Field<number | undefined>;
export function int(options?: IntOptions & { optional?: false }): Field<number>;
export function int(options: IntOptions & { optional?: boolean } = {}): Field<number | undefined> {
  const { min, max } = options;
  const rule = intRule(min, max);
  const has = options.default !== undefined;
  if (has && !isIntIn(options.default, min, max)) {
    // A bad default is a programming error in the spec, not the operator's fault: fail loudly at import.
    throw new TypeError(`int(): default ${options.default} does not satisfy "${rule}"`);
  }
  return {
    rule: withDefault(rule, { has, value: options.default, optional: options.optional }),
    secret: false,
    parse: (raw) => {
      if (raw === undefined) {
        if (has || options.optional) return ok(options.default);
        return fail(`${rule} ${MISSING}`);
      }
      // Number('') is 0 and Number('1e3') is 1000: accept only plain decimal digits.
      if (!/^[+-]?\d+$/.test(raw)) return fail(rule);
      const value = Number(raw);
      return isIntIn(value, min, max) ? ok(value) : fail(rule);
    },
    show: showPlain,
  };
}

function isIntIn(value: number | undefined, min: number | undefined, max: number | undefined): boolean {
  if (value === undefined || !Number.isSafeInteger(value)) return false;
  return (min === undefined || value >= min) && (max === undefined || value <= max);
}

/** A TCP port. 0 is allowed: it asks the OS for a free port, which tests rely on. */
export function port(options: { default: number }): Field<number> {
  return int({ default: options.default, min: 0, max: 65535 });
}

// --- bool ------------------------------------------------------------------------------------------

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export function bool(options: { default: boolean }): Field<boolean> {
  const rule = 'boolean (true/false/1/0/yes/no)';
  return {
    rule: withDefault(rule, { has: true, value: options.default }),
    secret: false,
    parse: (raw) => {
      if (raw === undefined) return ok(options.default);
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return ok(true);
      if (FALSE.has(v)) return ok(false);
      return fail(rule);
    },
    show: showPlain,
  };
}

// --- oneOf -----------------------------------------------------------------------------------------

export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  options: { optional: true },
): Field<V[number] | undefined>;
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  options?: { default?: V[number]; optional?: false },
): Field<V[number]>;
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  options: { default?: V[number]; optional?: boolean } = {},
): Field<V[number] | undefined> {
  const rule = `one of ${values.join('|')}`;
  const has = options.default !== undefined;
  const allowed = new Set<string>(values);
  const isValue = (v: string): v is V[number] => allowed.has(v);
  return {
    rule: withDefault(rule, { has, value: options.default, optional: options.optional }),
    secret: false,
    parse: (raw) => {
      if (raw === undefined) {
        if (has || options.optional) return ok(options.default);
        return fail(`${rule} ${MISSING}`);
      }
      return isValue(raw) ? ok(raw) : fail(rule);
    },
    show: showPlain,
  };
}

// --- url -------------------------------------------------------------------------------------------

interface UrlOptions {
  default?: string;
  /** Allowed schemes without the colon, e.g. ['http', 'https']. Any scheme when omitted. */
  protocols?: readonly string[];
}

// WHATWG URL rejects MongoDB seed lists (`mongodb://a:27017,b:27017/db`), so the authority is split
// here and each host checked on its own.
const URL_SHAPE = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]*)(.*)$/i;

function checkUrl(raw: string, protocols: readonly string[] | undefined): boolean {
  const m = URL_SHAPE.exec(raw);
  if (!m) return false;
  const scheme = (m[1] ?? '').toLowerCase();
  if (protocols && !protocols.includes(scheme)) return false;
  const hosts = (m[3] ?? '').split(',');
  if (hosts.some((h) => h.length === 0)) return false;
  try {
    for (const host of hosts) {
      const u = new URL(`http://${host}`);
      if (u.hostname.length === 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Replaces the password in `scheme://user:password@host` with `***`, so URLs can be logged. */
export function redactUrl(value: string): string {
  const m = URL_SHAPE.exec(value);
  if (!m || m[2] === undefined || !m[2].includes(':')) return value;
  const user = m[2].slice(0, m[2].indexOf(':'));
  return `${m[1]}://${user}:***@${m[3]}${m[4]}`;
}

export function url(options: UrlOptions & { optional: true }): Field<string | undefined>;
export function url(options?: UrlOptions & { optional?: false }): Field<string>;
export function url(options: UrlOptions & { optional?: boolean } = {}): Field<string | undefined> {
  const rule = options.protocols ? `URL (${options.protocols.map((p) => `${p}://`).join(' or ')})` : 'URL';
  const has = options.default !== undefined;
  if (has && !checkUrl(options.default ?? '', options.protocols)) {
    throw new TypeError(`url(): default ${options.default} does not satisfy "${rule}"`);
  }
  return {
    rule: withDefault(rule, { has, value: options.default, optional: options.optional }),
    secret: false,
    parse: (raw) => {
      if (raw === undefined) {
        if (has || options.optional) return ok(options.default);
        return fail(`${rule} ${MISSING}`);
      }
      return checkUrl(raw, options.protocols) ? ok(raw) : fail(rule);
    },
    show: (value) => (value === undefined ? '(unset)' : redactUrl(value)),
  };
}

// --- list ------------------------------------------------------------------------------------------

export function list(options: { default: readonly string[]; separator?: string }): Field<string[]> {
  const separator = options.separator ?? ',';
  const rule = `list separated by "${separator}"`;
  return {
    rule: withDefault(rule, { has: true, value: options.default }),
    secret: false,
    parse: (raw) => {
      if (raw === undefined) return ok([...options.default]);
      const items = raw
        .split(separator)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return items.length > 0 ? ok(items) : fail(`${rule} with at least one item`);
    },
    show: showPlain,
  };
}

// --- secret ----------------------------------------------------------------------------------------

export function secret(options: { optional: true }): Field<string | undefined>;
export function secret(options?: { optional?: false }): Field<string>;
export function secret(options: { optional?: boolean } = {}): Field<string | undefined> {
  return {
    rule: options.optional ? 'secret (optional)' : 'secret',
    secret: true,
    parse: (raw) => {
      if (raw !== undefined) return ok(raw);
      return options.optional ? ok(undefined) : fail(`secret ${MISSING}`);
    },
    show: (value) => (value === undefined ? '(unset)' : '***'),
  };
}
