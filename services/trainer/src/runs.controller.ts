import { fromRestJson, toRestJson, Permission } from '@aio/host';
import { GetRunResponseSchema, ListRunsRequestSchema, ListRunsResponseSchema } from '@aio/proto/aio/trainer/v1/trainer';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { RunsService } from './runs.service.js';

/** REST reads of training runs (protobuf JSON of the generated messages, proto field names). */
@Controller('v1/runs')
export class RunsController {
  constructor(@Inject(RunsService) private readonly runs: RunsService) {}

  @Get()
  @Permission('training:read')
  async list(@Query() query: unknown): Promise<JsonValue> {
    const page = await this.runs.list(fromRestJson(ListRunsRequestSchema, query, 'query'));
    return toRestJson(ListRunsResponseSchema, create(ListRunsResponseSchema, page));
  }

  @Get(':id')
  @Permission('training:read')
  async get(@Param('id') id: string): Promise<JsonValue> {
    return toRestJson(GetRunResponseSchema, create(GetRunResponseSchema, { run: await this.runs.get(id) }));
  }
}
