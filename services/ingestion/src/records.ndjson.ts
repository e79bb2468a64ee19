import { GrpcError, Status } from '@aio/grpc';
import { randomUUID } from 'node:crypto';
import { checkDatasetName } from './dataset.validator.js';
import { GRPC_WRITE_BATCH, IntakeTally, type IntakeItem, type IntakeService } from './intake.service.js';
import { LineTooLongError, ndjsonLines } from './ndjson.lines.js';
import { decodeJson } from './record.decoder.js';

/**
 * REST intake: an NDJSON body, one JSON object of field values per line, read as a stream and written
 * in batches (the body is read no further while a batch is written). A line that is not JSON, or too
 * long, ends the request with INVALID_ARGUMENT (400) naming the line; the lines before it are written
 * and the message says how many. Records that are JSON but break the schema are rejections, reported
 * per line (`index` = line number - 1) and sent to the DLQ.
 */
export async function ingestNdjson(intake: IntakeService, dataset: string, body: AsyncIterable<Uint8Array | string>): Promise<IntakeTally> {
  checkDatasetName(dataset);
  await intake.schemaOf(dataset);
  const tally = new IntakeTally();
  let pending: IntakeItem[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    tally.add(await intake.ingest(dataset, batch, 'rest'));
  };
  const stop = async (message: string): Promise<never> => {
    await flush();
    throw new GrpcError(
      Status.INVALID_ARGUMENT,
      `${message}; the records before it were processed (accepted ${tally.accepted}, rejected ${tally.rejected}): resend from that line`,
    );
  };
  try {
    for await (const line of ndjsonLines(body)) {
      const decoded = decodeJson(line.text);
      if (!decoded.ok) await stop(`line ${line.number}: ${decoded.violation.reason}`);
      pending.push({
        decoded,
        index: line.number - 1,
        fallbackKey: randomUUID(),
        dlq: { key: null, value: line.text, headers: { 'content-type': 'application/json' } },
      });
      if (pending.length >= GRPC_WRITE_BATCH) await flush();
    }
  } catch (err) {
    if (err instanceof LineTooLongError) await stop(err.message);
    throw err;
  }
  await flush();
  return tally;
}
