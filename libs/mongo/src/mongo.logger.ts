/** The structural logger this lib writes to; services pass their own. */
export interface MongoLogger {
  debug(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
  info(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
  warn(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
  error(msg: string, attrs?: Record<string, unknown>, err?: unknown): void;
}

/** For callers that really want silence (tests); services should always pass a logger. */
export const silentLogger: MongoLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
