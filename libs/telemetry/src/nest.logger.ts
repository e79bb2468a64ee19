import type { Logger } from './telemetry.logger.js';

/**
 * The shape of Nest's LoggerService, written out so this package needs no Nest dependency:
 * `app.useLogger(nestLogger(getLogger))` or `NestFactory.create(AppModule, { logger: ... })`.
 */
export interface NestLoggerLike {
  log(message: unknown, ...optionalParams: unknown[]): void;
  error(message: unknown, ...optionalParams: unknown[]): void;
  warn(message: unknown, ...optionalParams: unknown[]): void;
  debug(message: unknown, ...optionalParams: unknown[]): void;
  verbose(message: unknown, ...optionalParams: unknown[]): void;
  fatal(message: unknown, ...optionalParams: unknown[]): void;
}

const MAX_COMPONENTS = 256;

/**
 * Nest calls `log(message, context?)` and `error(message, stack?, context?)`; the context (a class
 * name such as `RoutesResolver`) becomes the component.
 */
export function nestLogger(getLogger: (component: string) => Logger, defaultComponent = 'nest'): NestLoggerLike {
  const loggers = new Map<string, Logger>();
  const loggerFor = (component: string): Logger => {
    let logger = loggers.get(component);
    if (!logger) {
      logger = getLogger(component);
      if (loggers.size < MAX_COMPONENTS) loggers.set(component, logger);
    }
    return logger;
  };
  const forward =
    (level: keyof Logger, withStack: boolean) =>
    (message: unknown, ...optionalParams: unknown[]): void => {
      const params = optionalParams.filter((param) => param !== undefined);
      const component =
        params.length > 0 && typeof params[params.length - 1] === 'string' && !looksLikeStack(params[params.length - 1])
          ? (params.pop() as string)
          : defaultComponent;
      let error: unknown = message instanceof Error ? message : undefined;
      if (withStack && typeof params[0] === 'string' && looksLikeStack(params[0])) {
        const stack = params.shift() as string;
        if (error === undefined) error = { message: textOf(message), stack };
      }
      const attributes = params.length > 0 ? { params: params.map(textOf) } : undefined;
      loggerFor(component)[level](textOf(message), attributes, error);
    };
  return {
    log: forward('info', false),
    error: forward('error', true),
    warn: forward('warn', false),
    debug: forward('debug', false),
    verbose: forward('debug', false),
    fatal: forward('error', true),
  };
}

function looksLikeStack(value: unknown): boolean {
  return typeof value === 'string' && /\n\s+at /.test(value);
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
