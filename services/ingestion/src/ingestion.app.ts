import { createGrpcServer } from '@aio/grpc';
import { PlatformModule, runService, type RunningService } from '@aio/host';
import { authFrom } from '@aio/host/platform';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import type { Telemetry } from '@aio/telemetry';
import { Module } from '@nestjs/common';
import type { IngestionConfig } from './config.js';
import { DatasetsController } from './datasets.controller.js';
import { DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';
import { IngestionGrpc } from './ingestion.grpc.js';

/** Starts the ingestion service: dataset definitions over gRPC and REST, DatasetCreated through the outbox. */
export async function startIngestion(config: IngestionConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  @Module({
    imports: [PlatformModule.forRoot({ service: 'ingestion', config, telemetry, database: config.AIO_DATABASE })],
    controllers: [DatasetsController],
    providers: [DatasetsRepository, DatasetsService, IngestionGrpc],
  })
  class IngestionModule {}

  const auth = authFrom(config);
  return runService({
    name: 'ingestion',
    module: IngestionModule,
    bindHost: config.AIO_BIND_HOST,
    httpPort: config.HTTP_PORT,
    grpcPort: config.GRPC_PORT,
    auth,
    grpc: (app) => createGrpcServer({ auth }).add(IngestionService, app.get(IngestionGrpc).impl()),
    metrics: () => telemetry.metricsText(),
    nestLogger: telemetry.nestLogger,
    logger: telemetry.getLogger('ingestion'),
    onShutdown: () => telemetry.shutdown(),
    handleSignals: opts.handleSignals,
  });
}
