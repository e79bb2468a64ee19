// Support for integration tests of services (exported as `@aio/host/testing`): one service started
// in-process on the real local servers with its own topic prefix and database, and the small waits
// and assertions every such test needs. Test code only: services never import it.
import { randomBytes } from 'node:crypto';
import { mintToken, type Role } from '@aio/auth';
import { createKafka } from '@aio/events';
import { GrpcError } from '@aio/grpc';
import { startTelemetry, type Telemetry } from '@aio/telemetry';
import mongoose from 'mongoose';
import type { ServiceConfig } from './platform.runner.js';
import type { RunningService } from './service.bootstrap.js';

/** Waits for `probe` to answer something other than undefined, checking every `everyMs`; fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The GrpcError a call rejects with; fails when it succeeds or rejects with anything else. */
export async function grpcFailure(call: Promise<unknown>): Promise<GrpcError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof GrpcError) return err;
    throw err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export interface ServiceUnderTest<C extends ServiceConfig> {
  config: C;
  running: RunningService;
  telemetry: Telemetry;
  /** This run's topic prefix: every topic the service uses starts with `<prefix>.`. */
  prefix: string;
  grpcAddress: string;
  httpBase: string;
  /** A token the service accepts, for these roles. */
  token(roles: Role[], subject?: string): Promise<string>;
  /** Stops the service, drops its database and deletes its topics. */
  stop(): Promise<void>;
}

export interface StartForTestOptions<C extends ServiceConfig> {
  name: string;
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  start: (config: C, telemetry: Telemetry, opts: { handleSignals?: boolean }) => Promise<RunningService>;
  /** Extra variables (they win over the test defaults). */
  env?: Record<string, string>;
}

/** Starts a service in-process on ports 0 with a fresh topic prefix, database and auth secret. */
export async function startForTest<C extends ServiceConfig>(opts: StartForTestOptions<C>): Promise<ServiceUnderTest<C>> {
  const run = randomBytes(4).toString('hex');
  const prefix = `it-${opts.name}-${run}`;
  const secret = `it-secret-${randomBytes(24).toString('hex')}`;
  const config = opts.loadConfig({
    ...process.env,
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    AIO_AUTH_SECRET: secret,
    AIO_TOPIC_PREFIX: prefix,
    AIO_DATABASE: `aio_${opts.name.replace(/-/g, '_')}_it_${run}`,
    AIO_TELEMETRY_EXPORT: 'none',
    LOG_LEVEL: 'warn',
    ...opts.env,
  });
  const telemetry = await startTelemetry({ serviceName: opts.name, serviceVersion: 'test', export: 'none', logLevel: 'warn', logToStdout: false });
  const running = await opts.start(config, telemetry, { handleSignals: false });
  return {
    config,
    running,
    telemetry,
    prefix,
    grpcAddress: `127.0.0.1:${running.grpcPort}`,
    httpBase: `http://127.0.0.1:${running.httpPort}`,
    token: (roles, subject = 'tester') => mintToken({ secret, subject, roles, issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE }),
    async stop() {
      await running.stop();
      // After the stop, so nothing the service still had in flight recreates a collection.
      const mongo = await mongoose.createConnection(config.MONGODB_URI, { dbName: config.AIO_DATABASE }).asPromise();
      try {
        await mongo.dropDatabase();
      } finally {
        await mongo.close();
      }
      const admin = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `${prefix}-cleanup` }).admin();
      await admin.connect();
      try {
        const ours = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
        if (ours.length > 0) await admin.deleteTopics({ topics: ours });
      } finally {
        await admin.disconnect();
      }
    },
  };
}
