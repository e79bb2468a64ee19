import { alreadyExists, failedPrecondition, GrpcError, invalidArgument, notFound, Status } from '@aio/grpc';
import { decodePageToken, encodePageToken, pageSize, Platform } from '@aio/host';
import { newOutboxEntry } from '@aio/mongo';
import { DatasetCreatedSchema, DatasetSchemaUpdatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import {
  CreateDatasetRequestSchema,
  DatasetSchema$,
  DatasetSchemaSchema,
  IntakeCountersSchema,
  type CreateDatasetRequest,
  type UpdateDatasetRequest,
  type Dataset,
  type ListDatasetsRequest,
  type ListDatasetsResponse,
} from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, equals, fromJson, toBinary, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { checkDatasetName, MAX_DESCRIPTION, validateCreateDataset } from './dataset.validator.js';
import { DatasetsRepository, type DatasetDoc } from './datasets.repository.js';
import { IntakeConsumers } from './intake.consumer.js';
import { checkCompatible } from './schema.compat.js';

/** Dataset definitions: validation, creation (announced by DatasetCreated through the outbox), reads. */
@Injectable()
export class DatasetsService {
  constructor(
    @Inject(DatasetsRepository) private readonly repository: DatasetsRepository,
    @Inject(Platform) private readonly platform: Platform,
    @Inject(IntakeConsumers) private readonly intake: IntakeConsumers,
  ) {}

  async create(request: CreateDatasetRequest, createdBy: string): Promise<Dataset> {
    validateCreateDataset(request);
    const dataset = create(DatasetSchema$, {
      name: request.name,
      description: request.description,
      schema: request.schema,
      latestVersion: 0,
      schemaVersion: 1,
      intake: {},
      createTime: timestampFromDate(new Date()),
      createdBy,
    });
    const event = newOutboxEntry({
      topic: this.platform.topics.dataEvents,
      key: dataset.name,
      type: DatasetCreatedSchema.typeName,
      payload: toBinary(DatasetCreatedSchema, create(DatasetCreatedSchema, { dataset })),
    });
    // Topics first: a dataset never exists without its intake topic and dead-letter topic.
    await this.intake.ensureTopics(dataset.name);
    const inserted = await this.repository.insert(dataset.name, toJson(DatasetSchema$, dataset) as JsonObject, event);
    if (!inserted) throw alreadyExists('dataset', dataset.name);
    this.platform.logger.info('dataset created', { dataset: dataset.name, fields: dataset.schema?.fields.length ?? 0 });
    // Records produced before the consumer joins are read too (a new group starts at the beginning);
    // a failure here is logged and retried by the periodic discovery, the dataset stays created.
    await this.intake.start(dataset.name).catch(() => undefined);
    return dataset;
  }

  /** Replaces the schema with a compatible one (FAILED_PRECONDITION naming the field otherwise); announced by DatasetSchemaUpdated. */
  async update(request: UpdateDatasetRequest): Promise<Dataset> {
    checkDatasetName(request.name);
    if (request.schema === undefined) throw invalidArgument('schema', 'is required');
    if (request.description !== undefined && request.description.length > MAX_DESCRIPTION) {
      throw invalidArgument('description', `must be at most ${MAX_DESCRIPTION} characters`);
    }
    validateCreateDataset(create(CreateDatasetRequestSchema, { name: request.name, schema: request.schema }));
    const doc = await this.repository.find(request.name);
    if (doc === null) throw notFound('dataset', request.name);
    const current = datasetOf(doc);
    if (current.schema === undefined) throw failedPrecondition(`dataset "${request.name}" has no schema to update`);
    checkCompatible(current.schema, request.schema);
    const changed = !equals(DatasetSchemaSchema, current.schema, request.schema);
    const previous = current.schemaVersion || 1;
    const next = create(DatasetSchema$, {
      ...current,
      schema: request.schema,
      description: request.description ?? current.description,
      schemaVersion: changed ? previous + 1 : previous,
      intake: undefined,
    });
    const event = newOutboxEntry({
      topic: this.platform.topics.dataEvents,
      key: next.name,
      type: DatasetSchemaUpdatedSchema.typeName,
      payload: toBinary(DatasetSchemaUpdatedSchema, create(DatasetSchemaUpdatedSchema, { dataset: next, previousSchemaVersion: previous })),
    });
    if (!(await this.repository.replaceData(next.name, doc.data, toJson(DatasetSchema$, next) as JsonObject, event))) {
      throw new GrpcError(Status.ABORTED, `dataset "${next.name}" changed while it was being updated; read it again and retry`);
    }
    this.platform.logger.info('dataset schema updated', { dataset: next.name, schemaVersion: next.schemaVersion });
    return create(DatasetSchema$, { ...next, intake: current.intake });
  }

  async get(name: string): Promise<Dataset> {
    checkDatasetName(name);
    const doc = await this.repository.find(name);
    if (doc === null) throw notFound('dataset', name);
    return datasetOf(doc);
  }

  async list(request: ListDatasetsRequest): Promise<Omit<ListDatasetsResponse, '$typeName'>> {
    const size = pageSize(request.pageSize);
    // One extra row says whether another page follows, so the last page carries no token.
    const docs = await this.repository.list(decodePageToken(request.pageToken), size + 1);
    const page = docs.slice(0, size).map(datasetOf);
    const last = page.at(-1);
    return { datasets: page, nextPageToken: docs.length > size && last !== undefined ? encodePageToken(last.name) : '' };
  }
}

function datasetOf(doc: DatasetDoc): Dataset {
  const dataset = fromJson(DatasetSchema$, doc.data as JsonObject, { ignoreUnknownFields: true });
  // Datasets created before schema versions existed are at version 1.
  if (dataset.schemaVersion === 0) dataset.schemaVersion = 1;
  const intake = doc.intake ?? {};
  dataset.intake = create(IntakeCountersSchema, {
    accepted: BigInt(intake.accepted ?? 0),
    rejected: BigInt(intake.rejected ?? 0),
    duplicates: BigInt(intake.duplicates ?? 0),
  });
  return dataset;
}
