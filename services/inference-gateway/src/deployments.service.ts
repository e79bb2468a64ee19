import { GrpcError, invalidArgument, Status } from '@aio/grpc';
import { Platform } from '@aio/host';
import { DeploymentSchema, type Deployment } from '@aio/proto/aio/registry/v1/registry';
import { RepositoryIndexResponse_ModelIndexSchema, type RepositoryIndexResponse_ModelIndex } from '@aio/proto/inference/grpc_service';
import type { Logger } from '@aio/telemetry';
import { create, fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DeploymentsRepository } from './deployments.repository.js';
import { ModelManager, type ServedVersion } from './serving/model.manager.js';
import { VersionResolver } from './version.resolver.js';

export const UNAVAILABLE = 'UNAVAILABLE';
const UNLOADED_REASON = 'unloaded by RepositoryModelUnload; RepositoryModelLoad or a new deployment loads it again';
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * The versions a deployment asks the gateway to serve: the traffic split (or else the pinned version)
 * plus shadows. An alias target has no version of its own here ("" = whatever the alias points at).
 */
export function servedVersions(deployment: Deployment): string[] {
  const primary =
    deployment.traffic.length > 0
      ? deployment.traffic.map((r) => r.version)
      : deployment.target.case === 'version'
        ? [deployment.target.value]
        : [];
  const versions = [...new Set([...primary, ...deployment.shadowVersions])].sort((a, b) => a - b).map(String);
  return versions.length === 0 ? [''] : versions;
}

/**
 * Repository index entries: each version the gateway holds with its state (READY, LOADING, UNLOADING,
 * UNAVAILABLE and why), and for a deployment nothing is held for yet, its versions as UNAVAILABLE.
 */
export function indexEntries(deployments: readonly Deployment[], held: (model: string) => readonly ServedVersion[], why: (model: string) => string): RepositoryIndexResponse_ModelIndex[] {
  return deployments.flatMap((d) => {
    const versions = held(d.model);
    if (versions.length > 0) {
      return versions.map((v) => create(RepositoryIndexResponse_ModelIndexSchema, { name: d.model, version: String(v.version), state: v.state, reason: v.reason }));
    }
    return servedVersions(d).map((version) => create(RepositoryIndexResponse_ModelIndexSchema, { name: d.model, version, state: UNAVAILABLE, reason: why(d.model) }));
  });
}

interface Pending {
  running?: Promise<void>;
  queued?: Promise<void>;
  retry?: NodeJS.Timeout;
  attempt: number;
}

/**
 * Deployments learned from registry events, and bringing the loaded models to them: on start for
 * every stored deployment, on each DeploymentChanged, on an alias move the deployment follows, and
 * on RepositoryModelLoad. Failures are kept as the model's reason and retried with backoff.
 */
@Injectable()
export class DeploymentsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly pending = new Map<string, Pending>();
  /** Models unloaded on request, with the generation they were at: they stay unloaded until it changes. */
  private readonly held = new Map<string, number>();
  private closing = false;

  constructor(
    @Inject(DeploymentsRepository) private readonly repo: DeploymentsRepository,
    @Inject(ModelManager) private readonly models: ModelManager,
    @Inject(VersionResolver) private readonly resolver: VersionResolver,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('deployments');
  }

  /** Loads what the stored deployments say, in the background: the gateway serves health and metadata meanwhile. */
  async onApplicationBootstrap(): Promise<void> {
    const docs = await this.repo.all();
    for (const d of docs) void this.reconcile(d._id).catch(() => undefined);
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const p of this.pending.values()) clearTimeout(p.retry);
  }

  async record(deployment: Deployment, eventId: string): Promise<void> {
    if (deployment.model === '') throw new Error(`DeploymentChanged ${eventId} names no model`);
    const outcome = await this.repo.store({
      _id: deployment.model,
      generation: deployment.generation,
      deployment: toJson(DeploymentSchema, deployment) as JsonObject,
      updatedAt: new Date(),
    });
    const attrs = { 'aio.model': deployment.model, 'aio.generation': deployment.generation, 'event.id': eventId };
    if (outcome === 'stale') {
      this.logger.debug('stale or repeated deployment event ignored', attrs);
      return;
    }
    this.logger.info(`deployment of ${deployment.model} is at generation ${deployment.generation}`, attrs);
    // The consumer does not wait for the load: a slow model must not hold up the partition.
    void this.reconcile(deployment.model).catch(() => undefined);
  }

  /** An alias moved: a deployment that follows it (and has no traffic split) is served from the new version. */
  async aliasMoved(model: string, alias: string): Promise<void> {
    const deployment = await this.find(model);
    if (deployment?.target.case === 'alias' && deployment.target.value === alias && deployment.traffic.every((r) => r.weight === 0)) {
      void this.reconcile(model).catch(() => undefined);
    }
  }

  async find(model: string): Promise<Deployment | undefined> {
    const doc = await this.repo.find(model);
    return doc === null ? undefined : fromJson(DeploymentSchema, doc.deployment as JsonObject);
  }

  /**
   * Brings the model to its stored deployment. Calls that arrive while one runs share the next run,
   * which reads the deployment afresh: the latest desired state wins, intermediate ones are skipped.
   */
  reconcile(model: string): Promise<void> {
    let p = this.pending.get(model);
    if (p === undefined) {
      p = { attempt: 0 };
      this.pending.set(model, p);
    }
    if (p.queued !== undefined) return p.queued;
    const entry = p;
    const queued: Promise<void> = (entry.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        entry.queued = undefined;
        entry.running = queued;
        try {
          await this.reconcileNow(model, entry);
        } finally {
          if (entry.running === queued) entry.running = undefined;
        }
      });
    entry.queued = queued;
    return queued;
  }

  /** Triton's RepositoryModelLoad: (re)loads the model from its deployment and answers once it serves. */
  async load(model: string): Promise<void> {
    if (model === '') throw invalidArgument('model_name', 'is required');
    if ((await this.find(model)) === undefined) {
      throw new GrpcError(Status.NOT_FOUND, `model ${model} has no deployment known to this gateway: set one in the registry (SetDeployment)`);
    }
    this.held.delete(model);
    await this.reconcile(model);
    if (this.models.servingVersions(model).length === 0) throw new GrpcError(Status.UNAVAILABLE, `model ${model} could not be loaded: ${this.models.whyNotServing(model)}`);
  }

  /** Triton's RepositoryModelUnload: stops serving the model (in-flight requests finish) until it is loaded again. */
  async unload(model: string): Promise<void> {
    if (model === '') throw invalidArgument('model_name', 'is required');
    const deployment = await this.find(model);
    if (deployment === undefined && this.models.versions(model).length === 0) throw new GrpcError(Status.NOT_FOUND, `model ${model} is not known to this gateway`);
    this.held.set(model, deployment?.generation ?? 0);
    const p = this.pending.get(model);
    if (p !== undefined) clearTimeout(p.retry);
    await this.models.unload(model, UNLOADED_REASON);
  }

  /**
   * Triton's repository index. The gateway has one repository (the registry's deployments), so a
   * repository name other than empty is not found.
   */
  async index(repositoryName: string, readyOnly: boolean): Promise<RepositoryIndexResponse_ModelIndex[]> {
    if (repositoryName !== '') {
      throw new GrpcError(Status.NOT_FOUND, `model repository "${repositoryName}" not found: this gateway has one repository (the registry's deployments); leave repository_name empty`);
    }
    const docs = await this.repo.all();
    const entries = indexEntries(
      docs.map((d) => fromJson(DeploymentSchema, d.deployment as JsonObject)),
      (m) => this.models.versions(m),
      (m) => this.models.whyNotServing(m),
    );
    return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
  }

  private async reconcileNow(model: string, p: Pending): Promise<void> {
    clearTimeout(p.retry);
    p.retry = undefined;
    if (this.closing) return;
    const deployment = await this.find(model);
    if (deployment === undefined) return;
    const heldAt = this.held.get(model);
    if (heldAt !== undefined) {
      if (heldAt === deployment.generation) return;
      this.held.delete(model);
    }
    try {
      const plan = await this.resolver.plan(deployment);
      await this.models.apply(model, plan);
      p.attempt = 0;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!(err instanceof GrpcError)) this.models.setProblem(model, `deployment generation ${deployment.generation} cannot be served: ${reason}`);
      if (this.closing) return;
      const delay = Math.min(RETRY_MIN_MS * 2 ** p.attempt, RETRY_MAX_MS);
      p.attempt++;
      this.logger.warn(`model ${model} cannot be brought to its deployment; retrying in ${delay} ms: ${reason}`, { 'aio.model': model, 'aio.generation': deployment.generation });
      p.retry = setTimeout(() => void this.reconcile(model).catch(() => undefined), delay);
      p.retry.unref();
      throw err;
    }
  }
}
