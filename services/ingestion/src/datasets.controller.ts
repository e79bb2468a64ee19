import type { Principal } from '@aio/auth';
import { fromRestJson, Permission, toRestJson } from '@aio/host';
import {
  CreateDatasetRequestSchema,
  CreateDatasetResponseSchema,
  GetDatasetResponseSchema,
  ListDatasetsRequestSchema,
  ListDatasetsResponseSchema,
  UpdateDatasetRequestSchema,
  UpdateDatasetResponseSchema,
} from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { invalidArgument } from '@aio/grpc';
import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';

/** REST over the same DatasetsService as gRPC; bodies are the generated messages in protobuf JSON (proto field names). */
@Controller('v1/datasets')
export class DatasetsController {
  constructor(@Inject(DatasetsService) private readonly datasets: DatasetsService) {}

  @Post()
  @HttpCode(201)
  @Permission('datasets:write')
  async create(@Body() body: unknown, @Req() req: { principal?: Principal }): Promise<JsonValue> {
    const dataset = await this.datasets.create(fromRestJson(CreateDatasetRequestSchema, body), req.principal?.subject ?? '');
    return toRestJson(CreateDatasetResponseSchema, create(CreateDatasetResponseSchema, { dataset }));
  }

  @Get()
  @Permission('datasets:read')
  async list(@Query() query: unknown): Promise<JsonValue> {
    const page = await this.datasets.list(fromRestJson(ListDatasetsRequestSchema, query, 'query'));
    return toRestJson(ListDatasetsResponseSchema, create(ListDatasetsResponseSchema, page));
  }

  @Get(':name')
  @Permission('datasets:read')
  async get(@Param('name') name: string): Promise<JsonValue> {
    return toRestJson(GetDatasetResponseSchema, create(GetDatasetResponseSchema, { dataset: await this.datasets.get(name) }));
  }

  @Patch(':name')
  @Permission('datasets:write')
  async update(@Param('name') name: string, @Body() body: unknown): Promise<JsonValue> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('body', 'must be a JSON object');
    const dataset = await this.datasets.update(fromRestJson(UpdateDatasetRequestSchema, { ...body, name }));
    return toRestJson(UpdateDatasetResponseSchema, create(UpdateDatasetResponseSchema, { dataset }));
  }
}
