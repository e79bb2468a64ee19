import type { SearchConnectionOptions } from './search.client.js';
import type { LogLevel } from './telemetry.logger.js';

export type TelemetryExport = 'search' | 'otlp' | 'both' | 'none';

export interface TelemetryOptions {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** `deployment.environment.name` / ECS `service.environment`, e.g. "local", "production". */
  readonly environment?: string;
  /** Where spans and log records go; metrics are always served by metricsText(). */
  readonly export: TelemetryExport;
  /** Required when export is 'search' or 'both'. */
  readonly search?: SearchConnectionOptions;
  /** OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); `/v1/traces` and `/v1/logs` are appended. Required for 'otlp' and 'both'. */
  readonly otlpEndpoint?: string;
  readonly logLevel: LogLevel;
  /** Records held per signal and exporter while the backend is slow or down; default 10 000. */
  readonly maxQueueSize?: number;
  /** How often batches are sent; default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Also print each log line to stdout; default true. */
  readonly logToStdout?: boolean;
  /** Upper bound on shutdown(); default 5000 ms. */
  readonly shutdownTimeoutMs?: number;
  /**
   * New traces (requests without a sampled caller) recorded per second; traces a caller sampled are
   * always continued. Default 100; 0 = every trace.
   */
  readonly tracesPerSecond?: number;
}

export interface ResolvedTelemetryOptions extends Required<Omit<TelemetryOptions, 'search' | 'otlpEndpoint' | 'environment'>> {
  readonly environment: string | undefined;
  readonly search: SearchConnectionOptions | undefined;
  readonly otlpEndpoint: string | undefined;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const EXPORTS: readonly TelemetryExport[] = ['search', 'otlp', 'both', 'none'];

/** Fills defaults and fails once, naming every bad option. */
export function resolveTelemetryOptions(options: TelemetryOptions): ResolvedTelemetryOptions {
  const problems: string[] = [];
  if (!options.serviceName.trim()) problems.push('serviceName must not be empty');
  if (!EXPORTS.includes(options.export)) problems.push(`export must be one of ${EXPORTS.join(', ')}`);
  if (!LEVELS.includes(options.logLevel)) problems.push(`logLevel must be one of ${LEVELS.join(', ')}`);
  const wantsSearch = options.export === 'search' || options.export === 'both';
  const wantsOtlp = options.export === 'otlp' || options.export === 'both';
  if (wantsSearch && !isHttpUrl(options.search?.url)) problems.push(`search.url must be an http(s) URL when export is '${options.export}'`);
  if (wantsOtlp && !isHttpUrl(options.otlpEndpoint)) problems.push(`otlpEndpoint must be an http(s) URL when export is '${options.export}'`);
  const maxQueueSize = options.maxQueueSize ?? 10_000;
  if (!Number.isInteger(maxQueueSize) || maxQueueSize < 1) problems.push('maxQueueSize must be a positive integer');
  const flushIntervalMs = options.flushIntervalMs ?? 1_000;
  if (!(flushIntervalMs > 0)) problems.push('flushIntervalMs must be positive');
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5_000;
  if (!(shutdownTimeoutMs > 0)) problems.push('shutdownTimeoutMs must be positive');
  const tracesPerSecond = options.tracesPerSecond ?? 100;
  if (!(tracesPerSecond >= 0)) problems.push('tracesPerSecond must be 0 or more');
  if (problems.length > 0) throw new Error(`invalid telemetry options: ${problems.join('; ')}`);
  return {
    serviceName: options.serviceName.trim(),
    serviceVersion: options.serviceVersion,
    environment: options.environment,
    export: options.export,
    search: wantsSearch ? options.search : undefined,
    otlpEndpoint: wantsOtlp ? options.otlpEndpoint?.replace(/\/+$/, '') : undefined,
    logLevel: options.logLevel,
    maxQueueSize,
    flushIntervalMs,
    logToStdout: options.logToStdout ?? true,
    shutdownTimeoutMs,
    tracesPerSecond,
  };
}

function isHttpUrl(value: string | undefined): boolean {
  if (!value) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
