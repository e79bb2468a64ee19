import { GrpcError, Status } from '@aio/grpc';
import { DatasetSchemaSchema, FieldType, type DatasetSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { checkCompatible } from './schema.compat.js';

type Init = MessageInitShape<typeof DatasetSchemaSchema>;
const schema = (init: Init): DatasetSchema => create(DatasetSchemaSchema, init);
const base: Init = {
  keyField: 'id',
  fields: [
    { name: 'id', type: FieldType.STRING, required: true },
    { name: 'x', type: FieldType.FLOAT, min: 0, max: 10 },
    { name: 'c', type: FieldType.CATEGORY, allowedValues: ['a', 'b'] },
    { name: 's', type: FieldType.STRING },
  ],
};
const withField = (i: number, change: object): Init => ({ ...base, fields: base.fields?.map((f, j) => (j === i ? { ...f, ...change } : f)) });

function refusal(next: Init): string {
  try {
    checkCompatible(schema(base), schema(next));
  } catch (err) {
    expect(err).toBeInstanceOf(GrpcError);
    expect((err as GrpcError).code).toBe(Status.FAILED_PRECONDITION);
    return (err as GrpcError).message;
  }
  throw new Error('expected FAILED_PRECONDITION');
}

describe('checkCompatible', () => {
  it('allows additions and loosening', () => {
    const ok = (next: Init): void => expect(() => checkCompatible(schema(base), schema(next))).not.toThrow();
    ok(base);
    ok({ ...base, fields: [...(base.fields ?? []), { name: 'new_optional', type: FieldType.BOOL }] });
    ok(withField(0, { required: false }));
    ok(withField(1, { min: undefined, max: 20 }));
    ok(withField(2, { allowedValues: ['a', 'b', 'c'] }));
    ok({ ...base, labelField: 'c' });
  });

  it('refuses removing, retyping and tightening, naming the field', () => {
    expect(refusal({ ...base, fields: base.fields?.slice(1) })).toBe('schema.fields: "id" cannot be removed: stored records and producers use it (make it optional instead)');
    expect(refusal(withField(1, { type: FieldType.INT }))).toBe('schema.fields: "x" cannot change type from FLOAT to INT');
    expect(refusal(withField(1, { required: true }))).toMatch(/^schema.fields: "x" cannot become required/);
    expect(refusal(withField(1, { min: 1 }))).toMatch(/^schema.fields: "x" min cannot be raised \(0 -> 1\)/);
    expect(refusal(withField(1, { max: 9 }))).toMatch(/^schema.fields: "x" max cannot be lowered \(10 -> 9\)/);
    expect(refusal(withField(2, { allowedValues: ['a'] }))).toMatch(/^schema.fields: "c" cannot drop allowed values \(b\)/);
    expect(refusal(withField(3, { allowedValues: ['only'] }))).toMatch(/^schema.fields: "s" cannot gain allowed values/);
    expect(refusal({ ...base, fields: [...(base.fields ?? []), { name: 'n', type: FieldType.INT, required: true }] })).toMatch(/^schema.fields: "n" is new and required/);
    expect(refusal({ ...base, keyField: 's' })).toMatch(/^schema.key_field: cannot change/);
  });
});
