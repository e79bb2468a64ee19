import { setTimeout as sleep } from 'node:timers/promises';
import mongoose, { type Connection } from 'mongoose';
import type { MongoLogger } from './mongo.logger.js';

export interface ConnectMongoOptions {
  uri: string;
  /** Each service owns one database; it is chosen here, never in the URI's path. */
  dbName: string;
  logger: MongoLogger;
  /** Shown in the server's logs and currentOp; use the service name. */
  appName?: string;
  /** How long one attempt waits for a usable server. Default 5 s. */
  serverSelectionTimeoutMs?: number;
  /** Attempts before giving up at start. Default 6 (about 30 s with the default backoff). */
  attempts?: number;
  /** First retry delay, doubled per attempt up to 5 s. Default 500 ms. */
  retryDelayMs?: number;
  /** Aborts the start-up retries (shutdown requested while the database is still unreachable). */
  signal?: AbortSignal;
}

/** `mongodb://user:secret@host` -> `mongodb://user:***@host`, for logs and errors. */
export function redactMongoUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/**
 * Opens a dedicated connection (not mongoose's global one, so two libraries in one process cannot
 * step on each other). autoIndex is off because mongoose would build every schema index including
 * kinds FerretDB rejects; call `ensureIndexes(model)` instead. autoCreate is off: collections appear
 * on first write, and start-up does not depend on createCollection options a server may not have.
 */
export async function connectMongo(options: ConnectMongoOptions): Promise<Connection> {
  const attempts = Math.max(1, options.attempts ?? 6);
  const where = redactMongoUri(options.uri);
  let delay = options.retryDelayMs ?? 500;
  for (let attempt = 1; ; attempt += 1) {
    const connection = mongoose.createConnection(options.uri, {
      dbName: options.dbName,
      appName: options.appName,
      autoIndex: false,
      autoCreate: false,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
    });
    try {
      await connection.asPromise();
      options.logger.info('mongodb connected', { uri: where, db: options.dbName, attempt });
      watch(connection, options.logger, where);
      return connection;
    } catch (err) {
      await connection.close(true).catch(() => undefined);
      const reason = describeConnectError(err);
      if (attempt >= attempts || options.signal?.aborted) {
        throw new Error(`cannot reach MongoDB at ${where}: ${reason} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}; is the server running? \`pnpm infra:status\`)`, {
          cause: err,
        });
      }
      options.logger.warn('mongodb not reachable yet, retrying', { uri: where, attempt, attempts, retryInMs: delay, reason });
      try {
        await sleep(delay, undefined, { signal: options.signal });
      } catch {
        throw new Error(`cannot reach MongoDB at ${where}: ${reason} (start-up aborted)`, { cause: err });
      }
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** Closes the connection, waiting for in-flight operations; safe to call twice. */
export async function disconnectMongo(connection: Connection, logger: MongoLogger): Promise<void> {
  if (connection.readyState === mongoose.ConnectionStates.disconnected) return;
  closing.add(connection);
  await connection.close();
  logger.info('mongodb disconnected', { db: connection.name });
}

// Connections being closed on purpose: their 'disconnected' event is not an outage.
const closing = new WeakSet<Connection>();

function watch(connection: Connection, logger: MongoLogger, where: string): void {
  // The driver reconnects by itself; these lines tell an operator why requests are failing meanwhile.
  connection.on('disconnected', () => {
    if (!closing.has(connection)) logger.warn('mongodb connection lost; the driver keeps retrying', { uri: where });
  });
  connection.on('reconnected', () => logger.info('mongodb connection restored', { uri: where }));
  connection.on('error', (err: unknown) => logger.error('mongodb connection error', { uri: where }, err));
}

/** The driver's server-selection error hides the socket error a few levels down; dig it out. */
export function describeConnectError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const reason: unknown = (err as { reason?: unknown }).reason;
  if (typeof reason === 'object' && reason !== null && 'servers' in reason && reason.servers instanceof Map) {
    for (const server of reason.servers.values() as Iterable<unknown>) {
      const inner: unknown = typeof server === 'object' && server !== null && 'error' in server ? server.error : undefined;
      if (inner instanceof Error) return inner.message;
    }
  }
  return err.message;
}

export interface MongoServerInfo {
  kind: 'ferretdb' | 'mongodb';
  /** The MongoDB version the server reports (FerretDB 1.24 says 7.0.x). */
  version: string;
}

/** Tells FerretDB from MongoDB (FerretDB adds `ferretdbVersion` to buildInfo), e.g. to enable WriteLocks. */
export async function detectServer(connection: Connection): Promise<MongoServerInfo> {
  const info = await connection.db?.admin().command({ buildInfo: 1 });
  if (info === undefined) throw new Error('detectServer: the connection is not open');
  return { kind: 'ferretdbVersion' in info ? 'ferretdb' : 'mongodb', version: String(info['version']) };
}
