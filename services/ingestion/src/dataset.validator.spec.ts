import { GrpcError, Status } from '@aio/grpc';
import { CreateDatasetRequestSchema, FieldType } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { validateCreateDataset } from './dataset.validator.js';

type Init = MessageInitShape<typeof CreateDatasetRequestSchema>;

const valid: Init = {
  name: 'iris',
  schema: {
    keyField: 'id',
    labelField: 'species',
    fields: [
      { name: 'id', type: FieldType.STRING, required: true },
      { name: 'petal_width', type: FieldType.FLOAT, min: 0, max: 0 },
      { name: 'species', type: FieldType.CATEGORY, allowedValues: ['setosa', 'virginica'] },
    ],
  },
};

function failure(init: Init): string {
  try {
    validateCreateDataset(create(CreateDatasetRequestSchema, init));
  } catch (err) {
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(Status.INVALID_ARGUMENT);
    return (err as GrpcError).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

function withFields(...fields: NonNullable<Init['schema']>['fields'] & object[]): Init {
  return { name: 'ds', schema: { fields } };
}

describe('validateCreateDataset', () => {
  it('accepts a valid schema (min == max is allowed, key and label optional)', () => {
    expect(() => validateCreateDataset(create(CreateDatasetRequestSchema, valid))).not.toThrow();
    expect(() => validateCreateDataset(create(CreateDatasetRequestSchema, withFields({ name: 'x', type: FieldType.BOOL })))).not.toThrow();
  });

  it.each([
    ['', 'name: is required'],
    ['Iris', 'name: "Iris" must be 1-63 characters'],
    ['-iris', 'name: "-iris" must be'],
    ['a'.repeat(64), 'name: "aaaa'],
    ['iris.v2', 'name: "iris.v2" must be'],
  ])('names the bad dataset name %j', (name, message) => {
    expect(failure({ ...valid, name })).toContain(message);
  });

  it('requires a schema with at least one field', () => {
    expect(failure({ name: 'ds' })).toBe('schema: is required');
    expect(failure({ name: 'ds', schema: { fields: [] } })).toBe('schema.fields: must define at least one field');
  });

  it('names the offending field by its proto path', () => {
    expect(failure(withFields({ name: '', type: FieldType.INT }))).toBe('schema.fields[0].name: is required');
    expect(failure(withFields({ name: 'a.b', type: FieldType.INT }))).toContain('schema.fields[0].name: "a.b" must be');
    expect(failure(withFields({ name: 'a', type: FieldType.INT }, { name: 'a', type: FieldType.FLOAT }))).toBe(
      'schema.fields[1].name: "a" is defined twice; field names must be unique',
    );
    expect(failure(withFields({ name: 'a' }))).toMatch(/^schema.fields\[0\].type: must be one of FIELD_TYPE_FLOAT/);
    expect(failure(withFields({ name: 'a', type: 99 as FieldType }))).toMatch(/^schema.fields\[0\].type:/);
  });

  it('checks numeric ranges', () => {
    expect(failure(withFields({ name: 'a', type: FieldType.FLOAT, min: 5, max: 1 }))).toBe('schema.fields[0].min: must be <= max (5 > 1)');
    expect(failure(withFields({ name: 'a', type: FieldType.STRING, max: 1 }))).toBe('schema.fields[0].max: is only allowed on FLOAT and INT fields');
    expect(failure(withFields({ name: 'a', type: FieldType.INT, min: Number.NaN }))).toBe('schema.fields[0].min: must be a finite number');
  });

  it('checks allowed values', () => {
    expect(failure(withFields({ name: 'c', type: FieldType.CATEGORY }))).toBe(
      'schema.fields[0].allowed_values: a CATEGORY field must list at least one allowed value',
    );
    expect(failure(withFields({ name: 'c', type: FieldType.CATEGORY, allowedValues: ['a', 'a'] }))).toBe(
      'schema.fields[0].allowed_values[1]: "a" is listed twice',
    );
    expect(failure(withFields({ name: 'c', type: FieldType.CATEGORY, allowedValues: [''] }))).toBe('schema.fields[0].allowed_values[0]: must not be empty');
    expect(failure(withFields({ name: 'c', type: FieldType.INT, allowedValues: ['1'] }))).toBe(
      'schema.fields[0].allowed_values: is only allowed on CATEGORY and STRING fields',
    );
    expect(() => validateCreateDataset(create(CreateDatasetRequestSchema, withFields({ name: 's', type: FieldType.STRING, allowedValues: ['x'] })))).not.toThrow();
  });

  it('requires the key and label fields to be fields of the schema', () => {
    const schema = { fields: [{ name: 'id', type: FieldType.STRING }, { name: 'y', type: FieldType.BOOL }] };
    expect(failure({ name: 'ds', schema: { ...schema, keyField: 'uid' } })).toBe('schema.key_field: "uid" is not one of the schema\'s fields (id, y)');
    expect(failure({ name: 'ds', schema: { ...schema, labelField: 'label' } })).toBe('schema.label_field: "label" is not one of the schema\'s fields (id, y)');
    expect(failure({ name: 'ds', schema: { ...schema, keyField: 'id', labelField: 'id' } })).toBe('schema.label_field: must differ from schema.key_field');
  });
});
