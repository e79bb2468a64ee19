import { parseEnv, platformEnvSpec, port, str, type EnvConfig } from '@aio/config';

// Triton's ports: HTTP 8000, gRPC 8001, metrics 8002, so its clients and dashboards find us.
export const inferenceGatewayEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 8001 }),
  HTTP_PORT: port({ default: 8000 }),
  METRICS_PORT: port({ default: 8002 }),
  // Tests point this at a database of their own.
  AIO_DATABASE: str({ default: 'aio_gateway' }),
};

export type InferenceGatewayConfig = EnvConfig<typeof inferenceGatewayEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): InferenceGatewayConfig {
  return parseEnv(inferenceGatewayEnvSpec, env);
}
