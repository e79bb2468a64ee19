import { createArtifactStore, resolveArtifactDir, type ArtifactStore } from '@aio/artifacts';
import { mintToken, resolveAuthSecret } from '@aio/auth';
import { createGrpcClient, GrpcError, statusName, type GrpcClient } from '@aio/grpc';
import { RegistryService, type Deployment, type GetModelVersionRequest, type ModelVersion } from '@aio/proto/aio/registry/v1/registry';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ServingSettings } from './gateway.settings.js';
import type { ServingPlan, VersionArtifact } from './serving/model.manager.js';
import type { Route } from './serving/traffic.split.js';

const TOKEN_TTL_SECONDS = 3600;

/**
 * Turns a deployment into a serving plan: which versions take which share of the traffic (an alias
 * resolved through the registry's GetModelVersion) and the local file of each version's artifact
 * (ModelVersion.artifact_sha256 in the content-addressed artifact store). The only I/O of serving.
 */
@Injectable()
export class VersionResolver implements OnApplicationShutdown {
  private client: GrpcClient<typeof RegistryService> | undefined;
  private readonly store: ArtifactStore;
  private token: { value: string; renewAt: number } | undefined;

  constructor(@Inject(ServingSettings) private readonly settings: ServingSettings) {
    this.store = createArtifactStore({ dir: resolveArtifactDir(settings.artifactDir) });
  }

  async plan(deployment: Deployment): Promise<ServingPlan> {
    const model = deployment.model;
    const versions = new Map<number, ModelVersion>();
    const traffic = deployment.traffic.filter((r) => r.weight > 0);
    let routes: Route[];
    if (traffic.length > 0) {
      // One weighted route is simply the version that serves; two or more are a canary split.
      routes = traffic.map((r) => ({ version: r.version, weight: r.weight, canary: traffic.length > 1 }));
    } else if (deployment.target.case === 'version') {
      routes = [{ version: deployment.target.value, weight: 1, canary: false }];
    } else if (deployment.target.case === 'alias') {
      const mv = await this.getVersion({ model, selector: { case: 'alias', value: deployment.target.value } }, `alias ${deployment.target.value}`);
      versions.set(mv.version, mv);
      routes = [{ version: mv.version, weight: 1, canary: false }];
    } else {
      throw new Error(`the deployment of ${model} names no version, alias or traffic with a positive weight`);
    }
    const wanted = [...new Set([...routes.map((r) => r.version), ...deployment.shadowVersions])];
    const artifacts = new Map<number, VersionArtifact>();
    for (const version of wanted) {
      const mv = versions.get(version) ?? (await this.getVersion({ model, selector: { case: 'version', value: version } }, `version ${version}`));
      artifacts.set(version, await this.artifactOf(mv));
    }
    return { generation: deployment.generation, routes, shadows: deployment.shadowVersions.filter((v) => v > 0), artifacts, batching: deployment.batching };
  }

  onApplicationShutdown(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async artifactOf(mv: ModelVersion): Promise<VersionArtifact> {
    const what = `${mv.model} version ${mv.version}`;
    if (mv.framework !== '' && mv.framework.toLowerCase() !== 'onnx') throw new Error(`${what} is a ${mv.framework} artifact; the gateway serves onnx`);
    if (mv.artifactSha256 === '') throw new Error(`${what} has no artifact (artifact_sha256 is empty): upload one to the registry`);
    let path: string;
    try {
      path = await this.store.pathOf(mv.artifactSha256);
    } catch (err) {
      throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)} (AIO_ARTIFACT_DIR=${this.settings.artifactDir})`, { cause: err });
    }
    const declared =
      mv.inputs.length > 0 || mv.outputs.length > 0
        ? { inputs: mv.inputs.map((t) => ({ name: t.name, datatype: t.datatype })), outputs: mv.outputs.map((t) => ({ name: t.name, datatype: t.datatype })) }
        : undefined;
    return declared === undefined ? { path } : { path, declared };
  }

  private async getVersion(req: Omit<GetModelVersionRequest, '$typeName'>, what: string): Promise<ModelVersion> {
    let answer;
    try {
      answer = await this.registry().getModelVersion(req);
    } catch (err) {
      const detail = err instanceof GrpcError ? `${statusName(err.code)}: ${err.message}` : err instanceof Error ? err.message : String(err);
      throw new Error(`the registry at ${this.settings.registryAddress} cannot resolve ${req.model} ${what}: ${detail}`, { cause: err });
    }
    if (answer.version === undefined) throw new Error(`the registry answered no version for ${req.model} ${what}`);
    return answer.version;
  }

  private registry(): GrpcClient<typeof RegistryService> {
    this.client ??= createGrpcClient(RegistryService, this.settings.registryAddress, { token: () => this.bearer(), timeoutMs: 10_000 });
    return this.client;
  }

  /** AIO_REGISTRY_TOKEN when set, else a `service` token minted from the platform's HS256 secret, renewed at half its life. */
  private async bearer(): Promise<string> {
    if (this.settings.registryToken !== undefined) return this.settings.registryToken;
    if (this.token !== undefined && Date.now() < this.token.renewAt) return this.token.value;
    const secret = resolveAuthSecret(this.settings.auth.secret);
    if (secret === undefined) {
      throw new Error('no token for the registry: set AIO_REGISTRY_TOKEN (a token with models:read), or AIO_AUTH_SECRET to mint one');
    }
    const value = await mintToken({
      secret,
      subject: 'inference-gateway',
      roles: ['service'],
      issuer: this.settings.auth.issuer,
      audience: this.settings.auth.audience,
      ttlSeconds: TOKEN_TTL_SECONDS,
    });
    this.token = { value, renewAt: Date.now() + (TOKEN_TTL_SECONDS * 1000) / 2 };
    return value;
  }
}
