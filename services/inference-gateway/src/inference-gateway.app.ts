import { startPlatformService, Platform, type RunningService } from '@aio/host';
import { seededRandom } from '@aio/onnx';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import type { Telemetry } from '@aio/telemetry';
import { metrics } from '@opentelemetry/api';

import type { InferenceGatewayConfig } from './config.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import { GatewaySettings, ServingSettings } from './gateway.settings.js';
import { InferenceController, inferRoutes } from './inference.controller.js';
import { InferenceGrpc } from './inference.grpc.js';
import { InferenceService } from './inference.service.js';
import { MetricsServer } from './metrics.server.js';
import { RegistryEventsConsumer } from './registry-events.consumer.js';
import { InferenceLog } from './serving/inference.log.js';
import { ModelManager } from './serving/model.manager.js';
import { WorkerPool } from './serving/worker.pool.js';
import { VersionResolver } from './version.resolver.js';

export function servingSettingsFrom(config: InferenceGatewayConfig): ServingSettings {
  return new ServingSettings(
    config.AIO_INFER_WORKERS,
    config.AIO_INFER_QUEUE_LIMIT,
    { maxBatchSize: config.AIO_BATCH_MAX_SIZE, maxQueueDelayMicros: config.AIO_BATCH_MAX_DELAY_MICROS },
    config.AIO_MODEL_MEMORY_BUDGET_MB * 1024 * 1024,
    config.AIO_INFER_MAX_INPUT_BYTES,
    config.AIO_INFER_TIMEOUT_MS,
    config.AIO_TRAFFIC_SEED,
    { sampleRate: config.AIO_INFERENCE_LOG_SAMPLE_RATE, maxPerSecond: config.AIO_INFERENCE_LOG_MAX_PER_SECOND,
      maxBytesPerSecond: config.AIO_INFERENCE_LOG_MAX_BYTES_PER_SECOND,
      queueLimit: config.AIO_INFERENCE_LOG_QUEUE_LIMIT, batchSize: config.AIO_INFERENCE_LOG_BATCH, lingerMs: config.AIO_INFERENCE_LOG_LINGER_MS },
    config.AIO_REGISTRY_ADDR,
    config.AIO_REGISTRY_TOKEN,
    { secret: config.AIO_AUTH_SECRET, issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE },
    config.AIO_ARTIFACT_DIR,
  );
}

export function startInferenceGateway(
  config: InferenceGatewayConfig,
  telemetry: Telemetry,
  opts: { handleSignals?: boolean } = {},
): Promise<RunningService> {
  const settings = new GatewaySettings(config.AIO_BIND_HOST, config.METRICS_PORT, () => telemetry.metricsText(), telemetry.metricsContentType);
  const serving = servingSettingsFrom(config);
  const meter = metrics.getMeter('inference-gateway');
  return startPlatformService({
    name: 'inference-gateway',
    config,
    telemetry,
    controllers: [InferenceController],
    providers: [
      { provide: GatewaySettings, useValue: settings },
      { provide: ServingSettings, useValue: serving },
      {
        provide: ModelManager,
        useFactory: () => {
          const pool = new WorkerPool({ size: serving.workers, queueLimit: serving.queueLimit, timeoutMs: serving.timeoutMs, logger: telemetry.getLogger('workers') });
          const random = serving.trafficSeed === undefined ? Math.random : seededRandom(serving.trafficSeed);
          const manager = new ModelManager(pool, random, telemetry.getLogger('models'), {
            batch: { ...serving.batch, queueLimit: serving.queueLimit },
            memoryBudgetBytes: serving.memoryBudgetBytes,
          });
          meter.createObservableGauge('aio_inference_in_flight', { description: 'Inference requests queued or running, per model version.' }).addCallback((r) => {
            for (const v of manager.versions()) if (v.state === 'READY' || v.state === 'UNLOADING') r.observe(manager.depth(v), { model: v.model, version: String(v.version) });
          });
          meter.createObservableGauge('aio_model_memory_bytes', { description: 'Estimated memory of the loaded model versions ((artifact size + session overhead) x workers), and the budget.' }).addCallback((r) => {
            const { usedBytes, budgetBytes } = manager.memory();
            r.observe(usedBytes, { kind: 'used' });
            r.observe(budgetBytes, { kind: 'budget' });
          });
          return manager;
        },
      },
      {
        provide: InferenceLog,
        inject: [Platform],
        useFactory: (platform: Platform) => {
          const log = new InferenceLog({
            ...serving.log,
            topic: platform.topics.inferenceLog,
            source: platform.source,
            publish: (items) => platform.publisher.publishBatch(items),
            logger: telemetry.getLogger('inference-log'),
          });
          meter.createObservableCounter('aio_inference_log_records', { description: 'Sampled inference records: published, dropped (queue_full, publish_failed), or not recorded over the per-second limit (rate_limited).' }).addCallback((r) => {
            r.observe(log.counts.published, { outcome: 'published' });
            r.observe(log.counts.droppedQueueFull, { outcome: 'queue_full' });
            r.observe(log.counts.droppedPublishFailed, { outcome: 'publish_failed' });
            r.observe(log.counts.rateLimited, { outcome: 'rate_limited' });
          });
          return log;
        },
      },
      DeploymentsRepository,
      VersionResolver,
      DeploymentsService,
      InferenceService,
      InferenceGrpc,
      MetricsServer,
      RegistryEventsConsumer,
    ],
    fastRoutes: (app) => inferRoutes(app.get(InferenceService)),
    // OIP methods carry no permission option (the .proto mirrors KServe/Triton): the gateway sets them.
    grpc: (server, app) =>
      server.add(GRPCInferenceService, app.get(InferenceGrpc).impl(), {
        defaultPermission: 'inference:infer',
        permissions: { RepositoryModelLoad: 'inference:admin', RepositoryModelUnload: 'inference:admin' },
        publicMethods: ['ServerLive', 'ServerReady'],
      }),
    ...opts,
  });
}
