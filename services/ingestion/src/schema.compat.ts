import { failedPrecondition } from '@aio/grpc';
import { FieldType, type DatasetSchema, type FieldSchema } from '@aio/proto/aio/ingestion/v1/ingestion';

/**
 * Throws FAILED_PRECONDITION naming the first field whose change could refuse a record the current
 * schema accepts, or change what stored records mean: records already accepted must stay valid, and
 * every producer that was valid must stay valid. Allowed: new optional fields, required -> optional,
 * wider or removed ranges, more allowed values, a label field where there was none, descriptions.
 * Both schemas must already be valid on their own (validateCreateDataset).
 */
export function checkCompatible(current: DatasetSchema, next: DatasetSchema): void {
  const nextFields = new Map(next.fields.map((f) => [f.name, f]));
  for (const old of current.fields) {
    const field = nextFields.get(old.name);
    if (field === undefined) throw refuse(old.name, 'cannot be removed: stored records and producers use it (make it optional instead)');
    checkField(old, field);
  }
  const known = new Set(current.fields.map((f) => f.name));
  for (const field of next.fields) {
    if (!known.has(field.name) && field.required) throw refuse(field.name, 'is new and required: records stored and sent without it would become invalid (add it as optional)');
  }
  if (next.keyField !== current.keyField) {
    throw failedPrecondition(`schema.key_field: cannot change from "${current.keyField}" to "${next.keyField}": records are stored by their key`);
  }
  if (next.labelField !== current.labelField && current.labelField !== '') {
    throw failedPrecondition(`schema.label_field: cannot change from "${current.labelField}" to "${next.labelField}": trained models depend on it`);
  }
}

function checkField(old: FieldSchema, field: FieldSchema): void {
  if (field.type !== old.type) throw refuse(old.name, `cannot change type from ${FieldType[old.type]} to ${FieldType[field.type]}`);
  if (field.required && !old.required) throw refuse(old.name, 'cannot become required: records without it were accepted');
  if (field.min !== undefined && (old.min === undefined || field.min > old.min)) {
    throw refuse(old.name, `min cannot be raised (${old.min ?? 'none'} -> ${field.min}): accepted values would become invalid`);
  }
  if (field.max !== undefined && (old.max === undefined || field.max < old.max)) {
    throw refuse(old.name, `max cannot be lowered (${old.max ?? 'none'} -> ${field.max}): accepted values would become invalid`);
  }
  if (field.allowedValues.length > 0) {
    if (old.allowedValues.length === 0) throw refuse(old.name, 'cannot gain allowed values: any string was accepted');
    const kept = new Set(field.allowedValues);
    const dropped = old.allowedValues.filter((v) => !kept.has(v));
    if (dropped.length > 0) throw refuse(old.name, `cannot drop allowed values (${dropped.join(', ')}): records with them were accepted`);
  }
}

function refuse(field: string, rule: string): Error {
  return failedPrecondition(`schema.fields: "${field}" ${rule}`);
}
