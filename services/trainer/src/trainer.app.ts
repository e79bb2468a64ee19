import { createGrpcServer } from '@aio/grpc';
import { PlatformModule, runService, type RunningService } from '@aio/host';
import { authFrom } from '@aio/host/platform';
import { TrainerService } from '@aio/proto/aio/trainer/v1/trainer';
import type { Telemetry } from '@aio/telemetry';
import { Module } from '@nestjs/common';
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

/** Starts the trainer: learns datasets from the data events topic, serves training runs over gRPC and REST. */
export async function startTrainer(config: TrainerConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  @Module({
    imports: [PlatformModule.forRoot({ service: 'trainer', config, telemetry, database: config.AIO_DATABASE })],
    controllers: [RunsController, DatasetsController],
    providers: [
      { provide: TrainerSettings, useValue: new TrainerSettings(config.TRAINER_CONSUMER_GROUP) },
      DatasetsRepository,
      DatasetsService,
      DatasetsConsumer,
      RunsRepository,
      RunsService,
      TrainerGrpc,
    ],
  })
  class TrainerModule {}

  const auth = authFrom(config);
  return runService({
    name: 'trainer',
    module: TrainerModule,
    bindHost: config.AIO_BIND_HOST,
    httpPort: config.HTTP_PORT,
    grpcPort: config.GRPC_PORT,
    auth,
    grpc: (app) => createGrpcServer({ auth }).add(TrainerService, app.get(TrainerGrpc).impl()),
    metrics: () => telemetry.metricsText(),
    nestLogger: telemetry.nestLogger,
    logger: telemetry.getLogger('trainer'),
    onShutdown: () => telemetry.shutdown(),
    handleSignals: opts.handleSignals,
  });
}
