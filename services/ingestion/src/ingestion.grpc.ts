import { GrpcError, Status, type ServiceImpl } from '@aio/grpc';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';

/** aio.ingestion.v1.IngestionService: thin handlers over DatasetsService. */
@Injectable()
export class IngestionGrpc {
  constructor(@Inject(DatasetsService) private readonly datasets: DatasetsService) {}

  impl(): ServiceImpl<typeof IngestionService> {
    return {
      createDataset: async (req, ctx) => ({ dataset: await this.datasets.create(req, ctx.principal?.subject ?? '') }),
      getDataset: async (req) => ({ dataset: await this.datasets.get(req.name) }),
      listDatasets: (req) => this.datasets.list(req),
      ingestRecords: () => Promise.reject(new GrpcError(Status.UNIMPLEMENTED, 'IngestRecords arrives with the model lifecycle loop (issue #3)')),
      createDatasetVersion: () =>
        Promise.reject(new GrpcError(Status.UNIMPLEMENTED, 'CreateDatasetVersion arrives with the model lifecycle loop (issue #3)')),
    };
  }
}
