import { BATCHING_LIMITS } from '@aio/config';
import { alreadyExists, failedPrecondition, GrpcError, invalidArgument, notFound, Status } from '@aio/grpc';
import { decodePageToken, encodePageToken, pageSize, Platform } from '@aio/host';
import { newOutboxEntry } from '@aio/mongo';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import {
  AliasChangeSchema,
  DeploymentSchema,
  ModelSchema,
  ModelVersionSchema,
  type AliasChange,
  type CreateModelRequest,
  type CreateModelVersionRequest,
  type Deployment,
  type GetModelVersionRequest,
  type Model,
  type ModelVersion,
  type SetAliasRequest,
  type SetDeploymentRequest,
} from '@aio/proto/aio/registry/v1/registry';
import { create, fromJson, toBinary, toJson, type DescMessage, type JsonObject, type MessageShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { ArtifactsService } from './artifacts/artifacts.service.js';
import { ModelsRepository, type AliasChangeDoc, type ModelDoc } from './models.repository.js';


// Names become Mongo keys and Kafka keys: keep them to characters every store accepts.
const NAME = /^[a-z0-9][a-z0-9_-]{0,127}$/;

function checkName(field: string, value: string): void {
  if (!NAME.test(value)) throw invalidArgument(field, 'must be 1-128 of a-z, 0-9, "_" or "-", starting with a letter or digit');
}

function checkKeys(field: string, record: Record<string, unknown>): void {
  for (const key of Object.keys(record)) {
    if (key === '' || key.includes('.') || key.startsWith('$')) throw invalidArgument(`${field}["${key}"]`, 'keys must be non-empty without "." or a leading "$"');
  }
}

/** The registry's rules: naming, version numbering, alias moves with history, deployments with generations. */
@Injectable()
export class ModelsService {
  constructor(
    @Inject(ModelsRepository) private readonly repo: ModelsRepository,
    @Inject(Platform) private readonly platform: Platform,
    @Inject(ArtifactsService) private readonly artifacts: ArtifactsService,
  ) {}

  private event<D extends DescMessage>(schema: D, key: string, message: MessageShape<D>) {
    return newOutboxEntry({ topic: this.platform.topics.registryEvents, key, type: schema.typeName, payload: toBinary(schema, message) });
  }

  async createModel(req: CreateModelRequest, subject: string): Promise<Model> {
    checkName('name', req.name);
    checkKeys('labels', req.labels);
    const doc = { _id: req.name, description: req.description, labels: req.labels, aliases: {}, latestVersion: 0, createdAt: new Date(), createdBy: subject, aliasHistory: [] };
    const model = modelOf(doc);
    if (!(await this.repo.insertModel(doc, this.event(ModelCreatedSchema, req.name, create(ModelCreatedSchema, { model }))))) {
      throw alreadyExists('model', req.name);
    }
    this.platform.nudgeOutbox();
    this.platform.logger.info('model created', { 'aio.model': req.name, 'user.name': subject });
    return model;
  }

  async getModel(name: string): Promise<Model> {
    return modelOf(await this.requireModel(name));
  }

  async listModels(size: number, token: string): Promise<{ models: Model[]; nextPageToken: string }> {
    const limit = pageSize(size);
    const docs = await this.repo.listModels(decodePageToken(token, 'page_token'), limit);
    const last = docs.at(-1);
    return { models: docs.map(modelOf), nextPageToken: docs.length === limit && last ? encodePageToken(last._id) : '' };
  }

  async createVersion(req: CreateModelVersionRequest, subject: string): Promise<ModelVersion> {
    checkName('model', req.model);
    checkKeys('metrics', req.metrics);
    // Checked before a version number is reserved: a refused request leaves no gap.
    const artifact = await this.artifacts.find(req.artifactSha256, 'artifact_sha256');
    if (artifact === undefined) throw failedPrecondition(`artifact ${req.artifactSha256} is not uploaded: upload it first (UploadArtifact or PUT /v1/artifacts)`);
    const number = await this.repo.nextVersion(req.model);
    if (number === undefined) throw notFound('model', req.model);
    const version = create(ModelVersionSchema, {
      model: req.model,
      version: number,
      artifactSha256: req.artifactSha256,
      framework: req.framework || artifact.format,
      metrics: req.metrics,
      lineage: req.lineage,
      // The signature read from the file, unless the request states one.
      inputs: req.inputs.length > 0 ? req.inputs : artifact.inputs,
      outputs: req.outputs.length > 0 ? req.outputs : artifact.outputs,
      description: req.description,
      referenceProfile: req.referenceProfile,
      createTime: timestampFromDate(new Date()),
      createdBy: subject,
    });
    const data = toJson(ModelVersionSchema, version) as JsonObject;
    await this.repo.insertVersion(
      { _id: `${req.model}:${number}`, model: req.model, version: number, data },
      this.event(ModelVersionCreatedSchema, req.model, create(ModelVersionCreatedSchema, { version })),
    );
    this.platform.nudgeOutbox();
    this.platform.logger.info('model version registered', { 'aio.model': req.model, 'aio.version': number });
    return version;
  }

  async getVersion(req: GetModelVersionRequest): Promise<ModelVersion> {
    let number: number;
    switch (req.selector.case) {
      case 'version':
        number = req.selector.value;
        break;
      case 'alias': {
        const model = await this.requireModel(req.model);
        const target = model.aliases[req.selector.value];
        if (target === undefined) throw notFound('alias', `${req.model}@${req.selector.value}`);
        number = target;
        break;
      }
      case undefined:
        throw invalidArgument('selector', 'set version or alias');
    }
    const doc = await this.repo.findVersion(req.model, number);
    if (doc === null) throw notFound('model version', `${req.model}:${number}`);
    return fromJson(ModelVersionSchema, doc.data as JsonObject);
  }

  async listVersions(model: string, size: number, token: string): Promise<{ versions: ModelVersion[]; nextPageToken: string }> {
    await this.requireModel(model);
    const limit = pageSize(size);
    const after = decodePageToken(token, 'page_token');
    const docs = await this.repo.listVersions(model, after === undefined ? undefined : Number(after), limit);
    const last = docs.at(-1);
    return {
      versions: docs.map((d) => fromJson(ModelVersionSchema, d.data as JsonObject)),
      nextPageToken: docs.length === limit && last ? encodePageToken(String(last.version)) : '',
    };
  }

  async setAlias(req: SetAliasRequest, subject: string): Promise<AliasChange> {
    checkName('alias', req.alias);
    const model = await this.requireModel(req.model);
    if (req.version < 1 || req.version > model.latestVersion) throw invalidArgument('version', `must be a registered version of ${req.model} (1..${model.latestVersion})`);
    if ((await this.repo.findVersion(req.model, req.version)) === null) throw notFound('model version', `${req.model}:${req.version}`);
    const doc: AliasChangeDoc = {
      alias: req.alias,
      fromVersion: model.aliases[req.alias] ?? 0,
      toVersion: req.version,
      reason: req.reason || 'manual',
      changedBy: subject,
      changeTime: new Date(),
    };
    const change = aliasChangeOf(req.model, doc);
    if (!(await this.repo.moveAlias(req.model, doc, this.event(AliasMovedSchema, req.model, create(AliasMovedSchema, { change }))))) {
      throw new GrpcError(Status.ABORTED, `alias ${req.model}@${req.alias} moved concurrently; read it again and retry`);
    }
    this.platform.nudgeOutbox();
    this.platform.logger.info('alias moved', { 'aio.model': req.model, 'aio.alias': req.alias, 'aio.from': doc.fromVersion, 'aio.to': doc.toVersion });
    return change;
  }

  async aliasHistory(model: string, alias: string, size: number, token: string): Promise<{ changes: AliasChange[]; nextPageToken: string }> {
    const doc = await this.requireModel(model);
    const all = doc.aliasHistory.filter((c) => alias === '' || c.alias === alias).reverse();
    const start = Number(decodePageToken(token, 'page_token') ?? 0);
    const limit = pageSize(size);
    const page = all.slice(start, start + limit);
    return { changes: page.map((c) => aliasChangeOf(model, c)), nextPageToken: start + limit < all.length ? encodePageToken(String(start + limit)) : '' };
  }

  async setDeployment(req: SetDeploymentRequest, subject: string): Promise<Deployment> {
    const wanted = req.deployment;
    if (wanted === undefined) throw invalidArgument('deployment', 'is required');
    const model = await this.requireModel(wanted.model);
    const current = model.deployment === undefined ? undefined : fromJson(DeploymentSchema, model.deployment as JsonObject);
    const generation = current?.generation ?? 0;
    if (req.expectedGeneration !== 0 && req.expectedGeneration !== generation) {
      throw failedPrecondition(`deployment of ${wanted.model} is at generation ${generation}, not ${req.expectedGeneration}`);
    }
    if (wanted.target.case === 'version' && (wanted.target.value < 1 || wanted.target.value > model.latestVersion)) {
      throw invalidArgument('deployment.version', `must be a registered version of ${wanted.model}`);
    }
    if (wanted.target.case === 'alias' && model.aliases[wanted.target.value] === undefined) {
      throw invalidArgument('deployment.alias', `alias "${wanted.target.value}" is not set on ${wanted.model}`);
    }
    for (const [i, route] of wanted.traffic.entries()) {
      if (route.version < 1 || route.version > model.latestVersion) throw invalidArgument(`deployment.traffic[${i}].version`, `must be a registered version of ${wanted.model}`);
    }
    checkBatching(wanted.batching);
    const deployment = create(DeploymentSchema, { ...wanted, generation: generation + 1, updateTime: timestampFromDate(new Date()), updatedBy: subject });
    const ok = await this.repo.replaceDeployment(
      wanted.model,
      generation,
      toJson(DeploymentSchema, deployment) as JsonObject,
      this.event(DeploymentChangedSchema, wanted.model, create(DeploymentChangedSchema, { deployment })),
    );
    if (!ok) throw new GrpcError(Status.ABORTED, `deployment of ${wanted.model} changed concurrently; read it again and retry`);
    this.platform.nudgeOutbox();
    this.platform.logger.info('deployment changed', { 'aio.model': wanted.model, 'aio.generation': deployment.generation });
    return deployment;
  }

  async getDeployment(name: string): Promise<Deployment> {
    const model = await this.requireModel(name);
    if (model.deployment === undefined) throw notFound('deployment of model', name);
    return fromJson(DeploymentSchema, model.deployment as JsonObject);
  }

  private async requireModel(name: string): Promise<ModelDoc> {
    checkName('model', name);
    const doc = await this.repo.findModel(name);
    if (doc === null) throw notFound('model', name);
    return doc;
  }
}

const { maxBatchRows: MAX_BATCH_ROWS, maxQueueDelayMicros: MAX_QUEUE_DELAY_MICROS, maxQueueSize: MAX_QUEUE_SIZE } = BATCHING_LIMITS;

/** A deployment's batching settings, checked field by field (0 = the gateway's default). */
export function checkBatching(b: Deployment['batching']): void {
  if (b === undefined) return;
  if (b.maxBatchSize > MAX_BATCH_ROWS) throw invalidArgument('deployment.batching.max_batch_size', `must be at most ${MAX_BATCH_ROWS} rows (0 = the gateway default, 1 = no batching)`);
  if (b.maxQueueDelayMicros > MAX_QUEUE_DELAY_MICROS) throw invalidArgument('deployment.batching.max_queue_delay_micros', `must be at most ${MAX_QUEUE_DELAY_MICROS} (10 s)`);
  if (b.maxQueueSize > MAX_QUEUE_SIZE) throw invalidArgument('deployment.batching.max_queue_size', `must be at most ${MAX_QUEUE_SIZE} (0 = the gateway default)`);
  for (const [i, size] of b.preferredBatchSizes.entries()) {
    const max = b.maxBatchSize === 0 ? MAX_BATCH_ROWS : b.maxBatchSize;
    if (size < 1 || size > max) throw invalidArgument(`deployment.batching.preferred_batch_sizes[${i}]`, `must be between 1 and max_batch_size (${max})`);
  }
}

export function modelOf(doc: Omit<ModelDoc, 'outbox'>): Model {
  return create(ModelSchema, {
    name: doc._id,
    description: doc.description,
    labels: doc.labels,
    aliases: doc.aliases,
    latestVersion: doc.latestVersion,
    createTime: timestampFromDate(doc.createdAt),
    createdBy: doc.createdBy,
  });
}

function aliasChangeOf(model: string, c: AliasChangeDoc): AliasChange {
  return create(AliasChangeSchema, {
    model,
    alias: c.alias,
    fromVersion: c.fromVersion,
    toVersion: c.toVersion,
    reason: c.reason,
    changedBy: c.changedBy,
    changeTime: timestampFromDate(new Date(c.changeTime)),
  });
}

