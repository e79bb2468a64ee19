import { parseEnv, platformEnvSpec, port, str, type EnvConfig } from '@aio/config';

export const registryEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50051 }),
  HTTP_PORT: port({ default: 8101 }),
  AIO_DATABASE: str({ default: 'aio_registry' }),
};

export type RegistryConfig = EnvConfig<typeof registryEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  return parseEnv(registryEnvSpec, env);
}
