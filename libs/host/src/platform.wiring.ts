// Platform settings -> the clients every service needs. No Nest import here: main.ts uses this to start
// telemetry before anything else loads (`@aio/host/platform`).
import { TokenVerifier, isAllowed, resolveAuthSecret } from '@aio/auth';
import type { EnvConfig, PlatformEnvSpec } from '@aio/config';
import { createKafka, type EventPublisher, type EventsLogger } from '@aio/events';
import type { ServerAuth } from '@aio/grpc';
import type { OutboxEntry, OutboxPublish } from '@aio/mongo';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '@aio/telemetry';
import { createRegistry, fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { context, propagation } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';

export type PlatformConfig = EnvConfig<PlatformEnvSpec>;

export function telemetryOptionsFrom(config: PlatformConfig, serviceName: string, serviceVersion: string): TelemetryOptions {
  return {
    serviceName,
    serviceVersion,
    environment: config.AIO_ENVIRONMENT,
    export: config.AIO_TELEMETRY_EXPORT,
    search: {
      url: config.SEARCH_URL,
      username: config.SEARCH_USERNAME,
      password: config.SEARCH_PASSWORD,
      tlsInsecure: config.SEARCH_TLS_INSECURE,
    },
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    logLevel: config.LOG_LEVEL,
    tracesPerSecond: config.AIO_TRACES_PER_SECOND,
  };
}

export function kafkaFrom(config: PlatformConfig, clientId: string, logger: EventsLogger): Kafka {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  if (mechanism !== undefined && (username === undefined || password === undefined)) {
    throw new Error('KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required too');
  }
  return createKafka({
    brokers: [...config.KAFKA_BROKERS],
    clientId: config.KAFKA_CLIENT_ID ?? clientId,
    ssl: config.KAFKA_SSL,
    sasl: mechanism !== undefined && username !== undefined && password !== undefined ? { mechanism, username, password } : undefined,
    logger,
  });
}

/** JWT verification for gRPC and REST: the JWKS URL when set, else the HS256 secret (env or .infra/auth-secret). */
export function authFrom(config: PlatformConfig): ServerAuth & { verifier: TokenVerifier } {
  const secret = config.AIO_AUTH_JWKS_URL === undefined ? resolveAuthSecret(config.AIO_AUTH_SECRET) : undefined;
  if (config.AIO_AUTH_JWKS_URL === undefined && secret === undefined) {
    throw new Error(
      'no token verification configured: set AIO_AUTH_JWKS_URL (your identity provider) or AIO_AUTH_SECRET ' +
        '(`npm run up` creates .infra/auth-secret for the local default)',
    );
  }
  const verifier = TokenVerifier.fromOptions({
    secret,
    jwksUrl: config.AIO_AUTH_JWKS_URL,
    issuer: config.AIO_AUTH_ISSUER,
    audience: config.AIO_AUTH_AUDIENCE,
  });
  return { verifier, authorize: isAllowed };
}

/**
 * Publishes outbox entries with the event id, key and trace context that were fixed when the state
 * change was written, so a relayed event continues the trace of the request that caused it.
 */
export function outboxPublisher(publisher: EventPublisher, schemas: readonly DescMessage[], source: string): OutboxPublish {
  const registry = createRegistry(...schemas);
  return async (entry: OutboxEntry) => {
    const schema = registry.getMessage(entry.type);
    if (schema === undefined) throw new Error(`outbox entry ${entry.id}: no schema registered for type ${entry.type}`);
    const carrier: Record<string, string> = {};
    if (entry.traceparent !== undefined) carrier.traceparent = entry.traceparent;
    if (entry.tracestate !== undefined) carrier.tracestate = entry.tracestate;
    const parent = propagation.extract(context.active(), carrier);
    await context.with(parent, () =>
      publisher.publish(entry.topic, schema, fromBinary(schema, entry.payload), { key: entry.key, id: entry.id, source, time: entry.createdAt }),
    );
  };
}

export interface ServiceMainOptions<C extends PlatformConfig> {
  service: string;
  version: string;
  loadConfig: () => C;
  /** Loads the rest of the service (dynamic import, so it loads after telemetry) and starts it. */
  start: (config: C, telemetry: Telemetry) => Promise<unknown>;
}

/**
 * Every service's main: parse the environment (one line listing every bad variable, exit 1), start
 * telemetry before anything else loads, then the service; a failed start is logged and flushed.
 */
export async function serviceMain<C extends PlatformConfig>(opts: ServiceMainOptions<C>): Promise<void> {
  let config: C;
  try {
    config = opts.loadConfig();
  } catch (err) {
    process.stderr.write(`${opts.service}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const telemetry = await startTelemetry(telemetryOptionsFrom(config, opts.service, opts.version));
  try {
    await opts.start(config, telemetry);
  } catch (err) {
    telemetry.logger.error(`${opts.service} failed to start: ${err instanceof Error ? err.message : String(err)}`, {}, err);
    await telemetry.shutdown();
    process.exit(1);
  }
}
