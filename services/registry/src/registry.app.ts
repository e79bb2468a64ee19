import { createArtifactStore, resolveArtifactDir } from '@aio/artifacts';
import { Platform, startPlatformService, type RunningService } from '@aio/host';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import type { Telemetry } from '@aio/telemetry';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ArtifactStorage } from './artifacts/artifact.storage.js';
import { ArtifactsController } from './artifacts/artifacts.controller.js';
import { ArtifactsRepository } from './artifacts/artifacts.repository.js';
import { ArtifactsService } from './artifacts/artifacts.service.js';
import { OctetStreamBody } from './artifacts/octet-stream.body.js';
import { OnnxVerifier } from './artifacts/onnx.signature.js';
import type { RegistryConfig } from './config.js';
import { ModelsController } from './models.controller.js';
import { ModelsRepository } from './models.repository.js';
import { ModelsService } from './models.service.js';
import { RegistryGrpc } from './registry.grpc.js';

/** Relays the registry's outbox (models and versions carry their pending events). */
@Injectable()
class RegistryOutbox implements OnApplicationBootstrap {
  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(ModelsRepository) private readonly repo: ModelsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.platform.startOutbox([this.repo.models, this.repo.versions], [ModelCreatedSchema, ModelVersionCreatedSchema, AliasMovedSchema, DeploymentChangedSchema]);
  }
}

export function startRegistry(config: RegistryConfig, telemetry: Telemetry, opts: { handleSignals?: boolean } = {}): Promise<RunningService> {
  const store = createArtifactStore({ dir: resolveArtifactDir(config.AIO_ARTIFACT_DIR) });
  const storage = new ArtifactStorage(store, config.AIO_ARTIFACT_MAX_BYTES, new OnnxVerifier());
  return startPlatformService({
    name: 'registry',
    config,
    telemetry,
    controllers: [ModelsController, ArtifactsController],
    providers: [
      { provide: ArtifactStorage, useValue: storage },
      OctetStreamBody,
      ArtifactsRepository,
      ArtifactsService,
      ModelsRepository,
      ModelsService,
      RegistryGrpc,
      RegistryOutbox,
    ],
    grpc: (server, app) => server.add(RegistryService, app.get(RegistryGrpc).impl()),
    ...opts,
  });
}
