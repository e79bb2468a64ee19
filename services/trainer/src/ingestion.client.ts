import { createGrpcClient, type GrpcClient } from '@aio/grpc';
import { IngestionService, type DatasetVersion } from '@aio/proto/aio/ingestion/v1/ingestion';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { serviceToken } from './service.token.js';
import { TrainerSettings } from './trainer.settings.js';

/** What the trainer asks of ingestion: a fresh snapshot of a dataset to retrain on. */
@Injectable()
export class IngestionClient implements OnApplicationShutdown {
  private readonly client: GrpcClient<typeof IngestionService>;

  constructor(@Inject(TrainerSettings) settings: TrainerSettings) {
    const config = settings.config;
    // Snapshotting writes the dataset's export to the artifact store: allow it minutes, not seconds.
    this.client = createGrpcClient(IngestionService, config.AIO_INGESTION_ADDR, { token: () => serviceToken(config), timeoutMs: 300_000 });
  }

  async createDatasetVersion(dataset: string, description: string): Promise<DatasetVersion> {
    const { version } = await this.client.createDatasetVersion({ dataset, description });
    if (version === undefined || version.version === 0) throw new Error(`ingestion answered CreateDatasetVersion for "${dataset}" without a version`);
    return version;
  }

  onApplicationShutdown(): void {
    this.client.close();
  }
}
