import { int, parseEnv, platformEnvSpec, port, str, type EnvConfig, type Field } from '@aio/config';

/** A decimal number in [min, max] (@aio/config has integers only; thresholds are fractions). */
export function decimal(options: { default: number; min: number; max: number; exclusiveMin?: boolean }): Field<number> {
  const { min, max } = options;
  const rule = `number ${options.exclusiveMin === true ? '>' : '>='} ${min} and <= ${max} (default ${options.default})`;
  const fits = (v: number): boolean => Number.isFinite(v) && (options.exclusiveMin === true ? v > min : v >= min) && v <= max;
  if (!fits(options.default)) throw new TypeError(`decimal(): default ${options.default} does not satisfy "${rule}"`);
  return {
    rule,
    secret: false,
    parse: (raw) => {
      if (raw === undefined) return { ok: true, value: options.default };
      // Number('') is 0 and Number('0x10') is 16: accept plain decimals only.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim())) return { ok: false, rule };
      const value = Number(raw);
      return fits(value) ? { ok: true, value } : { ok: false, rule };
    },
    show: String,
  };
}

export const monitorEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50054 }),
  HTTP_PORT: port({ default: 8104 }),
  // Tests point this at a database of their own.
  AIO_DATABASE: str({ default: 'aio_monitor' }),
  // The sliding window kept in memory per model version; longer health queries are clamped to it.
  MONITOR_WINDOW_SECONDS: int({ default: 300, min: 10, max: 86_400 }),
  // Latency samples and input rows kept per version over the window (uniform reservoirs).
  MONITOR_MAX_SAMPLES: int({ default: 10_000, min: 60, max: 1_000_000 }),
  // Model versions held in memory; the least recently served is forgotten beyond this.
  MONITOR_MAX_VERSIONS: int({ default: 100, min: 1, max: 10_000 }),
  // Predictions remembered by request id, waiting for their feedback label.
  MONITOR_MAX_PENDING_LABELS: int({ default: 100_000, min: 1, max: 10_000_000 }),
  MONITOR_PSI_THRESHOLD: decimal({ default: 0.2, min: 0, max: 100, exclusiveMin: true }),
  MONITOR_KS_PVALUE: decimal({ default: 0.01, min: 0, max: 1, exclusiveMin: true }),
  // Live values a feature needs in the window before its scores can count as drift.
  MONITOR_MIN_SAMPLES: int({ default: 200, min: 1 }),
  MONITOR_DRIFT_COOLDOWN_SECONDS: int({ default: 600, min: 0 }),
  MONITOR_ERROR_RATE_THRESHOLD: decimal({ default: 0.05, min: 0, max: 1 }),
  MONITOR_P99_LATENCY_MS: decimal({ default: 1000, min: 0, max: 3_600_000, exclusiveMin: true }),
  // Requests a version needs in the window before the error-rate and latency rules judge it.
  MONITOR_MIN_REQUESTS: int({ default: 20, min: 1 }),
  MONITOR_ALERT_COOLDOWN_SECONDS: int({ default: 600, min: 0 }),
  // How often windows are scored, rules applied, snapshots persisted and gauges refreshed.
  MONITOR_EVALUATE_SECONDS: int({ default: 15, min: 1, max: 3_600 }),
};

export type MonitorConfig = EnvConfig<typeof monitorEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  return parseEnv(monitorEnvSpec, env);
}
