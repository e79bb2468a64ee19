import { alreadyExists, notFound } from '@aio/grpc';
import { decodePageToken, encodePageToken, pageSize, Platform } from '@aio/host';
import { newOutboxEntry } from '@aio/mongo';
import { DatasetCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import {
  DatasetSchema$,
  type CreateDatasetRequest,
  type Dataset,
  type ListDatasetsRequest,
  type ListDatasetsResponse,
} from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, fromJson, toBinary, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { checkDatasetName, validateCreateDataset } from './dataset.validator.js';
import { DatasetsRepository, type DatasetDoc } from './datasets.repository.js';

/** Dataset definitions: validation, creation (announced by DatasetCreated through the outbox), reads. */
@Injectable()
export class DatasetsService {
  constructor(
    @Inject(DatasetsRepository) private readonly repository: DatasetsRepository,
    @Inject(Platform) private readonly platform: Platform,
  ) {}

  async create(request: CreateDatasetRequest, createdBy: string): Promise<Dataset> {
    validateCreateDataset(request);
    const dataset = create(DatasetSchema$, {
      name: request.name,
      description: request.description,
      schema: request.schema,
      latestVersion: 0,
      createTime: timestampFromDate(new Date()),
      createdBy,
    });
    const event = newOutboxEntry({
      topic: this.platform.topics.dataEvents,
      key: dataset.name,
      type: DatasetCreatedSchema.typeName,
      payload: toBinary(DatasetCreatedSchema, create(DatasetCreatedSchema, { dataset })),
    });
    const inserted = await this.repository.insert(dataset.name, toJson(DatasetSchema$, dataset) as JsonObject, event);
    if (!inserted) throw alreadyExists('dataset', dataset.name);
    this.platform.logger.info('dataset created', { dataset: dataset.name, fields: dataset.schema?.fields.length ?? 0 });
    return dataset;
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
  return fromJson(DatasetSchema$, doc.data as JsonObject, { ignoreUnknownFields: true });
}
