import { type ServiceImpl } from '@aio/grpc';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';
import { IntakeService } from './intake.service.js';
import { ingestStream } from './records.stream.js';
import { VersionsService } from './versions.service.js';

/** aio.ingestion.v1.IngestionService: thin handlers over the services. */
@Injectable()
export class IngestionGrpc {
  constructor(
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(IntakeService) private readonly intake: IntakeService,
    @Inject(VersionsService) private readonly versions: VersionsService,
  ) {}

  impl(): ServiceImpl<typeof IngestionService> {
    return {
      createDataset: async (req, ctx) => ({ dataset: await this.datasets.create(req, ctx.principal?.subject ?? '') }),
      getDataset: async (req) => ({ dataset: await this.datasets.get(req.name) }),
      listDatasets: (req) => this.datasets.list(req),
      updateDataset: async (req) => ({ dataset: await this.datasets.update(req) }),
      ingestRecords: async (requests) => (await ingestStream(this.intake, requests)).response(),
      createDatasetVersion: async (req, ctx) => ({ version: await this.versions.create(req, ctx.principal?.subject ?? '') }),
      listDatasetVersions: (req) => this.versions.list(req),
    };
  }
}
