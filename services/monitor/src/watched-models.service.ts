import { GrpcError, invalidArgument, notFound, Status } from '@aio/grpc';
import { decodePageToken, encodePageToken, pageSize, Platform } from '@aio/host';
import {
  WatchedModelSchema,
  type GetModelHealthRequest,
  type ModelHealth,
  type WatchedModel,
} from '@aio/proto/aio/monitor/v1/monitor';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Logger } from '@aio/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { HealthService } from './health/health.service.js';
import { WatchedModelsRepository, type WatchedModelDoc } from './watched-models.repository.js';

/** What one registry event tells the monitor about a model. */
export type WatchChange =
  | { kind: 'model-created'; aliases: Record<string, number> }
  | { kind: 'version-created'; version: number }
  | { kind: 'alias-moved'; alias: string; toVersion: number }
  | { kind: 'deployment-changed'; generation: number };

export interface WatchEvent {
  /** CloudEvents id. */
  id: string;
  model: string;
  time: Date;
  change: WatchChange;
}

/** How many applied event ids a document remembers: far more than one redelivered batch. */
export const RECENT_EVENT_IDS = 256;
export const MAX_WINDOW_SECONDS = 30 * 24 * 3600;

function withVersion(versions: readonly number[], version: number): number[] {
  if (version === 0 || versions.includes(version)) return [...versions];
  return [...versions, version].sort((a, b) => a - b);
}

/**
 * The watched-model document after one event, or undefined when the event was already applied.
 * Pure, so that redelivery, reordering across types and stale deployments are unit-testable.
 */
export function applyEvent(current: WatchedModelDoc | null, event: WatchEvent): WatchedModelDoc | undefined {
  if (current?.recentEventIds.includes(event.id)) return undefined;
  const doc: WatchedModelDoc = current
    ? { ...current, versions: [...current.versions], aliases: current.aliases.map((a) => ({ ...a })) }
    : {
        _id: event.model,
        versions: [],
        aliases: [],
        deploymentGeneration: 0,
        firstSeenAt: event.time,
        lastSeenAt: event.time,
        eventCount: 0,
        recentEventIds: [],
      };
  const setAlias = (alias: string, version: number, overwrite: boolean): void => {
    const found = doc.aliases.find((a) => a.alias === alias);
    if (found === undefined) doc.aliases.push({ alias, version });
    else if (overwrite) found.version = version;
    doc.versions = withVersion(doc.versions, version);
  };
  const change = event.change;
  switch (change.kind) {
    case 'model-created':
      // Aliases moved by later events (already applied when this one is redelivered late) win.
      for (const [alias, version] of Object.entries(change.aliases)) setAlias(alias, version, false);
      break;
    case 'version-created':
      doc.versions = withVersion(doc.versions, change.version);
      break;
    case 'alias-moved':
      if (change.alias !== '') setAlias(change.alias, change.toVersion, true);
      break;
    case 'deployment-changed':
      doc.deploymentGeneration = Math.max(doc.deploymentGeneration, change.generation);
      break;
  }
  doc.aliases.sort((a, b) => a.alias.localeCompare(b.alias));
  if (event.time < doc.firstSeenAt) doc.firstSeenAt = event.time;
  if (event.time > doc.lastSeenAt) doc.lastSeenAt = event.time;
  doc.eventCount += 1;
  doc.recentEventIds = [...doc.recentEventIds, event.id].slice(-RECENT_EVENT_IDS);
  return doc;
}

export function watchedModelOf(doc: WatchedModelDoc): WatchedModel {
  return create(WatchedModelSchema, {
    model: doc._id,
    versions: doc.versions,
    aliases: Object.fromEntries(doc.aliases.map((a) => [a.alias, a.version])),
    firstSeenTime: timestampFromDate(doc.firstSeenAt),
    lastSeenTime: timestampFromDate(doc.lastSeenAt),
  });
}

/** Checks the request fields that do not need the store. */
export function validateHealthRequest(req: GetModelHealthRequest): void {
  if (req.model === '') throw invalidArgument('model', 'is required');
  if (req.windowSeconds > MAX_WINDOW_SECONDS) throw invalidArgument('window_seconds', `must be at most ${MAX_WINDOW_SECONDS} (30 days)`);
}

/** A version must have been announced by the registry before its health is asked for. */
export function checkVersionWatched(doc: WatchedModelDoc, req: GetModelHealthRequest): void {
  if (req.version !== 0 && !doc.versions.includes(req.version)) throw notFound('model version', `${doc._id}:${req.version}`);
}

/** The models the monitor watches, learned from registry events, and what it can say about their health. */
@Injectable()
export class WatchedModelsService {
  private readonly logger: Logger;

  constructor(
    @Inject(WatchedModelsRepository) private readonly repo: WatchedModelsRepository,
    @Inject(HealthService) private readonly healthService: HealthService,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('watched-models');
  }

  async record(event: WatchEvent): Promise<void> {
    if (event.model === '') throw new Error(`event ${event.id} (${event.change.kind}) names no model`);
    const outcome = await this.repo.apply(event.model, (current) => applyEvent(current, event));
    const attrs = { 'aio.model': event.model, 'event.id': event.id, 'event.action': event.change.kind };
    if (outcome === 'created') this.logger.info(`watching model ${event.model}`, attrs);
    else if (outcome === 'unchanged') this.logger.debug('event already applied', attrs);
  }

  async list(size: number, token: string): Promise<{ models: WatchedModel[]; nextPageToken: string }> {
    const limit = pageSize(size);
    const docs = await this.repo.list(decodePageToken(token, 'page_token'), limit);
    const last = docs.at(-1);
    return { models: docs.map(watchedModelOf), nextPageToken: docs.length === limit && last ? encodePageToken(last._id) : '' };
  }

  async health(req: GetModelHealthRequest): Promise<ModelHealth> {
    validateHealthRequest(req);
    const doc = await this.repo.find(req.model);
    if (doc === null) {
      throw new GrpcError(Status.NOT_FOUND, `model "${req.model}" is not watched: the monitor learns models from registry events (create it in the registry first)`);
    }
    checkVersionWatched(doc, req);
    return this.healthService.health(req.model, req.version, req.windowSeconds);
  }
}
