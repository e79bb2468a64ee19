import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectMongo, disconnectMongo } from '../src/mongo.connection.js';
import { silentLogger } from '../src/mongo.logger.js';

export const mongoUri = process.env['MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017';

/** A connection to a database of its own, so test files never see each other's data. */
export async function openTestDatabase(label: string): Promise<Connection> {
  const dbName = `aio_test_${label}_${randomBytes(4).toString('hex')}`;
  return connectMongo({ uri: mongoUri, dbName, logger: silentLogger, appName: 'aio-mongo-tests', attempts: 3, serverSelectionTimeoutMs: 3_000 });
}

export async function dropTestDatabase(connection: Connection | undefined): Promise<void> {
  if (connection === undefined) return;
  await connection.dropDatabase();
  await disconnectMongo(connection, silentLogger);
}
