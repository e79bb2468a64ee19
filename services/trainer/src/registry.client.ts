import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import type { ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import {
  DeploymentSchema,
  RegistryService,
  UploadArtifactRequestSchema,
  type AliasChange,
  type Deployment,
  type ModelVersion,
  type UploadArtifactRequest,
} from '@aio/proto/aio/registry/v1/registry';
import { create } from '@bufbuild/protobuf';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { serviceToken } from './service.token.js';
import { TrainerSettings } from './trainer.settings.js';

const CHUNK = 1024 * 1024;

export interface NewVersion {
  model: string;
  onnx: Uint8Array;
  metrics: Record<string, number>;
  profile: ReferenceProfile;
  dataset: string;
  datasetVersion: number;
  runId: string;
  description: string;
}

/** What the trainer asks of the registry: store the model file, make sure the model exists, register the version. */
@Injectable()
export class RegistryClient implements OnApplicationShutdown {
  private readonly client: GrpcClient<typeof RegistryService>;

  constructor(@Inject(TrainerSettings) settings: TrainerSettings) {
    const config = settings.config;
    this.client = createGrpcClient(RegistryService, config.AIO_REGISTRY_ADDR, { token: () => serviceToken(config), timeoutMs: 120_000 });
  }

  async register(v: NewVersion): Promise<ModelVersion> {
    const sha256 = await this.upload(v.onnx, `${v.model}-${v.runId}.onnx`);
    try {
      await this.client.createModel({ name: v.model, description: `trained by the trainer from ${v.dataset}` });
    } catch (err) {
      if (!(err instanceof GrpcError && err.code === Status.ALREADY_EXISTS)) throw err;
    }
    const { version } = await this.client.createModelVersion({
      model: v.model,
      artifactSha256: sha256,
      framework: 'onnx',
      metrics: v.metrics,
      lineage: { dataset: v.dataset, datasetVersion: v.datasetVersion, trainingRunId: v.runId },
      description: v.description,
      referenceProfile: v.profile,
    });
    if (version === undefined) throw new Error('the registry answered CreateModelVersion without a version');
    return version;
  }

  /** The version the alias points at, or undefined when the model or the alias does not exist. */
  async versionByAlias(model: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      return (await this.client.getModelVersion({ model, selector: { case: 'alias', value: alias } })).version;
    } catch (err) {
      if (err instanceof GrpcError && err.code === Status.NOT_FOUND) return undefined;
      throw err;
    }
  }

  async setAlias(model: string, alias: string, version: number, reason: string): Promise<AliasChange | undefined> {
    return (await this.client.setAlias({ model, alias, version, reason })).change;
  }

  /**
   * Edits the model's deployment (a fresh one when it has none) and stores it only if nobody changed it
   * in between (expected_generation), so batching and shadow settings made by people survive.
   */
  async updateDeployment(model: string, edit: (deployment: Deployment) => void): Promise<Deployment | undefined> {
    let current: Deployment | undefined;
    try {
      current = (await this.client.getDeployment({ model })).deployment;
    } catch (err) {
      if (!(err instanceof GrpcError && err.code === Status.NOT_FOUND)) throw err;
    }
    const next = create(DeploymentSchema, current ?? { model });
    edit(next);
    return (await this.client.setDeployment({ deployment: next, expectedGeneration: current?.generation ?? 0 })).deployment;
  }

  private async upload(bytes: Uint8Array, filename: string): Promise<string> {
    function* parts(): Iterable<UploadArtifactRequest> {
      yield create(UploadArtifactRequestSchema, { part: { case: 'header', value: { filename, format: 'onnx', expectedSize: BigInt(bytes.length) } } });
      for (let at = 0; at < bytes.length; at += CHUNK) {
        yield create(UploadArtifactRequestSchema, { part: { case: 'chunk', value: bytes.subarray(at, at + CHUNK) } });
      }
    }
    const { artifact } = await this.client.uploadArtifact(toAsync(parts()));
    if (artifact === undefined) throw new Error('the registry answered UploadArtifact without an artifact');
    return artifact.sha256;
  }

  onApplicationShutdown(): void {
    this.client.close();
  }
}

async function* toAsync<T>(items: Iterable<T>): AsyncIterable<T> {
  for (const item of items) yield await Promise.resolve(item);
}
