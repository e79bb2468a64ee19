// Runs one training in a worker thread: the built-in trainers are CPU-bound and would otherwise stall
// the service's event loop (gRPC, health checks, Kafka heartbeats) for the length of a run.
import { parentPort, workerData } from 'node:worker_threads';
import { ReferenceProfileSchema } from '@aio/proto/aio/profile/v1/profile';
import { toBinary } from '@bufbuild/protobuf';
import type { TrainingData } from './engine/dataset.encoding.js';
import { trainModel } from './engine/model.training.js';
import { TrainingError } from './engine/training.error.js';
import type { TrainSpec } from './engine/training.options.js';

const { spec, data } = workerData as { spec: TrainSpec; data: TrainingData };
try {
  const result = trainModel(spec, data);
  const profile = toBinary(ReferenceProfileSchema, result.profile);
  parentPort?.postMessage({ ok: true, onnx: result.onnx, metrics: result.metrics, profile }, [result.onnx.buffer as ArrayBuffer, profile.buffer]);
} catch (err) {
  parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err), trainingError: err instanceof TrainingError });
}
