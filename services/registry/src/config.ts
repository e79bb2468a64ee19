import { int, parseEnv, platformEnvSpec, port, str, type EnvConfig } from '@aio/config';

export const registryEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50051 }),
  HTTP_PORT: port({ default: 8101 }),
  AIO_DATABASE: str({ default: 'aio_registry' }),
  // Largest artifact UploadArtifact and PUT /v1/artifacts accept (default 512 MiB).
  AIO_ARTIFACT_MAX_BYTES: int({ default: 512 * 1024 * 1024, min: 1 }),
};

export type RegistryConfig = EnvConfig<typeof registryEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  return parseEnv(registryEnvSpec, env);
}
