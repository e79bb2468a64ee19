import { startPlatformService, type RunningService } from '@aio/host';
import { TrainerService } from '@aio/proto/aio/trainer/v1/trainer';
import type { Telemetry } from '@aio/telemetry';
import type { TrainerConfig } from './config.js';
import { DatasetsConsumer } from './datasets.consumer.js';
import { DatasetsController } from './datasets.controller.js';
import { DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';
import { RunsController } from './runs.controller.js';
import { RunsRepository } from './runs.repository.js';
import { RunsService } from './runs.service.js';
import { TrainerGrpc } from './trainer.grpc.js';

/** Starts the trainer: learns datasets from the data events topic, serves training runs over gRPC and REST. */
export function startTrainer(config: TrainerConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  return startPlatformService({
    name: 'trainer',
    config,
    telemetry,
    controllers: [RunsController, DatasetsController],
    providers: [DatasetsRepository, DatasetsService, DatasetsConsumer, RunsRepository, RunsService, TrainerGrpc],
    grpc: (server, app) => server.add(TrainerService, app.get(TrainerGrpc).impl()),
    ...opts,
  });
}
