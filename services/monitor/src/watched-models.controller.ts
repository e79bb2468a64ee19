import { Permission, toRestJson } from '@aio/host';
import { GetModelHealthRequestSchema, ModelHealthSchema, WatchedModelSchema } from '@aio/proto/aio/monitor/v1/monitor';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { uintParam } from './query.params.js';
import { WatchedModelsService } from './watched-models.service.js';

/** REST mirror of MonitorService under /v1 (protobuf JSON with proto field names). */
@Controller('v1/models')
export class WatchedModelsController {
  constructor(@Inject(WatchedModelsService) private readonly watched: WatchedModelsService) {}

  @Get()
  @Permission('monitor:read')
  async list(@Query('page_size') size?: string, @Query('page_token') token?: string): Promise<JsonValue> {
    const page = await this.watched.list(uintParam('page_size', size), token ?? '');
    return { models: page.models.map((m) => toRestJson(WatchedModelSchema, m)), next_page_token: page.nextPageToken };
  }

  @Get(':name/health')
  @Permission('monitor:read')
  async health(@Param('name') name: string, @Query('version') version?: string, @Query('window_seconds') window?: string): Promise<JsonValue> {
    const request = create(GetModelHealthRequestSchema, { model: name, version: uintParam('version', version), windowSeconds: uintParam('window_seconds', window) });
    return { health: toRestJson(ModelHealthSchema, await this.watched.health(request)) };
  }
}
