import { RecordSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { fromBinary } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { RecordInput, Violation } from './record.validator.js';

const PROTOBUF_TYPES = new Set(['application/protobuf', 'application/x-protobuf', 'application/vnd.google.protobuf']);

/** A record from a Kafka message or an NDJSON line, before validation; or why it could not be read at all. */
export type Decoded = { ok: true; input: RecordInput; eventTime?: Date | undefined } | { ok: false; violation: Violation };

/**
 * Kafka values on aio.ingest.<dataset>: a JSON object of field values (any producer), or an
 * aio.ingestion.v1.Record when the `content-type` header says protobuf. The message key is the record
 * key for datasets without a key_field.
 */
export function decodeKafkaValue(value: Buffer | null, contentType: string | undefined, messageKey: string | undefined): Decoded {
  if (value === null) return bad('the message has no value (tombstone)');
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== undefined && PROTOBUF_TYPES.has(type)) {
    try {
      const record = fromBinary(RecordSchema, value);
      return {
        ok: true,
        input: { fields: record.fields ?? {}, key: record.key !== '' ? record.key : messageKey },
        eventTime: record.eventTime === undefined ? undefined : timestampDate(record.eventTime),
      };
    } catch (err) {
      return bad(`content-type is ${type} but the value is not an aio.ingestion.v1.Record: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return decodeJson(value.toString('utf8'), messageKey);
}

/** One JSON object of field values (a Kafka JSON value, an NDJSON line). */
export function decodeJson(text: string, key?: string): Decoded {
  let fields: unknown;
  try {
    fields = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { ok: true, input: { fields, key } };
}

function bad(reason: string): Decoded {
  return { ok: false, violation: { field: '', rule: 'format', reason } };
}
