import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ReferenceProfileSchema, type ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { fromBinary } from '@bufbuild/protobuf';
import type { TrainingData } from './engine/dataset.encoding.js';
import { TrainingError } from './engine/training.error.js';
import type { TrainSpec } from './engine/training.options.js';

export interface TrainingOutcome {
  onnx: Uint8Array;
  metrics: Record<string, number>;
  profile: ReferenceProfile;
}

type WorkerReply = { ok: true; onnx: Uint8Array; metrics: Record<string, number>; profile: Uint8Array } | { ok: false; message: string; trainingError: boolean };

/** The compiled worker beside this file; from the sources (tests), the package's built one. */
function workerFile(): string {
  const beside = fileURLToPath(new URL('./training.worker.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL('../dist/training.worker.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`training worker not found at ${beside} or ${built}: build the trainer (pnpm build)`);
}

/**
 * Trains in a worker thread; aborting the signal terminates the worker (a cancelled run stops using
 * the CPU at once). Rejects with TrainingError for problems of the data or hyperparameters.
 */
export function trainInWorker(spec: TrainSpec, data: TrainingData, signal: AbortSignal): Promise<TrainingOutcome> {
  return new Promise((resolve, reject) => {
    // execArgv: [] so flags of the parent (e.g. --input-type, loaders) do not leak into the worker.
    const worker = new Worker(workerFile(), { workerData: { spec, data }, execArgv: [] });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      settle(() => reject(signal.reason instanceof Error ? signal.reason : new Error('training cancelled')));
      void worker.terminate();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: WorkerReply) =>
      settle(() => {
        if (reply.ok) resolve({ onnx: reply.onnx, metrics: reply.metrics, profile: fromBinary(ReferenceProfileSchema, reply.profile) });
        else reject(reply.trainingError ? new TrainingError(reply.message) : new Error(reply.message));
        void worker.terminate();
      }),
    );
    worker.once('error', (err: Error) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`training worker exited with code ${code} before answering`))));
  });
}
