import { startPlatformService, type RunningService } from '@aio/host';
import { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import type { Telemetry } from '@aio/telemetry';
import type { MonitorConfig } from './config.js';
import { HealthEvaluator } from './health/health.evaluator.js';
import { MonitorMetrics } from './health/health.metrics.js';
import { HealthRepository } from './health/health.repository.js';
import { HealthService } from './health/health.service.js';
import { MonitorGrpc } from './monitor.grpc.js';
import { MonitorSettings } from './monitor.settings.js';
import { ReferenceProfilesRepository } from './reference-profiles.repository.js';
import { RegistryEventsConsumer } from './registry-events.consumer.js';
import { TrafficConsumer } from './traffic/traffic.consumer.js';
import { TrafficService } from './traffic/traffic.service.js';
import { WatchedModelsController } from './watched-models.controller.js';
import { WatchedModelsRepository } from './watched-models.repository.js';
import { WatchedModelsService } from './watched-models.service.js';

export function startMonitor(config: MonitorConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  return startPlatformService({
    name: 'monitor',
    config,
    telemetry,
    controllers: [WatchedModelsController],
    providers: [
      { provide: MonitorSettings, useValue: MonitorSettings.fromConfig(config) },
      MonitorMetrics,
      WatchedModelsRepository,
      ReferenceProfilesRepository,
      HealthRepository,
      TrafficService,
      HealthService,
      WatchedModelsService,
      MonitorGrpc,
      RegistryEventsConsumer,
      TrafficConsumer,
      HealthEvaluator,
    ],
    grpc: (server, app) => server.add(MonitorService, app.get(MonitorGrpc).impl()),
    ...opts,
  });
}
