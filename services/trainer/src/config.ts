import { int, parseEnv, platformEnvSpec, port, secret, str, type EnvConfig } from '@aio/config';

export const trainerEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50053 }),
  HTTP_PORT: port({ default: 8103 }),
  // The service's own MongoDB database; tests give each run its own.
  AIO_DATABASE: str({ default: 'aio_trainer' }),
  // Where the registry answers: runs upload their model and register the version there.
  AIO_REGISTRY_ADDR: str({ default: '127.0.0.1:50051' }),
  // Where ingestion answers: retrain policies ask it for a fresh dataset snapshot (CreateDatasetVersion).
  AIO_INGESTION_ADDR: str({ default: '127.0.0.1:50052' }),
  // A token for calling the registry and ingestion when tokens come from an identity provider (JWKS); locally a
  // short-lived service token is minted with AIO_AUTH_SECRET instead.
  AIO_SERVICE_TOKEN: secret({ optional: true }),
  // Rows a run loads from a dataset version export: the built-in trainers hold the dataset in memory.
  TRAINER_MAX_ROWS: int({ default: 1_000_000, min: 1 }),
  // Runs waiting to start; SubmitRun answers RESOURCE_EXHAUSTED beyond it.
  TRAINER_QUEUE_LIMIT: int({ default: 100, min: 1 }),
};

export type TrainerConfig = EnvConfig<typeof trainerEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainerConfig {
  return parseEnv(trainerEnvSpec, env);
}
