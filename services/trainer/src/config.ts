import { int, parseEnv, platformEnvSpec, port, secret, str, type EnvConfig } from '@aio/config';
import { externalCommands } from './external.commands.js';

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
  // How often retrain policies' cron schedules are checked (a firing starts within this many seconds).
  TRAINER_SCHEDULE_TICK_SECONDS: int({ default: 30, min: 1, max: 3600 }),
  // External trainers (`external:<name>`): name -> argv run without a shell, cwd the trainer package, e.g.
  // {"sklearn":["python3","examples/sklearn/train.py"]}.
  TRAINER_EXTERNAL_COMMANDS: externalCommands(),
  // An external trainer still running after this is killed (its whole process group) and the run FAILED.
  TRAINER_EXTERNAL_TIMEOUT_SECONDS: int({ default: 3600, min: 1 }),
};

export type TrainerConfig = EnvConfig<typeof trainerEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrainerConfig {
  return parseEnv(trainerEnvSpec, env);
}

// What an external trainer inherits from the service's environment: enough to find and run its
// interpreter, never the service's secrets (AIO_AUTH_SECRET, AIO_SERVICE_TOKEN, database URIs).
const CHILD_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'PYTHONPATH', 'VIRTUAL_ENV'] as const;

/** The base environment of an external trainer's process (the run adds its AIO_* variables). */
export function externalTrainerEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CHILD_ENV) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
