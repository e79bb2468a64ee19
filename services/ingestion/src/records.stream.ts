import { randomUUID } from 'node:crypto';
import { GrpcError, Status } from '@aio/grpc';
import { RecordSchema, type IngestRecordsRequest } from '@aio/proto/aio/ingestion/v1/ingestion';
import { toJsonString } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { checkDatasetName } from './dataset.validator.js';
import { GRPC_WRITE_BATCH, IntakeTally, type IntakeItem, type IntakeService } from './intake.service.js';

/**
 * IngestRecords: records of a client stream in batches of up to GRPC_WRITE_BATCH per dataset. One
 * batch is written at a time and the stream is read no further meanwhile, so HTTP/2 flow control
 * holds the client back (bounded memory). Answers after every accepted record is durable. A record
 * naming no dataset or an unknown one ends the call (INVALID_ARGUMENT / NOT_FOUND, naming its index);
 * the batches before it stay written.
 */
export async function ingestStream(intake: IntakeService, requests: AsyncIterable<IngestRecordsRequest>): Promise<IntakeTally> {
  const tally = new IntakeTally();
  let pending: IntakeItem[] = [];
  let dataset = '';
  let index = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    tally.add(await intake.ingest(dataset, batch, 'grpc'));
  };
  for await (const request of requests) {
    for (const record of request.records) {
      if (record.dataset !== dataset) {
        await flush();
        checkDatasetName(record.dataset, `records[${index}].dataset`);
        await intake.schemaOf(record.dataset).catch((err: unknown) => {
          if (!(err instanceof GrpcError) || err.code !== Status.NOT_FOUND) throw err;
          throw new GrpcError(Status.NOT_FOUND, `records[${index}].dataset: dataset "${record.dataset}" does not exist; the ${index} records before it were processed`);
        });
        dataset = record.dataset;
      }
      pending.push({
        decoded: { ok: true, input: { fields: record.fields ?? {}, key: record.key } },
        index,
        fallbackKey: randomUUID(),
        eventTime: record.eventTime === undefined ? undefined : timestampDate(record.eventTime),
        dlq: { key: record.key === '' ? null : record.key, value: toJsonString(RecordSchema, record), headers: { 'content-type': 'application/json' } },
      });
      index++;
      if (pending.length >= GRPC_WRITE_BATCH) await flush();
    }
  }
  await flush();
  return tally;
}
