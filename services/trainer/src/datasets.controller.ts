import { fromRestJson, toRestJson, Permission } from '@aio/host';
import { ListDatasetsRequestSchema, ListDatasetsResponseSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';

/** The datasets the trainer knows (from DatasetCreated events), in ingestion's ListDatasets shape. */
@Controller('v1/datasets')
export class DatasetsController {
  constructor(@Inject(DatasetsService) private readonly datasets: DatasetsService) {}

  @Get()
  @Permission('datasets:read')
  async list(@Query() query: unknown): Promise<JsonValue> {
    const page = await this.datasets.list(fromRestJson(ListDatasetsRequestSchema, query, 'query'));
    return toRestJson(ListDatasetsResponseSchema, create(ListDatasetsResponseSchema, page));
  }
}
