import type { CallContext, ServiceImpl } from '@aio/grpc';
import type { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { Inject, Injectable } from '@nestjs/common';
import { ArtifactsService, splitUpload } from './artifacts/artifacts.service.js';
import { ModelsService } from './models.service.js';

const subjectOf = (ctx: CallContext): string => ctx.principal?.subject ?? 'anonymous';

/** aio.registry.v1.RegistryService: one line per method, the logic is in ModelsService. */
@Injectable()
export class RegistryGrpc {
  constructor(
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(ArtifactsService) private readonly artifacts: ArtifactsService,
  ) {}

  impl(): ServiceImpl<typeof RegistryService> {
    const m = this.models;
    const a = this.artifacts;
    return {
      createModel: async (req, ctx) => ({ model: await m.createModel(req, subjectOf(ctx)) }),
      getModel: async (req) => ({ model: await m.getModel(req.name) }),
      listModels: (req) => m.listModels(req.pageSize, req.pageToken),
      createModelVersion: async (req, ctx) => ({ version: await m.createVersion(req, subjectOf(ctx)) }),
      getModelVersion: async (req) => ({ version: await m.getVersion(req) }),
      listModelVersions: (req) => m.listVersions(req.model, req.pageSize, req.pageToken),
      setAlias: async (req, ctx) => ({ change: await m.setAlias(req, subjectOf(ctx)) }),
      getAliasHistory: (req) => m.aliasHistory(req.model, req.alias, req.pageSize, req.pageToken),
      setDeployment: async (req, ctx) => ({ deployment: await m.setDeployment(req, subjectOf(ctx)) }),
      getDeployment: async (req) => ({ deployment: await m.getDeployment(req.model) }),
      uploadArtifact: async (requests, ctx) => {
        const { header, chunks } = await splitUpload(requests);
        return a.upload(header, chunks, subjectOf(ctx), ctx.signal);
      },
      getArtifact: async (req) => ({ artifact: await a.get(req.sha256) }),
    };
  }
}
