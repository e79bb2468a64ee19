import { createGrpcServer } from '@aio/grpc';
import { PlatformModule, runService, type RunningService } from '@aio/host';
import { authFrom } from '@aio/host/platform';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import type { Telemetry } from '@aio/telemetry';
import { Module } from '@nestjs/common';

import type { InferenceGatewayConfig } from './config.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import { GatewaySettings } from './gateway.settings.js';
import { InferenceController } from './inference.controller.js';
import { InferenceGrpc } from './inference.grpc.js';
import { InferenceService } from './inference.service.js';
import { MetricsServer } from './metrics.server.js';
import { RegistryEventsConsumer } from './registry-events.consumer.js';

export async function startInferenceGateway(
  config: InferenceGatewayConfig,
  telemetry: Telemetry,
  opts: { handleSignals?: boolean } = {},
): Promise<RunningService> {
  const settings = new GatewaySettings(config.AIO_BIND_HOST, config.METRICS_PORT, () => telemetry.metricsText(), telemetry.metricsContentType);

  @Module({
    imports: [PlatformModule.forRoot({ service: 'inference-gateway', config, telemetry, database: config.AIO_DATABASE })],
    controllers: [InferenceController],
    providers: [
      { provide: GatewaySettings, useValue: settings },
      DeploymentsRepository,
      DeploymentsService,
      InferenceService,
      InferenceGrpc,
      MetricsServer,
      RegistryEventsConsumer,
    ],
  })
  class InferenceGatewayModule {}

  const auth = authFrom(config);
  const logger = telemetry.getLogger('inference-gateway');
  return runService({
    name: 'inference-gateway',
    module: InferenceGatewayModule,
    bindHost: config.AIO_BIND_HOST,
    httpPort: config.HTTP_PORT,
    grpcPort: config.GRPC_PORT,
    auth,
    grpc: (app) =>
      createGrpcServer({ auth, onInternalError: (err, call) => logger.error(`${call.method} failed`, { 'trace.id': call.traceId }, err) }).add(
        GRPCInferenceService,
        app.get(InferenceGrpc).impl(),
        {
          defaultPermission: 'inference:infer',
          permissions: { RepositoryModelLoad: 'inference:admin', RepositoryModelUnload: 'inference:admin' },
          publicMethods: ['ServerLive', 'ServerReady'],
        },
      ),
    metrics: () => telemetry.metricsText(),
    nestLogger: telemetry.nestLogger,
    logger,
    onShutdown: () => telemetry.shutdown(),
    handleSignals: opts.handleSignals,
  });
}
