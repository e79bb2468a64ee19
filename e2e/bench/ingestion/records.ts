// The records every part of the ingestion benchmark uses: one dataset schema, N JSON values produced
// once to the dataset's Kafka topic, and the documents the service stores for the valid ones.
import { seededRandom } from '@aio/onnx';

/** Dataset name: its intake topic is `<prefix>.ingest.bench`, its consumer group `<prefix>.ingestion.intake.bench`. */
export const DATASET = 'bench';
/** Every this-many-th record breaks a rule (alternately a range and an allowed value) and is rejected. */
export const INVALID_EVERY = 100;
/** Records per storage write in the service (KAFKA_WRITE_BATCH and GRPC_WRITE_BATCH in services/ingestion). */
export const SERVICE_WRITE_BATCH = 1_000;
/** Records per IngestRecordsRequest message, as `aio ingest` sends them (INGEST_BATCH in libs/cli). */
export const CLI_MESSAGE_BATCH = 500;

const LABELS = ['alpha', 'beta', 'gamma', 'delta'] as const;

/** CreateDatasetRequest as protobuf JSON (field names as in the proto). */
export function datasetRequest(name: string): Record<string, unknown> {
  return {
    name,
    description: 'ingestion benchmark',
    schema: {
      keyField: 'id',
      labelField: 'label',
      fields: [
        { name: 'id', type: 'FIELD_TYPE_STRING', required: true },
        { name: 'x1', type: 'FIELD_TYPE_FLOAT', required: true, min: 0, max: 1000 },
        { name: 'x2', type: 'FIELD_TYPE_FLOAT', min: 0, max: 1000 },
        { name: 'x3', type: 'FIELD_TYPE_FLOAT', min: -1000, max: 1000 },
        { name: 'x4', type: 'FIELD_TYPE_FLOAT' },
        { name: 'count', type: 'FIELD_TYPE_INT', min: 0, max: 1_000_000 },
        { name: 'flag', type: 'FIELD_TYPE_BOOL' },
        { name: 'note', type: 'FIELD_TYPE_STRING' },
        { name: 'label', type: 'FIELD_TYPE_CATEGORY', required: true, allowedValues: [...LABELS] },
      ],
    },
  };
}


export interface BenchRecord {
  id: string;
  /** The Kafka value / NDJSON line: one JSON object of field values (~230 bytes). */
  json: string;
  fields: Record<string, number | boolean | string>;
  valid: boolean;
}

export function makeRecords(count: number): BenchRecord[] {
  const next = seededRandom(42);
  const out: BenchRecord[] = [];
  for (let i = 0; i < count; i++) {
    const id = `r${String(i).padStart(8, '0')}`;
    const invalid = i % INVALID_EVERY === INVALID_EVERY - 1;
    const fields: Record<string, number | boolean | string> = {
      id,
      x1: invalid && i % (2 * INVALID_EVERY) === INVALID_EVERY - 1 ? 1500 : Math.round(next() * 1e6) / 1e3,
      x2: Math.round(next() * 1e6) / 1e3,
      x3: Math.round((next() * 2 - 1) * 1e6) / 1e3,
      x4: next() * 1e4,
      count: Math.floor(next() * 1e6),
      flag: next() < 0.5,
      note: `sensor ${Math.floor(next() * 1e4)} at site ${Math.floor(next() * 100)}, batch ${i % 977}`,
      label: invalid && i % (2 * INVALID_EVERY) !== INVALID_EVERY - 1 ? 'omega' : (LABELS[Math.floor(next() * LABELS.length)] as string),
    };
    out.push({ id, json: JSON.stringify(fields), fields, valid: !invalid });
  }
  return out;
}

/**
 * The document the ingestion service stores for a valid record (RecordDoc in
 * services/ingestion/src/records.repository.ts): `_id` `<dataset>:<key>`, the dataset, the key, the
 * ingest sequence number, the validated field values, the ingest time.
 */
export interface StoredDoc {
  _id: string;
  ds: string;
  key: string;
  seq: number;
  values: Record<string, number | boolean | string>;
  ingestTime: Date;
}

/** The storage writes the service makes for these records: valid ones, in slices of SERVICE_WRITE_BATCH records. */
export function storedBatches(records: readonly BenchRecord[], dataset: string): StoredDoc[][] {
  const batches: StoredDoc[][] = [];
  let seq = 1;
  for (let start = 0; start < records.length; start += SERVICE_WRITE_BATCH) {
    const now = new Date();
    const docs: StoredDoc[] = [];
    for (const r of records.slice(start, start + SERVICE_WRITE_BATCH)) {
      if (!r.valid) continue;
      // Parsed from the Kafka value like the service does, so values have the same shape and size.
      docs.push({ _id: `${dataset}:${r.id}`, ds: dataset, key: r.id, seq: seq++, values: JSON.parse(r.json) as StoredDoc['values'], ingestTime: now });
    }
    batches.push(docs);
  }
  return batches;
}
