import { context, logs, SeverityNumber, trace, type Logger as OtelLogger } from '@opentelemetry/api';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogAttributes = Readonly<Record<string, unknown>>;

/**
 * The whole logging surface other packages need. Kept this small so a library can declare the same
 * shape itself and accept any implementation (this one, a test double, a console shim).
 */
export interface Logger {
  debug(message: string, attributes?: LogAttributes, error?: unknown): void;
  info(message: string, attributes?: LogAttributes, error?: unknown): void;
  warn(message: string, attributes?: LogAttributes, error?: unknown): void;
  error(message: string, attributes?: LogAttributes, error?: unknown): void;
}

export interface LogOutputOptions {
  readonly serviceName: string;
  readonly level: LogLevel;
  readonly stdout: boolean;
  /** One JSON object per line (for collectors) instead of a line for people; default: JSON unless stdout is a TTY. */
  readonly json?: boolean;
  /** Where lines go; default process.stdout. */
  readonly write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const SEVERITY: Record<LogLevel, SeverityNumber> = {
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};
// Components are code locations, a handful per service; the bound guards against names built from data.
const MAX_CACHED_LOGGERS = 256;

/** Turns one logger call into an OTel log record (correlated with the active span) and a stdout line. */
export class LogOutput {
  readonly #options: Required<Omit<LogOutputOptions, 'json'>> & { json: boolean };
  readonly #otelLoggers = new Map<string, OtelLogger>();

  constructor(options: LogOutputOptions) {
    this.#options = {
      ...options,
      json: options.json ?? !process.stdout.isTTY,
      write: options.write ?? ((line) => process.stdout.write(line)),
    };
  }

  get serviceName(): string {
    return this.#options.serviceName;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.#options.level];
  }

  emit(component: string, level: LogLevel, message: string, attributes: LogAttributes | undefined, error: unknown): void {
    if (!this.enabled(level)) return;
    const active = context.active();
    const now = new Date();
    this.#otelLogger(component).emit({
      timestamp: now,
      severityNumber: SEVERITY[level],
      severityText: level,
      body: message,
      ...(attributes ? { attributes } : {}),
      ...(error !== undefined ? { exception: error } : {}),
      context: active,
    });
    if (!this.#options.stdout) return;
    const span = trace.getSpanContext(active);
    const line = this.#options.json
      ? jsonLine(now, level, this.#options.serviceName, component, message, attributes, error, span?.traceId, span?.spanId)
      : readableLine(now, level, component, message, attributes, error, span?.traceId);
    this.#options.write(line);
  }

  /** A notice about telemetry itself: stdout only, so it cannot loop back into the exporters it describes. */
  notice(level: LogLevel, message: string, attributes: LogAttributes): void {
    if (!this.#options.stdout && level !== 'warn' && level !== 'error') return;
    const now = new Date();
    const component = '@aio/telemetry';
    this.#options.write(
      this.#options.json
        ? jsonLine(now, level, this.#options.serviceName, component, message, attributes, undefined, undefined, undefined)
        : readableLine(now, level, component, message, attributes, undefined, undefined),
    );
  }

  #otelLogger(component: string): OtelLogger {
    let logger = this.#otelLoggers.get(component);
    if (!logger) {
      logger = logs.getLogger(component);
      if (this.#otelLoggers.size < MAX_CACHED_LOGGERS) this.#otelLoggers.set(component, logger);
    }
    return logger;
  }
}

// Loggers look the output up at call time, so one made before startTelemetry() logs properly after it.
let current = new LogOutput({ serviceName: 'unknown_service', level: 'info', stdout: true });

export function setLogOutput(output: LogOutput): void {
  current = output;
}

export function currentLogOutput(): LogOutput {
  return current;
}

/** A logger for one component (a module, a class): its name becomes `log.logger`. */
export function getLogger(component: string): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, attributes?: LogAttributes, error?: unknown): void => {
      try {
        current.emit(component, level, message, attributes, error);
      } catch {
        // Logging must never break the caller; a record that cannot be written is simply lost.
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function jsonLine(
  time: Date,
  level: LogLevel,
  service: string,
  component: string,
  message: string,
  attributes: LogAttributes | undefined,
  error: unknown,
  traceId: string | undefined,
  spanId: string | undefined,
): string {
  const record: Record<string, unknown> = {
    ...attributes,
    '@timestamp': time.toISOString(),
    'log.level': level,
    'service.name': service,
    'log.logger': component,
    message,
    ...(traceId ? { 'trace.id': traceId, 'span.id': spanId } : {}),
    ...errorFields(error),
  };
  return `${safeJson(record)}\n`;
}

function readableLine(
  time: Date,
  level: LogLevel,
  component: string,
  message: string,
  attributes: LogAttributes | undefined,
  error: unknown,
  traceId: string | undefined,
): string {
  const parts = [time.toISOString().slice(11, 23), level.toUpperCase().padEnd(5), `[${component}]`, message];
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined) parts.push(`${key}=${typeof value === 'string' ? quoteIfNeeded(value) : safeJson(value)}`);
  }
  if (traceId) parts.push(`trace=${traceId}`);
  const fields = errorFields(error);
  if (fields['error.stack_trace'] !== undefined) return `${parts.join(' ')}\n${fields['error.stack_trace']}\n`;
  if (fields['error.message'] !== undefined) parts.push(`error=${quoteIfNeeded(fields['error.message'])}`);
  return `${parts.join(' ')}\n`;
}

interface ErrorFields {
  'error.type'?: string;
  'error.message'?: string;
  'error.stack_trace'?: string;
}

function errorFields(error: unknown): ErrorFields {
  if (error === undefined || error === null) return {};
  if (error instanceof Error) {
    return { 'error.type': error.name, 'error.message': error.message, ...(error.stack ? { 'error.stack_trace': error.stack } : {}) };
  }
  return { 'error.message': typeof error === 'string' ? error : safeJson(error) };
}

function quoteIfNeeded(text: string): string {
  return /[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text;
}

function safeJson(value: unknown): string {
  // Cycles become a marker instead of costing the whole line; bigint is written as a string.
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, inner: unknown) => {
        if (typeof inner === 'bigint') return inner.toString();
        if (typeof inner === 'object' && inner !== null) {
          if (seen.has(inner)) return '[circular]';
          seen.add(inner);
        }
        return inner;
      }) ?? 'undefined'
    );
  } catch {
    return '"[unserializable]"';
  }
}
