import { startPlatformService, type RunningService } from '@aio/host';
import { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import type { Telemetry } from '@aio/telemetry';
import type { MonitorConfig } from './config.js';
import { MonitorGrpc } from './monitor.grpc.js';
import { RegistryEventsConsumer } from './registry-events.consumer.js';
import { WatchedModelsController } from './watched-models.controller.js';
import { WatchedModelsRepository } from './watched-models.repository.js';
import { WatchedModelsService } from './watched-models.service.js';

export function startMonitor(config: MonitorConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  return startPlatformService({
    name: 'monitor',
    config,
    telemetry,
    controllers: [WatchedModelsController],
    providers: [WatchedModelsRepository, WatchedModelsService, MonitorGrpc, RegistryEventsConsumer],
    grpc: (server, app) => server.add(MonitorService, app.get(MonitorGrpc).impl()),
    ...opts,
  });
}
