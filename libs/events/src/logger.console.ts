/** The structural logger every part of this lib writes to; services pass their own (pino, OTel logs, ...). */
export interface EventsLogger {
  debug(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
  info(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
  warn(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
  error(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Console-backed default. Debug is dropped unless asked for: the consumer logs every skipped
 * duplicate at debug and a busy topic would drown the console.
 */
export function consoleLogger(minLevel: Level = 'info'): EventsLogger {
  const at = (level: Level) => (msg: string, attrs?: Record<string, unknown>, err?: unknown) => {
    if (order[level] < order[minLevel]) return;
    const args: unknown[] = [`[aio/events] ${msg}`];
    if (attrs !== undefined && Object.keys(attrs).length > 0) args.push(attrs);
    if (err !== undefined) args.push(err);
    console[level](...args);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
