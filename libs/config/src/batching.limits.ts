/**
 * Bounds of a model version's dynamic batching, wherever it is set: the gateway's defaults
 * (AIO_BATCH_MAX_SIZE, AIO_BATCH_MAX_DELAY_MICROS, AIO_INFER_QUEUE_LIMIT) and a deployment's
 * `batching`, which the registry checks against them.
 */
export const BATCHING_LIMITS = {
  /** Rows in one batch. */
  maxBatchRows: 65_536,
  /** How long a batch may wait for companions: 10 s. */
  maxQueueDelayMicros: 10_000_000,
  /** Requests waiting per version. */
  maxQueueSize: 1_000_000,
} as const;
