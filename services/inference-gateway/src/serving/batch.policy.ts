import type { BatchPolicy, LoadedSignature } from './worker.pool.js';

/** A deployment's batching settings (registry BatchingConfig): zeros mean "the gateway's default". */
export interface BatchingRequest {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMicros: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueSize: number;
}

/** The gateway's defaults (AIO_BATCH_MAX_SIZE, AIO_BATCH_MAX_DELAY_MICROS, AIO_INFER_QUEUE_LIMIT). */
export interface BatchDefaults {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMicros: number;
  readonly queueLimit: number;
}

/** What a version is served with, and why batching is off when it is. */
export interface ResolvedBatching {
  readonly policy: BatchPolicy;
  readonly note: string;
}

/**
 * Batching for one loaded version. A batch axis is a dynamic first dimension on every input and
 * output. A deployment that sets max_batch_size > 1 asserts rows are independent along it; without
 * one, the gateway's default applies only when every input and output names the same symbolic first
 * dimension (e.g. "N", "batch"): the ONNX way of saying it is the batch. max_batch_size 1 turns
 * batching off.
 */
export function resolveBatching(signature: LoadedSignature, requested: BatchingRequest | undefined, defaults: BatchDefaults): ResolvedBatching {
  const firstDims = [...signature.inputs, ...signature.outputs].map((m) => m.shape[0]);
  const dynamic = firstDims.length > 0 && firstDims.every((d) => typeof d === 'string' || (typeof d === 'number' && d < 0));
  const symbol = firstDims[0];
  const named = dynamic && typeof symbol === 'string' && symbol !== '' && firstDims.every((d) => d === symbol);
  const asked = requested?.maxBatchSize ?? 0;
  const maxQueueSize = requested !== undefined && requested.maxQueueSize > 0 ? requested.maxQueueSize : defaults.queueLimit;
  const off = (note: string): ResolvedBatching => ({ policy: { maxBatchSize: 1, maxQueueDelayMicros: 0, preferredBatchSizes: [], maxQueueSize }, note });
  if (asked === 1) return off('batching off (max_batch_size 1)');
  if (asked > 1 && !dynamic) return off('batching off: max_batch_size is set but the model has no dynamic first dimension on every input and output');
  if (asked === 0 && (!named || defaults.maxBatchSize <= 1)) {
    return off(defaults.maxBatchSize <= 1 ? 'batching off (AIO_BATCH_MAX_SIZE)' : 'batching off: the inputs and outputs do not share a symbolic first dimension (set the deployment\'s batching.max_batch_size to batch anyway)');
  }
  const maxBatchSize = asked > 1 ? asked : defaults.maxBatchSize;
  const delay = requested !== undefined && (asked > 1 || requested.maxQueueDelayMicros > 0) ? requested.maxQueueDelayMicros : defaults.maxQueueDelayMicros;
  const preferredBatchSizes = [...new Set(requested?.preferredBatchSizes ?? [])].filter((n) => n > 1 && n <= maxBatchSize).sort((a, b) => a - b);
  return { policy: { maxBatchSize, maxQueueDelayMicros: delay, preferredBatchSizes, maxQueueSize }, note: `batching up to ${maxBatchSize} rows` };
}
