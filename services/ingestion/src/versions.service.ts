import type { ArtifactStore } from '@aio/artifacts';
import { GrpcError, invalidArgument, notFound, Status } from '@aio/grpc';
import { decodePageToken, encodePageToken, pageSize, Platform } from '@aio/host';
import { newOutboxEntry, WriteLocks } from '@aio/mongo';
import { DatasetVersionCreatedSchema } from '@aio/proto/aio/ingestion/v1/events';
import {
  DatasetVersionSchema,
  type CreateDatasetVersionRequest,
  type DatasetVersion,
  type ListDatasetVersionsRequest,
  type ListDatasetVersionsResponse,
} from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, fromJson, toBinary, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetGate } from './dataset.gate.js';
import { checkDatasetName, MAX_DESCRIPTION } from './dataset.validator.js';
import { DatasetsRepository } from './datasets.repository.js';
import { DatasetsService } from './datasets.service.js';
import { RecordsRepository, type RecordDoc } from './records.repository.js';
import { VersionsRepository, type VersionDoc } from './versions.repository.js';

/** Where dataset exports go, and how large one may grow. */
export class DatasetExports {
  constructor(
    readonly store: ArtifactStore,
    readonly maxBytes: number,
  ) {}
}

/** Lines of NDJSON per chunk handed to the artifact store. */
const EXPORT_CHUNK_LINES = 1_000;

/**
 * Dataset versions: an immutable snapshot of the records as of a watermark (the dataset's ingest
 * sequence at that moment), materialised at creation as an NDJSON export in the content-addressed
 * artifact store (one JSON object of field values per line, the shape intake accepts), whose sha256
 * and size the version records. Later writes replace record documents but never the export.
 */
@Injectable()
export class VersionsService {
  // One version of a dataset at a time in this process; numbering conflicts across processes are caught by the insert.
  private readonly serial = new WriteLocks(true);

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(DatasetsRepository) private readonly datasetsRepo: DatasetsRepository,
    @Inject(RecordsRepository) private readonly records: RecordsRepository,
    @Inject(VersionsRepository) private readonly versions: VersionsRepository,
    @Inject(DatasetGate) private readonly gate: DatasetGate,
    @Inject(DatasetExports) private readonly exports: DatasetExports,
  ) {}

  create(request: CreateDatasetVersionRequest, createdBy: string): Promise<DatasetVersion> {
    checkDatasetName(request.dataset, 'dataset');
    if (request.description.length > MAX_DESCRIPTION) throw invalidArgument('description', `must be at most ${MAX_DESCRIPTION} characters`);
    return this.serial.run(request.dataset, () => this.createNow(request, createdBy));
  }

  private async createNow(request: CreateDatasetVersionRequest, createdBy: string): Promise<DatasetVersion> {
    const name = request.dataset;
    const dataset = await this.datasets.get(name);
    // Exclusive: no batch of this process is between allocating sequence numbers and writing them,
    // so the records with seq <= watermark are exactly the dataset as of now, and stay so while exported.
    const snapshot = await this.gate.exclusive(name, async () => {
      const watermark = await this.datasetsRepo.sealWatermark(name);
      const counter = { records: 0 };
      const put = await this.exports.store.put(ndjson(this.records.upTo(name, watermark), counter), { maxBytes: this.exports.maxBytes });
      return { watermark, records: counter.records, sha256: put.sha256, size: put.size };
    });
    const number = (await this.versions.latest(name)) + 1;
    const version = create(DatasetVersionSchema, {
      dataset: name,
      version: number,
      recordCount: BigInt(snapshot.records),
      artifactSha256: snapshot.sha256,
      artifactSize: BigInt(snapshot.size),
      schema: dataset.schema,
      schemaVersion: dataset.schemaVersion,
      description: request.description,
      createTime: timestampFromDate(new Date()),
      createdBy,
      watermark: BigInt(snapshot.watermark),
    });
    const event = newOutboxEntry({
      topic: this.platform.topics.dataEvents,
      key: name,
      type: DatasetVersionCreatedSchema.typeName,
      payload: toBinary(DatasetVersionCreatedSchema, create(DatasetVersionCreatedSchema, { version })),
    });
    if (!(await this.versions.insert(name, number, toJson(DatasetVersionSchema, version) as JsonObject, event))) {
      throw new GrpcError(Status.ABORTED, `version ${number} of dataset "${name}" was created by another request at the same time; retry`);
    }
    await this.datasetsRepo.setLatestVersion(name, number);
    this.platform.logger.info('dataset version created', { dataset: name, version: number, records: snapshot.records, sha256: snapshot.sha256 });
    return version;
  }

  async list(request: ListDatasetVersionsRequest): Promise<Omit<ListDatasetVersionsResponse, '$typeName'>> {
    checkDatasetName(request.dataset, 'dataset');
    await this.datasets.get(request.dataset);
    const size = pageSize(request.pageSize);
    const after = decodePageToken(request.pageToken);
    const before = after === undefined ? undefined : Number(after);
    if (before !== undefined && !Number.isSafeInteger(before)) throw invalidArgument('page_token', 'is not a token from a previous response of this list');
    const docs = await this.versions.list(request.dataset, before, size + 1);
    const page = docs.slice(0, size).map(versionOf);
    const last = page.at(-1);
    return { versions: page, nextPageToken: docs.length > size && last !== undefined ? encodePageToken(String(last.version)) : '' };
  }

  async get(dataset: string, version: number): Promise<DatasetVersion> {
    checkDatasetName(dataset, 'dataset');
    const doc = await this.versions.find(dataset, version);
    if (doc === null) throw notFound('dataset version', `${dataset}@${version}`);
    return versionOf(doc);
  }
}

function versionOf(doc: VersionDoc): DatasetVersion {
  return fromJson(DatasetVersionSchema, doc.data as JsonObject, { ignoreUnknownFields: true });
}

/** The records as NDJSON, in chunks of lines; counts what it wrote. */
async function* ndjson(records: AsyncIterable<RecordDoc>, counter: { records: number }): AsyncGenerator<Uint8Array> {
  let lines: string[] = [];
  for await (const record of records) {
    lines.push(JSON.stringify(record.values));
    counter.records++;
    if (lines.length >= EXPORT_CHUNK_LINES) {
      yield Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      lines = [];
    }
  }
  if (lines.length > 0) yield Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}
