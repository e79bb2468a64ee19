// Ad-hoc profiling harness (not committed): the gateway in this process with a registry stand-in.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactStore } from '@aio/artifacts';
import { createKafka, createPublisher } from '@aio/events';
import { createGrpcServer, withUnimplemented } from '@aio/grpc';
import { Platform } from '@aio/host';
import { ModelBuilder } from '@aio/onnx';
import { DeploymentChangedSchema } from '@aio/proto/aio/registry/v1/events';
import { DeploymentSchema, ModelVersionSchema, RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { startTelemetry } from '@aio/telemetry';
import { create } from '@bufbuild/protobuf';
import { loadConfig } from '../dist/config.js';
import { startInferenceGateway } from '../dist/inference-gateway.app.js';

const secret = 'prof-secret-0123456789-0123456789-0123456789';
const run = randomUUID().slice(0, 8);
function rnd(n, seed) { const a = new Float32Array(n); let x = seed; for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) % 2147483648; a[i] = (x / 2147483648 - 0.5) * 0.2; } return a; }
const m = new ModelBuilder({ producerVersion: 'prof' });
let h = m.input('x', 'float32', ['N', 64]);
const dims = [64, 256, 256, 10];
for (let i = 0; i < 3; i++) {
  h = m.gemm(h, m.initializer(`W${i}`, rnd(dims[i] * dims[i + 1], i + 1), [dims[i], dims[i + 1]]), m.initializer(`B${i}`, rnd(dims[i + 1], i + 7), [dims[i + 1]]));
  if (i < 2) h = m.relu(h);
}
m.output('y', 'float32', ['N', 10], h);
const artifactDir = await mkdtemp(path.join(tmpdir(), 'prof-art-'));
const sha = (await createArtifactStore({ dir: artifactDir }).put(Readable.from([m.toBytes()]), { maxBytes: 1 << 24 })).sha256;
const version = create(ModelVersionSchema, { model: 'mlp', version: 1, artifactSha256: sha, framework: 'onnx' });
const registry = createGrpcServer({ auth: 'disabled' });
registry.add(RegistryService, withUnimplemented(RegistryService, { getModelVersion: () => Promise.resolve({ version }) }));
const registryPort = await registry.start('127.0.0.1', 0);
const config = loadConfig({
  ...process.env, GRPC_PORT: '18001', HTTP_PORT: '18000', METRICS_PORT: '18002', AIO_AUTH_SECRET: secret, AIO_TOPIC_PREFIX: `prof-${run}`,
  AIO_DATABASE: `prof_${run}`, AIO_TELEMETRY_EXPORT: process.env.EXPORT ?? 'none', AIO_ARTIFACT_DIR: artifactDir, AIO_REGISTRY_ADDR: `127.0.0.1:${registryPort}`,
});
const telemetry = await startTelemetry({ serviceName: 'inference-gateway', serviceVersion: 'prof', export: 'none', logLevel: 'warn' });
const running = await startInferenceGateway(config, telemetry, { handleSignals: true });
const topic = running.app.get(Platform).topics.registryEvents;
const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: `prof-${run}` });
const publisher = createPublisher(kafka);
await publisher.connect();
const batching = process.env.BATCH ? { maxBatchSize: Number(process.env.BATCH), maxQueueDelayMicros: Number(process.env.DELAY ?? 0) } : undefined;
await publisher.publish(topic, DeploymentChangedSchema, create(DeploymentChangedSchema, { deployment: create(DeploymentSchema, { model: 'mlp', target: { case: 'version', value: 1 }, generation: 1, batching }) }), { key: 'mlp', source: 'prof' });
console.log('READY', secret);
