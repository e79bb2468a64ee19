import type { ServiceImpl } from '@aio/grpc';
import type { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { Inject, Injectable } from '@nestjs/common';
import { DeploymentsService } from './deployments.service.js';
import { InferenceService } from './inference.service.js';

/** inference.GRPCInferenceService (OIP v2 / Triton): one line per method, the logic is in the services. */
@Injectable()
export class InferenceGrpc {
  constructor(
    @Inject(InferenceService) private readonly inference: InferenceService,
    @Inject(DeploymentsService) private readonly deployments: DeploymentsService,
  ) {}

  impl(): ServiceImpl<typeof GRPCInferenceService> {
    const s = this.inference;
    return {
      serverLive: () => Promise.resolve({ live: true }),
      serverReady: async () => ({ ready: (await s.ready()).ready }),
      serverMetadata: () => Promise.resolve(s.metadata()),
      modelReady: (req) => Promise.resolve({ ready: s.modelReady(req.name, req.version) }),
      modelMetadata: (req) => s.modelMetadata(req.name, req.version),
      modelConfig: (req) => s.modelConfig(req.name, req.version),
      modelStatistics: (req) => s.modelStatistics(req.name, req.version),
      modelInfer: (req, ctx) => s.infer(req, { deadline: ctx.deadline, onCancel: (l) => ctx.onCancel(l) }),
      modelStreamInfer: (requests, ctx) => s.streamInfer(requests, { deadline: ctx.deadline, onCancel: (l) => ctx.onCancel(l) }),
      repositoryIndex: async (req) => ({ models: await this.deployments.index(req.repositoryName, req.ready) }),
      repositoryModelLoad: async (req) => {
        await this.deployments.load(req.modelName);
        return {};
      },
      repositoryModelUnload: async (req) => {
        await this.deployments.unload(req.modelName);
        return {};
      },
    };
  }
}
