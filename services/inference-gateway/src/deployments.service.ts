import { GrpcError, Status } from '@aio/grpc';
import { Platform } from '@aio/host';
import { DeploymentSchema, type Deployment } from '@aio/proto/aio/registry/v1/registry';
import { RepositoryIndexResponse_ModelIndexSchema, type RepositoryIndexResponse_ModelIndex } from '@aio/proto/inference/grpc_service';
import type { Logger } from '@aio/telemetry';
import { create, fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { DeploymentsRepository } from './deployments.repository.js';

export const UNAVAILABLE = 'UNAVAILABLE';
export const NOT_LOADED_REASON = 'loading arrives with issue #3';

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

/** Repository index entries: nothing is loaded yet, so every deployed version is UNAVAILABLE. */
export function indexEntries(deployments: readonly Deployment[]): RepositoryIndexResponse_ModelIndex[] {
  return deployments.flatMap((d) =>
    servedVersions(d).map((version) =>
      create(RepositoryIndexResponse_ModelIndexSchema, { name: d.model, version, state: UNAVAILABLE, reason: NOT_LOADED_REASON }),
    ),
  );
}

/** Deployments learned from registry events: what the gateway is asked to serve. */
@Injectable()
export class DeploymentsService {
  private readonly logger: Logger;

  constructor(
    @Inject(DeploymentsRepository) private readonly repo: DeploymentsRepository,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('deployments');
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
    if (outcome === 'stale') this.logger.debug('stale or repeated deployment event ignored', attrs);
    else this.logger.info(`deployment of ${deployment.model} is at generation ${deployment.generation}; ${NOT_LOADED_REASON}`, attrs);
  }

  async find(model: string): Promise<Deployment | undefined> {
    const doc = await this.repo.find(model);
    return doc === null ? undefined : fromJson(DeploymentSchema, doc.deployment as JsonObject);
  }

  /**
   * Triton's repository index. The gateway has one repository (the registry's deployments), so a
   * repository name other than empty is not found; nothing is ready until loading arrives (issue #3).
   */
  async index(repositoryName: string, readyOnly: boolean): Promise<RepositoryIndexResponse_ModelIndex[]> {
    if (repositoryName !== '') {
      throw new GrpcError(Status.NOT_FOUND, `model repository "${repositoryName}" not found: this gateway has one repository (the registry's deployments); leave repository_name empty`);
    }
    if (readyOnly) return [];
    const docs = await this.repo.all();
    return indexEntries(docs.map((d) => fromJson(DeploymentSchema, d.deployment as JsonObject)));
  }
}
