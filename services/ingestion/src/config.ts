import { int, parseEnv, platformEnvSpec, port, str, type EnvConfig } from '@aio/config';

export const ingestionEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50052 }),
  HTTP_PORT: port({ default: 8102 }),
  // The service's own MongoDB database; tests give each run its own.
  AIO_DATABASE: str({ default: 'aio_ingestion' }),
  // Largest NDJSON export of one dataset version (bytes); a bigger snapshot fails its CreateDatasetVersion.
  AIO_DATASET_EXPORT_MAX_BYTES: int({ default: 16 * 1024 ** 3, min: 1 }),
};

export type IngestionConfig = EnvConfig<typeof ingestionEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): IngestionConfig {
  return parseEnv(ingestionEnvSpec, env);
}
