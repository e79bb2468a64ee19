import { dlqHeader } from '@aio/events';
import { notFound } from '@aio/grpc';
import { Platform } from '@aio/host';
import { newOutboxEntry } from '@aio/mongo';
import { RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { DatasetSchemaSchema, type DatasetSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, fromJson, toBinary, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import type { IHeaders } from 'kafkajs';
import { DatasetGate } from './dataset.gate.js';
import { DatasetsRepository, type KafkaPosition } from './datasets.repository.js';
import type { Decoded } from './record.decoder.js';
import { compileSchema, reasonOf, validateRecord, type CompiledSchema, type FieldValue, type RuleName, type Violation } from './record.validator.js';
import { recordId, RecordsRepository, type RecordDoc } from './records.repository.js';

/** Headers a rejected record carries on aio.ingest.<dataset>.dlq, besides its original ones. */
export const rejectHeader = {
  field: 'aio_reject_field',
  rule: 'aio_reject_rule',
  reason: 'aio_reject_reason',
  intake: 'aio_intake',
} as const;

export type IntakePath = 'kafka' | 'grpc' | 'rest';

/** One record on its way in, from any path. */
export interface IntakeItem {
  decoded: Decoded;
  /** Position in its stream: Kafka offset, gRPC record index, NDJSON line index (0-based). */
  index: number;
  /** The key of a record of a dataset without key_field and without a key of its own. */
  fallbackKey: string;
  eventTime?: Date | undefined;
  /** What the dead-letter topic gets when it is rejected: the record as it came, with its headers. */
  dlq: { key: string | Buffer | null; value: string | Buffer | null; headers?: IHeaders };
}

export interface Rejection {
  index: number;
  key: string;
  field: string;
  rule: RuleName;
  reason: string;
}

export interface BatchOutcome {
  accepted: number;
  rejected: number;
  duplicates: number;
  rejections: Rejection[];
}

/** Longest value of one reject header (one record can break many rules). */
const MAX_REASON = 2_048;

/**
 * The one write path of every intake: validate against the dataset's schema, store the valid records
 * (dedup by key, last write wins) while parking the invalid ones in the dataset's DLQ topic with the
 * reason in headers, then add the counts (and the Kafka position) with the RecordBatchCommitted event in one write.
 */
@Injectable()
export class IntakeService {
  private readonly schemas = new Map<string, { json: string; compiled: CompiledSchema }>();

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(DatasetsRepository) private readonly datasets: DatasetsRepository,
    @Inject(RecordsRepository) private readonly records: RecordsRepository,
    @Inject(DatasetGate) private readonly gate: DatasetGate,
  ) {}

  /** The dataset's compiled schema (NOT_FOUND when it does not exist). */
  async schemaOf(dataset: string): Promise<CompiledSchema> {
    const doc = await this.datasets.find(dataset);
    if (doc === null) throw notFound('dataset', dataset);
    return this.compiled(dataset, doc.data);
  }

  /** The compiled schema of a dataset definition, compiled again only when it changed. */
  private compiled(dataset: string, data: Record<string, unknown>): CompiledSchema {
    const json = JSON.stringify((data as { schema?: unknown }).schema ?? {});
    const cached = this.schemas.get(dataset);
    if (cached?.json === json) return cached.compiled;
    const schema: DatasetSchema = fromJson(DatasetSchemaSchema, (data as { schema?: JsonObject }).schema ?? {}, { ignoreUnknownFields: true });
    const compiled = compileSchema(schema);
    this.schemas.set(dataset, { json, compiled });
    return compiled;
  }

  async ingest(dataset: string, items: readonly IntakeItem[], path: IntakePath, kafka?: KafkaPosition): Promise<BatchOutcome> {
    const now = new Date();
    const { sorted, replaced } = await this.gate.shared(dataset, async () => {
      // One round trip for the sequence numbers and the schema as of this batch (a schema update
      // applies from the next batch). A number per item: those of rejects and repeated keys stay
      // unused; a watermark only needs every written record below it to be written.
      const range = await this.datasets.allocate(dataset, items.length);
      if (range === null) throw notFound('dataset', dataset);
      const sorted = sortItems(this.compiled(dataset, range.data), items);
      let seq = range.first;
      const docs: RecordDoc[] = [];
      for (const [key, record] of sorted.latest) {
        const doc: RecordDoc = { _id: recordId(dataset, key), ds: dataset, key, seq: seq++, values: record.values, ingestTime: now };
        if (record.eventTime !== undefined) doc.eventTime = record.eventTime;
        docs.push(doc);
      }
      // The rejects go to the DLQ while the records are written. Both settle before the gate is
      // released (no write still running under a watermark) and before anything is counted.
      const [written, parked] = await Promise.allSettled([this.records.write(docs), sorted.rejected.length > 0 ? this.park(dataset, sorted.rejected, path) : undefined]);
      if (written.status === 'rejected') throw written.reason;
      if (parked.status === 'rejected') throw parked.reason;
      return { sorted, replaced: written.value.replaced };
    });
    const { valid, latest, rejected } = sorted;
    const counts = { accepted: valid, rejected: rejected.length, duplicates: valid - latest.size + replaced };
    await this.datasets.commitBatch(dataset, counts, kafka, (totals) =>
      valid === 0
        ? undefined
        : newOutboxEntry({
            topic: this.platform.topics.dataEvents,
            key: dataset,
            type: RecordBatchCommittedSchema.typeName,
            payload: toBinary(
              RecordBatchCommittedSchema,
              create(RecordBatchCommittedSchema, {
                dataset,
                recordCount: valid,
                rejectedCount: rejected.length,
                totalRecordCount: BigInt(totals.accepted),
                recordsSinceVersion: BigInt(totals.sinceVersion),
                commitTime: timestampFromDate(now),
              }),
            ),
          }),
    );
    return {
      ...counts,
      rejections: rejected.map(({ item, key, violations }) => {
        const first = violations[0] ?? { field: '', rule: 'format' as const, reason: 'invalid' };
        return { index: item.index, key, field: first.field, rule: first.rule, reason: reasonOf(violations) };
      }),
    };
  }

  /** Writes rejected records to the dataset's DLQ; throws when the broker does not take them (nothing is counted then). */
  private async park(dataset: string, rejected: readonly { item: IntakeItem; key: string; violations: Violation[] }[], path: IntakePath): Promise<void> {
    const failedAt = new Date().toISOString();
    await this.platform.publisher.producer.send({
      topic: this.platform.topics.ingestDlq(dataset),
      acks: -1,
      messages: rejected.map(({ item, violations }) => ({
        key: item.dlq.key,
        value: item.dlq.value,
        headers: rejectHeaders(item.dlq.headers, violations, path, failedAt),
      })),
    });
  }
}

interface SortedItems {
  /** Valid records. */
  valid: number;
  /** The latest valid record of each key, in the order of their latest positions. */
  latest: Map<string, { values: Record<string, FieldValue>; eventTime: Date | undefined }>;
  rejected: { item: IntakeItem; key: string; violations: Violation[] }[];
}

/** Validates a batch: its rejects, and the latest record of each key among the valid ones. */
function sortItems(schema: CompiledSchema, items: readonly IntakeItem[]): SortedItems {
  const sorted: SortedItems = { valid: 0, latest: new Map(), rejected: [] };
  for (const item of items) {
    const result = item.decoded.ok ? validateRecord(schema, item.decoded.input) : { ok: false as const, key: undefined, violations: [item.decoded.violation] };
    if (!result.ok) {
      sorted.rejected.push({ item, key: result.key ?? '', violations: result.violations });
      continue;
    }
    sorted.valid++;
    const key = result.key ?? item.fallbackKey;
    // Map order is first-insertion order; delete first so a repeated key takes its latest position.
    sorted.latest.delete(key);
    sorted.latest.set(key, { values: result.values, eventTime: item.eventTime ?? (item.decoded.ok ? item.decoded.eventTime : undefined) });
  }
  return sorted;
}

/** The original headers plus why the record was refused: the first violation's field and rule, and every reason. */
export function rejectHeaders(original: IHeaders | undefined, violations: readonly Violation[], path: IntakePath, failedAt: string): IHeaders {
  const first = violations[0];
  const reason = reasonOf(violations);
  return {
    ...original,
    [rejectHeader.field]: first?.field ?? '',
    [rejectHeader.rule]: first?.rule ?? 'format',
    [rejectHeader.reason]: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason,
    [rejectHeader.intake]: path,
    [dlqHeader.failedAt]: failedAt,
  };
}

/** Records per storage write on the gRPC path; the stream is not read further while a batch is written. */
export const GRPC_WRITE_BATCH = 1_000;
/** Rejections listed in an IngestRecords / REST response; all of them go to the DLQ. */
export const MAX_LISTED_REJECTIONS = 100;

/** Totals of one intake call (gRPC stream, REST body). */
export class IntakeTally {
  accepted = 0;
  rejected = 0;
  duplicates = 0;
  readonly rejections: Rejection[] = [];

  add(outcome: BatchOutcome): void {
    this.accepted += outcome.accepted;
    this.rejected += outcome.rejected;
    this.duplicates += outcome.duplicates;
    for (const r of outcome.rejections) {
      if (this.rejections.length >= MAX_LISTED_REJECTIONS) break;
      this.rejections.push(r);
    }
  }

  /** The IngestRecordsResponse fields. */
  response(): { accepted: bigint; rejected: bigint; duplicates: bigint; rejections: (Omit<Rejection, 'index'> & { index: bigint })[] } {
    return {
      accepted: BigInt(this.accepted),
      rejected: BigInt(this.rejected),
      duplicates: BigInt(this.duplicates),
      rejections: this.rejections.map((r) => ({ ...r, index: BigInt(r.index) })),
    };
  }
}
