import { startPlatformService, type RunningService } from '@aio/host';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import type { Telemetry } from '@aio/telemetry';

import type { InferenceGatewayConfig } from './config.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import { GatewaySettings } from './gateway.settings.js';
import { InferenceController } from './inference.controller.js';
import { InferenceGrpc } from './inference.grpc.js';
import { InferenceService } from './inference.service.js';
import { MetricsServer } from './metrics.server.js';
import { RegistryEventsConsumer } from './registry-events.consumer.js';

export function startInferenceGateway(
  config: InferenceGatewayConfig,
  telemetry: Telemetry,
  opts: { handleSignals?: boolean } = {},
): Promise<RunningService> {
  const settings = new GatewaySettings(config.AIO_BIND_HOST, config.METRICS_PORT, () => telemetry.metricsText(), telemetry.metricsContentType);
  return startPlatformService({
    name: 'inference-gateway',
    config,
    telemetry,
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
