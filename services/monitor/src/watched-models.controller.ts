import { fromRestJson, Permission, toRestJson } from '@aio/host';
import { GetModelHealthRequestSchema, ListWatchedModelsRequestSchema, ModelHealthSchema, WatchedModelSchema } from '@aio/proto/aio/monitor/v1/monitor';
import type { JsonValue } from '@bufbuild/protobuf';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { WatchedModelsService } from './watched-models.service.js';

/** REST mirror of MonitorService under /v1 (protobuf JSON with proto field names). */
@Controller('v1/models')
export class WatchedModelsController {
  constructor(@Inject(WatchedModelsService) private readonly watched: WatchedModelsService) {}

  @Get()
  @Permission('monitor:read')
  async list(@Query() query: unknown): Promise<JsonValue> {
    const request = fromRestJson(ListWatchedModelsRequestSchema, query, 'query');
    const page = await this.watched.list(request.pageSize, request.pageToken);
    return { models: page.models.map((m) => toRestJson(WatchedModelSchema, m)), next_page_token: page.nextPageToken };
  }

  @Get(':name/health')
  @Permission('monitor:read')
  async health(@Param('name') name: string, @Query() query: Record<string, unknown>): Promise<JsonValue> {
    const request = fromRestJson(GetModelHealthRequestSchema, { ...query, model: name }, 'query');
    return { health: toRestJson(ModelHealthSchema, await this.watched.health(request)) };
  }
}
