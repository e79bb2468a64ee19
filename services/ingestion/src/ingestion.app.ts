import { startPlatformService, type RunningService } from '@aio/host';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import type { Telemetry } from '@aio/telemetry';
import type { IngestionConfig } from './config.js';
import { DatasetsController } from './datasets.controller.js';
import { DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';
import { IngestionGrpc } from './ingestion.grpc.js';

/** Starts the ingestion service: dataset definitions over gRPC and REST, DatasetCreated through the outbox. */
export function startIngestion(config: IngestionConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  return startPlatformService({
    name: 'ingestion',
    config,
    telemetry,
    controllers: [DatasetsController],
    providers: [DatasetsRepository, DatasetsService, IngestionGrpc],
    grpc: (server, app) => server.add(IngestionService, app.get(IngestionGrpc).impl()),
    ...opts,
  });
}
