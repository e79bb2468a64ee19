import { createGrpcServer } from '@aio/grpc';
import { PlatformModule, runService, type RunningService } from '@aio/host';
import { authFrom } from '@aio/host/platform';
import { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import type { Telemetry } from '@aio/telemetry';
import { Module } from '@nestjs/common';

import type { MonitorConfig } from './config.js';
import { MonitorGrpc } from './monitor.grpc.js';
import { RegistryEventsConsumer } from './registry-events.consumer.js';
import { WatchedModelsController } from './watched-models.controller.js';
import { WatchedModelsRepository } from './watched-models.repository.js';
import { WatchedModelsService } from './watched-models.service.js';

export async function startMonitor(config: MonitorConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  @Module({
    imports: [PlatformModule.forRoot({ service: 'monitor', config, telemetry, database: config.AIO_DATABASE })],
    controllers: [WatchedModelsController],
    providers: [WatchedModelsRepository, WatchedModelsService, MonitorGrpc, RegistryEventsConsumer],
  })
  class MonitorModule {}

  const auth = authFrom(config);
  const logger = telemetry.getLogger('monitor');
  return runService({
    name: 'monitor',
    module: MonitorModule,
    bindHost: config.AIO_BIND_HOST,
    httpPort: config.HTTP_PORT,
    grpcPort: config.GRPC_PORT,
    auth,
    grpc: (app) =>
      createGrpcServer({ auth, onInternalError: (err, call) => logger.error(`${call.method} failed`, { 'trace.id': call.traceId }, err) }).add(
        MonitorService,
        app.get(MonitorGrpc).impl(),
      ),
    metrics: () => telemetry.metricsText(),
    nestLogger: telemetry.nestLogger,
    logger,
    onShutdown: () => telemetry.shutdown(),
    handleSignals: opts.handleSignals,
  });
}
