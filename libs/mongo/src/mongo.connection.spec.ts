import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { connectMongo, redactMongoUri } from './mongo.connection.js';
import type { MongoLogger } from './mongo.logger.js';

function recordingLogger(): MongoLogger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('redactMongoUri', () => {
  it('hides the password only', () => {
    expect(redactMongoUri('mongodb://app:s3cr%40t@db1:27017,db2:27017/aio?replicaSet=rs')).toBe('mongodb://app:***@db1:27017,db2:27017/aio?replicaSet=rs');
    expect(redactMongoUri('mongodb+srv://app:pw@cluster.example.net')).toBe('mongodb+srv://app:***@cluster.example.net');
    expect(redactMongoUri('mongodb://127.0.0.1:27017')).toBe('mongodb://127.0.0.1:27017');
  });
});

describe('connectMongo', () => {
  it('retries, then fails with the address (no password) and the socket error', async () => {
    const port = await closedPort();
    const logger = recordingLogger();
    const started = Date.now();
    const attempt = connectMongo({
      uri: `mongodb://app:hunter2@127.0.0.1:${port}`,
      dbName: 'x',
      logger,
      serverSelectionTimeoutMs: 200,
      attempts: 2,
      retryDelayMs: 10,
    });
    await expect(attempt).rejects.toThrow(`cannot reach MongoDB at mongodb://app:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (gave up after 2 attempts`);
    await attempt.catch((err: unknown) => expect(String(err)).not.toContain('hunter2'));
    expect(logger.lines).toEqual(['warn mongodb not reachable yet, retrying']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops retrying when start-up is aborted', async () => {
    const port = await closedPort();
    const controller = new AbortController();
    const attempt = connectMongo({
      uri: `mongodb://127.0.0.1:${port}`,
      dbName: 'x',
      logger: recordingLogger(),
      serverSelectionTimeoutMs: 100,
      attempts: 100,
      retryDelayMs: 60_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 300);
    await expect(attempt).rejects.toThrow(/start-up aborted/);
  });
});
