import type { ServiceImpl } from '@aio/grpc';
import { TrainerService } from '@aio/proto/aio/trainer/v1/trainer';
import { Inject, Injectable } from '@nestjs/common';
import { RunsService } from './runs.service.js';

/** aio.trainer.v1.TrainerService: thin handlers over RunsService. */
@Injectable()
export class TrainerGrpc {
  constructor(@Inject(RunsService) private readonly runs: RunsService) {}

  impl(): ServiceImpl<typeof TrainerService> {
    return {
      submitRun: async (req, ctx) => ({ run: await this.runs.submit(req, ctx.principal?.subject ?? 'anonymous') }),
      getRun: async (req) => ({ run: await this.runs.get(req.id) }),
      listRuns: (req) => this.runs.list(req),
      cancelRun: async (req) => ({ run: await this.runs.cancel(req) }),
    };
  }
}
