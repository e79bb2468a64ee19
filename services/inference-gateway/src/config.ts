import { availableParallelism, totalmem } from 'node:os';
import { BATCHING_LIMITS, int, parseEnv, platformEnvSpec, port, secret, str, type EnvConfig, type Field } from '@aio/config';

/** A number in [0, 1]: the share of inferences written to the inference log. */
function fraction(fallback: number): Field<number> {
  const rule = `number between 0 and 1 (default ${fallback})`;
  return {
    rule,
    secret: false,
    parse: (raw) => {
      if (raw === undefined) return { ok: true, value: fallback };
      const value = Number(raw);
      return /^\s*[0-9.eE+-]+\s*$/.test(raw) && Number.isFinite(value) && value >= 0 && value <= 1 ? { ok: true, value } : { ok: false, rule };
    },
    show: (value) => String(value),
  };
}

// Triton's ports: HTTP 8000, gRPC 8001, metrics 8002, so its clients and dashboards find us.
export const inferenceGatewayEnvSpec = {
  ...platformEnvSpec,
  GRPC_PORT: port({ default: 8001 }),
  HTTP_PORT: port({ default: 8000 }),
  METRICS_PORT: port({ default: 8002 }),
  // Tests point this at a database of their own.
  AIO_DATABASE: str({ default: 'aio_gateway' }),
  // Inference worker threads; each holds one onnxruntime session per loaded model version.
  AIO_INFER_WORKERS: int({ default: availableParallelism(), min: 1, max: 256 }),
  // Requests waiting per model version before RESOURCE_EXHAUSTED.
  AIO_INFER_QUEUE_LIMIT: int({ default: 256, min: 1, max: BATCHING_LIMITS.maxQueueSize }),
  // Dynamic batching defaults for models whose inputs and outputs share a symbolic first dimension
  // (a deployment's batching settings override them; max size 1 turns batching off).
  AIO_BATCH_MAX_SIZE: int({ default: 32, min: 1, max: BATCHING_LIMITS.maxBatchRows }),
  AIO_BATCH_MAX_DELAY_MICROS: int({ default: 0, min: 0, max: BATCHING_LIMITS.maxQueueDelayMicros }),
  // Estimated memory all loaded versions may take together ((artifact size + session overhead) x workers each); beyond it
  // the least recently used idle versions are unloaded and load again on their next request.
  AIO_MODEL_MEMORY_BUDGET_MB: int({ default: Math.max(256, Math.floor(totalmem() / 4 / 2 ** 20)), min: 1 }),
  // Bytes one request's input tensors may hold (shape x datatype size), checked before any allocation.
  AIO_INFER_MAX_INPUT_BYTES: int({ default: 64 * 1024 * 1024, min: 1 }),
  // A run that takes longer is failed (DEADLINE_EXCEEDED) and its worker replaced: a stuck model must not stall the pool.
  AIO_INFER_TIMEOUT_MS: int({ default: 60_000, min: 1 }),
  // Seed of the weighted (canary) version choice; unset = random per process.
  AIO_TRAFFIC_SEED: int({ optional: true }),
  AIO_INFERENCE_LOG_SAMPLE_RATE: fraction(1),
  // At most this many records per second (0 = no limit): recording every request of a busy model
  // would cost the gateway and the broker more than the inference itself.
  AIO_INFERENCE_LOG_MAX_PER_SECOND: int({ default: 200, min: 0 }),
  // And at most this many input bytes per second (0 = no limit): an image model's inputs are large.
  AIO_INFERENCE_LOG_MAX_BYTES_PER_SECOND: int({ default: 4 * 1024 * 1024, min: 0 }),
  // Sampled records waiting for the background publisher; beyond it records are dropped and counted.
  AIO_INFERENCE_LOG_QUEUE_LIMIT: int({ default: 10_000, min: 1 }),
  AIO_INFERENCE_LOG_BATCH: int({ default: 500, min: 1, max: 100_000 }),
  // How long a record waits for companions before a partial batch is published (Kafka's linger.ms):
  // fewer, larger produce requests cost the gateway, the broker and the monitor far less.
  AIO_INFERENCE_LOG_LINGER_MS: int({ default: 200, min: 0, max: 60_000 }),
  // Where versions and aliases are resolved (GetModelVersion) and with which token; without a token
  // the gateway mints a `service` token from AIO_AUTH_SECRET (the local default).
  AIO_REGISTRY_ADDR: str({ default: '127.0.0.1:50051' }),
  AIO_REGISTRY_TOKEN: secret({ optional: true }),
};

export type InferenceGatewayConfig = EnvConfig<typeof inferenceGatewayEnvSpec>;

/** The only reader of process.env in this service; throws a ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): InferenceGatewayConfig {
  return parseEnv(inferenceGatewayEnvSpec, env);
}
