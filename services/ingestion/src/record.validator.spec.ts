import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { DatasetSchemaSchema, FieldType, RecordSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { describe, expect, it } from 'vitest';
import { decodeJson, decodeKafkaValue } from './record.decoder.js';
import { compileSchema, MAX_KEY_LENGTH, reasonOf, validateRecord, type Validated } from './record.validator.js';

const iris = compileSchema(
  create(DatasetSchemaSchema, {
    keyField: 'id',
    labelField: 'species',
    fields: [
      { name: 'id', type: FieldType.STRING, required: true },
      { name: 'sepal_length', type: FieldType.FLOAT, required: true, min: 0, max: 10 },
      { name: 'petals', type: FieldType.INT, min: 1 },
      { name: 'wild', type: FieldType.BOOL },
      { name: 'species', type: FieldType.CATEGORY, allowedValues: ['setosa', 'versicolor'] },
      { name: 'note', type: FieldType.STRING },
    ],
  }),
);
const keyless = compileSchema(create(DatasetSchemaSchema, { fields: [{ name: 'x', type: FieldType.FLOAT }] }));

const check = (fields: unknown, key?: string): Validated => validateRecord(iris, { fields, key });
const violations = (fields: unknown) => {
  const result = check(fields);
  if (result.ok) throw new Error('expected violations');
  return result.violations.map(({ field, rule }) => `${field}:${rule}`);
};

describe('validateRecord', () => {
  it('gives typed values and the key of a valid record; null is absent', () => {
    expect(check({ id: 'a1', sepal_length: 5.1, petals: 3, wild: false, species: 'setosa', note: null })).toEqual({
      ok: true,
      key: 'a1',
      values: { id: 'a1', sepal_length: 5.1, petals: 3, wild: false, species: 'setosa' },
    });
    expect(check({ id: 'a2', sepal_length: 0 })).toMatchObject({ ok: true, key: 'a2' });
  });

  it('names the field and the rule of every violation', () => {
    expect(violations({ sepal_length: 5 })).toEqual(['id:required']);
    expect(violations({ id: 'a', sepal_length: '5' })).toEqual(['sepal_length:type']);
    expect(violations({ id: 'a', sepal_length: 11 })).toEqual(['sepal_length:max']);
    expect(violations({ id: 'a', sepal_length: -1 })).toEqual(['sepal_length:min']);
    expect(violations({ id: 'a', sepal_length: 1, petals: 2.5 })).toEqual(['petals:type']);
    expect(violations({ id: 'a', sepal_length: 1, petals: 0 })).toEqual(['petals:min']);
    expect(violations({ id: 'a', sepal_length: 1, wild: 'yes' })).toEqual(['wild:type']);
    expect(violations({ id: 'a', sepal_length: 1, species: 'rose' })).toEqual(['species:allowed_values']);
    expect(violations({ id: 'a', sepal_length: 1, colour: 'red' })).toEqual(['colour:unknown_field']);
    expect(violations({ id: 'a', sepal_length: Number.NaN })).toEqual(['sepal_length:type']);
    expect(violations({ id: 'a', sepal_length: 99, species: 'rose', extra: 1 })).toEqual(['sepal_length:max', 'species:allowed_values', 'extra:unknown_field']);
    expect(violations([1, 2])).toEqual([':format']);
    expect(violations('text')).toEqual([':format']);
  });

  it('explains the rule with the value seen', () => {
    const result = check({ id: 'a', sepal_length: 12, species: 'rose' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.key).toBe('a');
    expect(reasonOf(result.violations)).toBe('sepal_length: must be <= 10 (got 12); species: must be one of setosa, versicolor (got "rose")');
  });

  it('requires the key field and bounds the key; numbers make keys too', () => {
    const optionalKey = compileSchema(create(DatasetSchemaSchema, { keyField: 'id', fields: [{ name: 'id', type: FieldType.INT }, { name: 'x', type: FieldType.BOOL }] }));
    expect(validateRecord(optionalKey, { fields: { x: true } })).toMatchObject({ ok: false, violations: [{ field: 'id', rule: 'key' }] });
    expect(validateRecord(optionalKey, { fields: { id: 7 } })).toMatchObject({ ok: true, key: '7' });
    expect(check({ id: 'k'.repeat(MAX_KEY_LENGTH + 1), sepal_length: 1 })).toMatchObject({ ok: false, violations: [{ field: 'id', rule: 'key' }] });
    expect(check({ id: '', sepal_length: 1 })).toMatchObject({ ok: false, violations: [{ field: 'id', rule: 'key' }] });
  });

  it('takes the explicit key only when the schema has no key field', () => {
    expect(validateRecord(keyless, { fields: { x: 1 }, key: 'm-1' })).toMatchObject({ ok: true, key: 'm-1' });
    expect(validateRecord(keyless, { fields: { x: 1 } })).toMatchObject({ ok: true, key: undefined });
    expect(check({ id: 'from-field', sepal_length: 1 }, 'ignored')).toMatchObject({ ok: true, key: 'from-field' });
  });
});

describe('decoders', () => {
  it('reads JSON values and names what is wrong with the rest', () => {
    expect(decodeKafkaValue(Buffer.from('{"x":1}'), undefined, 'k')).toEqual({ ok: true, input: { fields: { x: 1 }, key: 'k' } });
    expect(decodeKafkaValue(Buffer.from('{"x":'), 'application/json', undefined)).toMatchObject({ ok: false, violation: { rule: 'format' } });
    expect(decodeKafkaValue(null, undefined, undefined)).toMatchObject({ ok: false, violation: { reason: 'the message has no value (tombstone)' } });
    expect(decodeJson('[]')).toEqual({ ok: true, input: { fields: [], key: undefined } });
  });

  it('reads a protobuf Record when the content-type says so', () => {
    const time = new Date('2024-05-01T00:00:00Z');
    const bytes = toBinary(RecordSchema, create(RecordSchema, { key: 'r1', fields: { x: 2.5 }, eventTime: timestampFromDate(time) }));
    expect(decodeKafkaValue(Buffer.from(bytes), 'application/protobuf', 'k')).toEqual({ ok: true, input: { fields: { x: 2.5 }, key: 'r1' }, eventTime: time });
    expect(decodeKafkaValue(Buffer.from([0xff, 0xff, 0xff]), 'application/x-protobuf; proto=aio.ingestion.v1.Record', undefined)).toMatchObject({
      ok: false,
      violation: { rule: 'format' },
    });
  });
});
