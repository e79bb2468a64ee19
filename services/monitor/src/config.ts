import { parseEnv, platformEnvSpec, port, str, type EnvConfig } from '@aio/config';

export const monitorEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 50054 }),
  HTTP_PORT: port({ default: 8104 }),
  // Tests point this at a database of their own.
  AIO_DATABASE: str({ default: 'aio_monitor' }),
};

export type MonitorConfig = EnvConfig<typeof monitorEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  return parseEnv(monitorEnvSpec, env);
}
