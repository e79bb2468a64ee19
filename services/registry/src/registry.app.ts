import { createGrpcServer } from '@aio/grpc';
import { Platform, PlatformModule, runService, type RunningService } from '@aio/host';
import { authFrom } from '@aio/host/platform';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import type { Telemetry } from '@aio/telemetry';
import { Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';

import type { RegistryConfig } from './config.js';
import { ModelsController } from './models.controller.js';
import { ModelsRepository } from './models.repository.js';
import { ModelsService } from './models.service.js';
import { RegistryGrpc } from './registry.grpc.js';

/** Relays the registry's outbox (models and versions carry their pending events). */
@Injectable()
class RegistryOutbox implements OnApplicationBootstrap {
  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(ModelsRepository) private readonly repo: ModelsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.platform.startOutbox([this.repo.models, this.repo.versions], [ModelCreatedSchema, ModelVersionCreatedSchema, AliasMovedSchema, DeploymentChangedSchema]);
  }
}

export async function startRegistry(config: RegistryConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  @Module({
    imports: [PlatformModule.forRoot({ service: 'registry', config, telemetry, database: config.AIO_DATABASE })],
    controllers: [ModelsController],
    providers: [ModelsRepository, ModelsService, RegistryGrpc, RegistryOutbox],
  })
  class RegistryModule {}

  const auth = authFrom(config);
  const logger = telemetry.getLogger('registry');
  return runService({
    name: 'registry',
    module: RegistryModule,
    bindHost: config.AIO_BIND_HOST,
    httpPort: config.HTTP_PORT,
    grpcPort: config.GRPC_PORT,
    auth,
    grpc: (app) =>
      createGrpcServer({ auth, onInternalError: (err, call) => logger.error(`${call.method} failed`, { 'trace.id': call.traceId }, err) }).add(
        RegistryService,
        app.get(RegistryGrpc).impl(),
      ),
    metrics: () => telemetry.metricsText(),
    nestLogger: telemetry.nestLogger,
    logger,
    onShutdown: () => telemetry.shutdown(),
    handleSignals: opts.handleSignals,
  });
}
