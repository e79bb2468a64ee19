import { FieldType, type DatasetSchema, type FieldSchema } from '@aio/proto/aio/ingestion/v1/ingestion';

/** What a record broke; `field` is empty when the record as a whole is bad. */
export type RuleName = 'required' | 'type' | 'min' | 'max' | 'allowed_values' | 'unknown_field' | 'key' | 'format' | 'dataset';

export interface Violation {
  field: string;
  rule: RuleName;
  /** For a person: the rule and the value seen, e.g. `must be <= 10 (got 12)`. */
  reason: string;
}

export type FieldValue = number | boolean | string;

/** A record as it arrived, whatever the path: field values by name, plus a key when the source gave one. */
export interface RecordInput {
  fields: unknown;
  /** Explicit record key (protobuf Record.key, Kafka message key); used only when the schema has no key_field. */
  key?: string | undefined;
}

export type Validated =
  | { ok: true; key: string | undefined; values: Record<string, FieldValue> }
  | { ok: false; key: string | undefined; violations: Violation[] };

/** Record keys become part of a document id (`<dataset>:<key>`): keep them bounded. */
export const MAX_KEY_LENGTH = 512;
/** The most violations reported per record; the rest add nothing a person can act on. */
const MAX_VIOLATIONS = 16;

/** A schema prepared once for validating many records. */
export interface CompiledSchema {
  readonly fields: ReadonlyMap<string, FieldSchema>;
  readonly keyField: string;
  readonly labelField: string;
}

export function compileSchema(schema: DatasetSchema): CompiledSchema {
  return { fields: new Map(schema.fields.map((f) => [f.name, f])), keyField: schema.keyField, labelField: schema.labelField };
}

/**
 * The one validation path of every intake (Kafka JSON or protobuf, gRPC, REST NDJSON): a record against
 * its dataset's schema, giving typed values or every rule it breaks. Pure: no I/O, no clock.
 * `null` counts as absent. Numbers must be JSON numbers (no numeric strings); INT must be a safe integer.
 */
export function validateRecord(schema: CompiledSchema, input: RecordInput): Validated {
  const fields = input.fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    return { ok: false, key: undefined, violations: [{ field: '', rule: 'format', reason: 'a record must be a JSON object of field values' }] };
  }
  const violations: Violation[] = [];
  const values: Record<string, FieldValue> = {};
  const given = fields as Record<string, unknown>;
  for (const [name, value] of Object.entries(given)) {
    if (value === null || value === undefined) continue;
    const field = schema.fields.get(name);
    if (field === undefined) {
      violations.push({ field: name, rule: 'unknown_field', reason: `is not a field of the dataset's schema (${[...schema.fields.keys()].join(', ')})` });
      continue;
    }
    const problem = checkValue(field, value);
    if (problem === undefined) values[name] = value as FieldValue;
    else violations.push(problem);
  }
  for (const field of schema.fields.values()) {
    const value = given[field.name];
    if (field.required && (value === null || value === undefined)) violations.push({ field: field.name, rule: 'required', reason: 'is required' });
  }
  const key = keyOf(schema, input, given, violations);
  if (violations.length > 0) return { ok: false, key, violations: violations.slice(0, MAX_VIOLATIONS) };
  return { ok: true, key, values };
}

function keyOf(schema: CompiledSchema, input: RecordInput, given: Record<string, unknown>, violations: Violation[]): string | undefined {
  let key: string | undefined;
  if (schema.keyField !== '') {
    const value = given[schema.keyField];
    if (value === null || value === undefined) {
      // A required key field already reported "is required"; one complaint per field is enough.
      if (!violations.some((v) => v.field === schema.keyField)) {
        violations.push({ field: schema.keyField, rule: 'key', reason: 'is the key field: records are deduplicated by it, so it must be set' });
      }
      return undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
    key = String(value);
  } else {
    key = input.key === undefined || input.key === '' ? undefined : input.key;
  }
  if (key === undefined) return undefined;
  if (key === '') {
    violations.push({ field: schema.keyField, rule: 'key', reason: 'the record key must not be empty' });
    return undefined;
  }
  if (key.length > MAX_KEY_LENGTH) {
    violations.push({ field: schema.keyField, rule: 'key', reason: `the record key must be at most ${MAX_KEY_LENGTH} characters (got ${key.length})` });
    return undefined;
  }
  return key;
}

function checkValue(field: FieldSchema, value: unknown): Violation | undefined {
  const name = field.name;
  // Only a violation shows the value: formatting it up front costs a String()/JSON.stringify per field of every valid record.
  const shown = (): string => describe(value);
  switch (field.type) {
    case FieldType.FLOAT:
    case FieldType.INT: {
      if (typeof value !== 'number' || !Number.isFinite(value)) return { field: name, rule: 'type', reason: `must be a finite number (got ${shown()})` };
      if (field.type === FieldType.INT && !Number.isSafeInteger(value)) return { field: name, rule: 'type', reason: `must be an integer (got ${shown()})` };
      if (field.min !== undefined && value < field.min) return { field: name, rule: 'min', reason: `must be >= ${field.min} (got ${shown()})` };
      if (field.max !== undefined && value > field.max) return { field: name, rule: 'max', reason: `must be <= ${field.max} (got ${shown()})` };
      return undefined;
    }
    case FieldType.BOOL:
      return typeof value === 'boolean' ? undefined : { field: name, rule: 'type', reason: `must be true or false (got ${shown()})` };
    case FieldType.STRING:
    case FieldType.CATEGORY: {
      if (typeof value !== 'string') return { field: name, rule: 'type', reason: `must be a string (got ${shown()})` };
      if (field.allowedValues.length > 0 && !field.allowedValues.includes(value)) {
        return { field: name, rule: 'allowed_values', reason: `must be one of ${listed(field.allowedValues)} (got ${shown()})` };
      }
      return undefined;
    }
    case FieldType.UNSPECIFIED:
      return { field: name, rule: 'type', reason: 'has no type in the schema' };
  }
}

function describe(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (Array.isArray(value)) text = 'an array';
  else if (typeof value === 'object' && value !== null) text = 'an object';
  else text = String(value);
  return text.length > 64 ? `${text.slice(0, 63)}…` : text;
}

function listed(values: readonly string[]): string {
  const shown = values.slice(0, 10).join(', ');
  return values.length > 10 ? `${shown}, … (${values.length} values)` : shown;
}

/** Everything a record broke, as one line (DLQ header, log). */
export function reasonOf(violations: readonly Violation[]): string {
  return violations.map((v) => (v.field === '' ? v.reason : `${v.field}: ${v.reason}`)).join('; ');
}
