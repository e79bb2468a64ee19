import { invalidArgument } from '@aio/grpc';
import { FieldType, type CreateDatasetRequest, type FieldSchema } from '@aio/proto/aio/ingestion/v1/ingestion';

// Dataset names end up in Kafka topic names (aio.ingest.<name>) and URLs: keep them to a safe alphabet.
export const DATASET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// Field names become record keys (protobuf Struct, MongoDB documents): no dots, no leading '$'.
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const MAX_FIELDS = 1_000;
export const MAX_ALLOWED_VALUES = 10_000;
export const MAX_DESCRIPTION = 4_096;

const NUMERIC = new Set([FieldType.FLOAT, FieldType.INT]);
const KNOWN_TYPES = new Set([FieldType.FLOAT, FieldType.INT, FieldType.BOOL, FieldType.STRING, FieldType.CATEGORY]);

/** A dataset name a caller passed (CreateDataset, GetDataset, URL path). */
export function checkDatasetName(name: string, field = 'name'): void {
  if (name === '') throw invalidArgument(field, 'is required');
  if (!DATASET_NAME.test(name)) {
    throw invalidArgument(field, `"${name}" must be 1-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit`);
  }
}

/**
 * Checks a CreateDataset request; throws INVALID_ARGUMENT naming the first offending field by its
 * proto path (e.g. `schema.fields[2].max`) and the rule it breaks.
 */
export function validateCreateDataset(request: CreateDatasetRequest): void {
  checkDatasetName(request.name);
  if (request.description.length > MAX_DESCRIPTION) throw invalidArgument('description', `must be at most ${MAX_DESCRIPTION} characters`);
  const schema = request.schema;
  if (schema === undefined) throw invalidArgument('schema', 'is required');
  if (schema.fields.length === 0) throw invalidArgument('schema.fields', 'must define at least one field');
  if (schema.fields.length > MAX_FIELDS) throw invalidArgument('schema.fields', `must define at most ${MAX_FIELDS} fields`);
  const seen = new Map<string, FieldSchema>();
  schema.fields.forEach((field, i) => {
    checkField(field, `schema.fields[${i}]`);
    if (seen.has(field.name)) throw invalidArgument(`schema.fields[${i}].name`, `"${field.name}" is defined twice; field names must be unique`);
    seen.set(field.name, field);
  });
  const names = [...seen.keys()].join(', ');
  if (schema.keyField !== '' && !seen.has(schema.keyField)) {
    throw invalidArgument('schema.key_field', `"${schema.keyField}" is not one of the schema's fields (${names})`);
  }
  if (schema.labelField !== '') {
    if (!seen.has(schema.labelField)) {
      throw invalidArgument('schema.label_field', `"${schema.labelField}" is not one of the schema's fields (${names})`);
    }
    if (schema.labelField === schema.keyField) throw invalidArgument('schema.label_field', 'must differ from schema.key_field');
  }
}

function checkField(field: FieldSchema, path: string): void {
  if (field.name === '') throw invalidArgument(`${path}.name`, 'is required');
  if (!FIELD_NAME.test(field.name)) {
    throw invalidArgument(`${path}.name`, `"${field.name}" must be 1-128 characters of A-Z, a-z, 0-9 and '_', not starting with a digit`);
  }
  if (field.type === FieldType.UNSPECIFIED || !KNOWN_TYPES.has(field.type)) {
    throw invalidArgument(`${path}.type`, 'must be one of FIELD_TYPE_FLOAT, FIELD_TYPE_INT, FIELD_TYPE_BOOL, FIELD_TYPE_STRING, FIELD_TYPE_CATEGORY');
  }
  if (field.description.length > MAX_DESCRIPTION) throw invalidArgument(`${path}.description`, `must be at most ${MAX_DESCRIPTION} characters`);
  checkRange(field, path);
  checkAllowedValues(field, path);
}

function checkRange(field: FieldSchema, path: string): void {
  for (const bound of ['min', 'max'] as const) {
    const value = field[bound];
    if (value === undefined) continue;
    if (!NUMERIC.has(field.type)) throw invalidArgument(`${path}.${bound}`, 'is only allowed on FLOAT and INT fields');
    if (!Number.isFinite(value)) throw invalidArgument(`${path}.${bound}`, 'must be a finite number');
  }
  if (field.min !== undefined && field.max !== undefined && field.min > field.max) {
    throw invalidArgument(`${path}.min`, `must be <= max (${field.min} > ${field.max})`);
  }
}

function checkAllowedValues(field: FieldSchema, path: string): void {
  const values = field.allowedValues;
  if (field.type === FieldType.CATEGORY && values.length === 0) {
    throw invalidArgument(`${path}.allowed_values`, 'a CATEGORY field must list at least one allowed value');
  }
  if (values.length === 0) return;
  if (field.type !== FieldType.CATEGORY && field.type !== FieldType.STRING) {
    throw invalidArgument(`${path}.allowed_values`, 'is only allowed on CATEGORY and STRING fields');
  }
  if (values.length > MAX_ALLOWED_VALUES) throw invalidArgument(`${path}.allowed_values`, `must list at most ${MAX_ALLOWED_VALUES} values`);
  const seen = new Set<string>();
  values.forEach((value, j) => {
    if (value === '') throw invalidArgument(`${path}.allowed_values[${j}]`, 'must not be empty');
    if (seen.has(value)) throw invalidArgument(`${path}.allowed_values[${j}]`, `"${value}" is listed twice`);
    seen.add(value);
  });
}
