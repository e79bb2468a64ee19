import { createArtifactStore, resolveArtifactDir } from '@aio/artifacts';
import { startPlatformService, type RunningService } from '@aio/host';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import type { Telemetry } from '@aio/telemetry';
import type { IngestionConfig } from './config.js';
import { DatasetGate } from './dataset.gate.js';
import { DatasetsController } from './datasets.controller.js';
import { DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';
import { IngestionGrpc } from './ingestion.grpc.js';
import { IntakeConsumers } from './intake.consumer.js';
import { IntakeService } from './intake.service.js';
import { NdjsonBody } from './ndjson.body.js';
import { RecordsController } from './records.controller.js';
import { RecordsRepository } from './records.repository.js';
import { VersionsRepository } from './versions.repository.js';
import { DatasetExports, VersionsService } from './versions.service.js';

/**
 * Starts the ingestion service: datasets and their schemas, record intake from Kafka, gRPC and REST
 * through one validation path, dataset versions exported to the artifact store; every change
 * announced on the data topic through the outbox.
 */
export function startIngestion(config: IngestionConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  const exports = new DatasetExports(createArtifactStore({ dir: resolveArtifactDir(config.AIO_ARTIFACT_DIR) }), config.AIO_DATASET_EXPORT_MAX_BYTES);
  return startPlatformService({
    name: 'ingestion',
    config,
    telemetry,
    controllers: [DatasetsController, RecordsController],
    providers: [
      { provide: DatasetExports, useValue: exports },
      { provide: DatasetGate, useValue: new DatasetGate() },
      NdjsonBody,
      DatasetsRepository,
      RecordsRepository,
      VersionsRepository,
      IntakeService,
      IntakeConsumers,
      DatasetsService,
      VersionsService,
      IngestionGrpc,
    ],
    grpc: (server, app) => server.add(IngestionService, app.get(IngestionGrpc).impl()),
    ...opts,
  });
}
