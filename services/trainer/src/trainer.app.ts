import { Platform, startPlatformService, type RunningService } from '@aio/host';
import { TrainingRunCompletedSchema, TrainingRunFailedSchema, TrainingRunStartedSchema } from '@aio/proto/aio/trainer/v1/events';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
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
import { TrainerSettings } from './trainer.settings.js';
import { DatasetVersionsRepository } from './dataset-versions.repository.js';
import { RegistryClient } from './registry.client.js';
import { RunExecutor } from './run.executor.js';
import { IngestionClient } from './ingestion.client.js';
import { PoliciesConsumer } from './policies.consumer.js';
import { PoliciesController } from './policies.controller.js';
import { PoliciesRepository } from './policies.repository.js';
import { PoliciesService } from './policies.service.js';
import { PolicyScheduler } from './policy.scheduler.js';
import { PromotionService } from './promotion.service.js';

/** Relays the TrainingRun* events written with each run state change. */
@Injectable()
class RunsOutbox implements OnApplicationBootstrap {
  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(RunsRepository) private readonly runs: RunsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.platform.startOutbox([this.runs.runs], [TrainingRunStartedSchema, TrainingRunCompletedSchema, TrainingRunFailedSchema]);
  }
}

/** Starts the trainer: learns datasets from the data events topic, serves training runs and retrain policies over gRPC and REST, retrains on drift and data volume. */
export function startTrainer(config: TrainerConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  return startPlatformService({
    name: 'trainer',
    config,
    telemetry,
    controllers: [RunsController, DatasetsController, PoliciesController],
    providers: [
      { provide: TrainerSettings, useValue: new TrainerSettings(config) },
      DatasetsRepository,
      DatasetVersionsRepository,
      DatasetsService,
      DatasetsConsumer,
      RegistryClient,
      RunsRepository,
      RunExecutor,
      RunsService,
      PoliciesRepository,
      PromotionService,
      IngestionClient,
      PoliciesService,
      PoliciesConsumer,
      PolicyScheduler,
      RunsOutbox,
      TrainerGrpc,
    ],
    grpc: (server, app) => server.add(TrainerService, app.get(TrainerGrpc).impl()),
    ...opts,
  });
}
