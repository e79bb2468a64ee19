import type { ServiceImpl } from '@aio/grpc';
import { TrainerService } from '@aio/proto/aio/trainer/v1/trainer';
import { Inject, Injectable } from '@nestjs/common';
import { PoliciesService } from './policies.service.js';
import { RunsService } from './runs.service.js';

/** aio.trainer.v1.TrainerService: thin handlers over RunsService and PoliciesService. */
@Injectable()
export class TrainerGrpc {
  constructor(
    @Inject(RunsService) private readonly runs: RunsService,
    @Inject(PoliciesService) private readonly policies: PoliciesService,
  ) {}

  impl(): ServiceImpl<typeof TrainerService> {
    return {
      submitRun: async (req, ctx) => ({ run: await this.runs.submit(req, ctx.principal?.subject ?? 'anonymous') }),
      getRun: async (req) => ({ run: await this.runs.get(req.id) }),
      listRuns: (req) => this.runs.list(req),
      cancelRun: async (req) => ({ run: await this.runs.cancel(req) }),
      setRetrainPolicy: async (req, ctx) => ({ policy: await this.policies.set(req.policy, ctx.principal?.subject ?? 'anonymous') }),
      getRetrainPolicy: async (req) => ({ policy: await this.policies.get(req.model) }),
      deleteRetrainPolicy: async (req) => {
        await this.policies.delete(req.model);
        return {};
      },
    };
  }
}
