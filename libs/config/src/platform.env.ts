import { bool, int, list, oneOf, secret, str, url } from './env.field.js';

/**
 * The variables every service shares. Spread into a service's own spec, which adds its ports
 * (`GRPC_PORT: port({ default: 50051 })`, `HTTP_PORT: ...`) because their defaults differ per service.
 */
export const platformEnvSpec = {
  KAFKA_BROKERS: list({ default: ['127.0.0.1:9092'] }),
  KAFKA_CLIENT_ID: str({ optional: true }),
  KAFKA_SSL: bool({ default: false }),
  KAFKA_SASL_MECHANISM: oneOf(['plain', 'scram-sha-256', 'scram-sha-512'], { optional: true }),
  KAFKA_SASL_USERNAME: str({ optional: true }),
  KAFKA_SASL_PASSWORD: secret({ optional: true }),
  AIO_TOPIC_PREFIX: str({ default: 'aio' }),
  MONGODB_URI: url({ default: 'mongodb://127.0.0.1:27017', protocols: ['mongodb', 'mongodb+srv'] }),
  SEARCH_URL: url({ default: 'http://127.0.0.1:9200', protocols: ['http', 'https'] }),
  SEARCH_USERNAME: str({ optional: true }),
  SEARCH_PASSWORD: secret({ optional: true }),
  SEARCH_TLS_INSECURE: bool({ default: false }),
  AIO_TELEMETRY_EXPORT: oneOf(['search', 'otlp', 'both', 'none'], { default: 'search' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: url({ optional: true, protocols: ['http', 'https'] }),
  // New traces recorded per second per process (traces a caller sampled are always continued); 0 = all.
  AIO_TRACES_PER_SECOND: int({ default: 100, min: 0 }),
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error'], { default: 'info' }),
  // deployment.environment of every span and log record ("local", "staging", "production").
  AIO_ENVIRONMENT: str({ default: 'local' }),
  // Address the service binds its HTTP and gRPC ports to; 0.0.0.0 in containers.
  AIO_BIND_HOST: str({ default: '127.0.0.1' }),
  // Content-addressed artifact store; a relative path resolves against the repository root (@aio/artifacts resolveArtifactDir).
  AIO_ARTIFACT_DIR: str({ default: '.infra/artifacts' }),
  // Neither auth variable is required here: locally the secret comes from .infra/auth-secret
  // (see @aio/auth), and exactly-one-of is checked by TokenVerifier.fromOptions.
  AIO_AUTH_SECRET: secret({ optional: true }),
  AIO_AUTH_JWKS_URL: url({ optional: true, protocols: ['http', 'https'] }),
  AIO_AUTH_ISSUER: str({ default: 'aio-local' }),
  AIO_AUTH_AUDIENCE: str({ default: 'aio' }),
} as const;

export type PlatformEnvSpec = typeof platformEnvSpec;
