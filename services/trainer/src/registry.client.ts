import { mintToken, resolveAuthSecret } from '@aio/auth';
import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import type { ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { RegistryService, UploadArtifactRequestSchema, type ModelVersion, type UploadArtifactRequest } from '@aio/proto/aio/registry/v1/registry';
import { create } from '@bufbuild/protobuf';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { TrainerConfig } from './config.js';
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

/** AIO_SERVICE_TOKEN when tokens come from an identity provider; locally a short-lived token minted with the HS256 secret. */
let cached: { token: string; expires: number } | undefined;
async function serviceToken(config: TrainerConfig): Promise<string> {
  if (config.AIO_SERVICE_TOKEN) return config.AIO_SERVICE_TOKEN;
  const secret = resolveAuthSecret(config.AIO_AUTH_SECRET);
  if (secret === undefined) throw new Error('the trainer needs AIO_SERVICE_TOKEN (or AIO_AUTH_SECRET locally) to call the registry');
  if (cached === undefined || cached.expires < Date.now() + 60_000) {
    const ttlSeconds = 15 * 60;
    cached = {
      token: await mintToken({ secret, subject: 'trainer', roles: ['service'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE, ttlSeconds }),
      expires: Date.now() + ttlSeconds * 1000,
    };
  }
  return cached.token;
}

async function* toAsync<T>(items: Iterable<T>): AsyncIterable<T> {
  for (const item of items) yield await Promise.resolve(item);
}
