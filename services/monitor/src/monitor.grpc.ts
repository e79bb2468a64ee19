import type { ServiceImpl } from '@aio/grpc';
import type { MonitorService } from '@aio/proto/aio/monitor/v1/monitor';
import { Inject, Injectable } from '@nestjs/common';
import { WatchedModelsService } from './watched-models.service.js';

/** aio.monitor.v1.MonitorService: one line per method, the logic is in WatchedModelsService. */
@Injectable()
export class MonitorGrpc {
  constructor(@Inject(WatchedModelsService) private readonly watched: WatchedModelsService) {}

  impl(): ServiceImpl<typeof MonitorService> {
    const w = this.watched;
    return {
      listWatchedModels: (req) => w.list(req.pageSize, req.pageToken),
      getModelHealth: async (req) => ({ health: await w.health(req) }),
    };
  }
}
