import { parseEnv, platformEnvSpec, port, str, type EnvConfig } from '@aio/config';

export const trainerEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50053 }),
  HTTP_PORT: port({ default: 8103 }),
  // The service's own MongoDB database; tests give each run its own.
  AIO_DATABASE: str({ default: 'aio_trainer' }),
  // Kafka consumer group of the data events consumer; tests use their own so they never join a running trainer's group.
};

export type TrainerConfig = EnvConfig<typeof trainerEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainerConfig {
  return parseEnv(trainerEnvSpec, env);
}
