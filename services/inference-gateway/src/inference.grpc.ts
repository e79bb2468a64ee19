import type { ServiceImpl } from '@aio/grpc';
import { GrpcError } from '@aio/grpc';
import type { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { Inject, Injectable } from '@nestjs/common';
import { DeploymentsService } from './deployments.service.js';
import { InferenceService, lifecycleUnimplemented } from './inference.service.js';

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
      modelReady: async (req) => ({ ready: await s.modelReady(req.name) }),
      modelMetadata: (req) => s.requireLoaded('name', req.name, req.version),
      modelConfig: (req) => s.requireLoaded('name', req.name, req.version),
      // Triton: an empty name asks for every loaded model, and none is loaded.
      modelStatistics: async (req) => (req.name === '' ? { modelStats: [] } : s.requireLoaded('name', req.name, req.version)),
      modelInfer: (req) => s.infer(req),
      modelStreamInfer: (requests) => streamInfer(s, requests),
      repositoryIndex: async (req) => ({ models: await this.deployments.index(req.repositoryName, req.ready) }),
      repositoryModelLoad: () => Promise.reject(lifecycleUnimplemented('RepositoryModelLoad')),
      repositoryModelUnload: () => Promise.reject(lifecycleUnimplemented('RepositoryModelUnload')),
    };
  }
}

/**
 * Triton reports a failed request of the stream in that message's error_message and keeps the stream
 * open for the next one; every request fails the same way until loading arrives (issue #3).
 */
async function* streamInfer(s: InferenceService, requests: AsyncIterable<Parameters<InferenceService['infer']>[0]>) {
  for await (const req of requests) {
    try {
      await s.infer(req);
    } catch (err) {
      if (!(err instanceof GrpcError)) throw err;
      yield { errorMessage: err.message, inferResponse: { modelName: req.modelName, modelVersion: req.modelVersion, id: req.id } };
    }
  }
}
