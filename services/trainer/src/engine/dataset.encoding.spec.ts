import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { DatasetSchemaSchema, FieldType } from '@aio/proto/aio/ingestion/v1/ingestion';
import { encodeRows, featuresFromSchema, fitEncoding } from './dataset.encoding.js';
import { splitRows } from './dataset.split.js';
import { TrainingError } from './training.error.js';

describe('feature encoding', () => {
  const features = [
    { name: 'size', type: 'numeric' as const },
    { name: 'fresh', type: 'bool' as const },
    { name: 'colour', type: 'categorical' as const },
  ];
  const rows = [
    { size: 2, fresh: true, colour: 'red' },
    { size: '4', fresh: false, colour: 'blue' },
    { size: null, fresh: 'true', colour: 'green' },
  ];

  it('one-hot encodes categories (sorted), imputes missing numbers with the fitted mean', () => {
    const enc = fitEncoding(features, rows, rows.slice(0, 2));
    expect(enc.columns.map((c) => c.name)).toEqual(['size', 'fresh', 'colour=blue', 'colour=green', 'colour=red']);
    expect(enc.columns[0]?.fill).toBe(3);
    const m = encodeRows(enc, [...rows, { size: 1, fresh: false, colour: 'purple' }]);
    expect(Array.from(m.data)).toEqual([2, 1, 0, 0, 1, 4, 0, 1, 0, 0, 3, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
  });

  it('keeps given categories in their order', () => {
    const enc = fitEncoding([{ name: 'c', type: 'categorical', categories: ['z', 'a'] }], [{ c: 'a' }], [{ c: 'a' }]);
    expect(enc.columns.map((c) => c.name)).toEqual(['c=z', 'c=a']);
  });

  it('names the row and feature of a value that is not a number', () => {
    const enc = fitEncoding(features, rows, rows);
    expect(() => encodeRows(enc, [{ size: 'big', fresh: true, colour: 'red' }])).toThrow(TrainingError);
    expect(() => encodeRows(enc, [{ size: 'big', fresh: true, colour: 'red' }])).toThrow(/row 0: feature "size" is "big", not a finite number/);
    expect(() => fitEncoding([], rows, rows)).toThrow(/no features/);
  });

  it('derives features from an ingestion schema, leaving out key, label and free text', () => {
    const schema = create(DatasetSchemaSchema, {
      keyField: 'id',
      labelField: 'y',
      fields: [
        { name: 'id', type: FieldType.STRING },
        { name: 'a', type: FieldType.FLOAT },
        { name: 'n', type: FieldType.INT },
        { name: 'b', type: FieldType.BOOL },
        { name: 'c', type: FieldType.CATEGORY, allowedValues: ['x', 'y'] },
        { name: 'note', type: FieldType.STRING },
        { name: 'y', type: FieldType.CATEGORY },
      ],
    });
    expect(featuresFromSchema(schema)).toEqual([
      { name: 'a', type: 'numeric' },
      { name: 'n', type: 'numeric' },
      { name: 'b', type: 'bool' },
      { name: 'c', type: 'categorical', categories: ['x', 'y'] },
    ]);
  });
});

describe('splitRows', () => {
  it('is deterministic for a seed and holds out the fraction', () => {
    const a = splitRows(100, 0.2, 7);
    expect(splitRows(100, 0.2, 7)).toEqual(a);
    expect(a.validation).toHaveLength(20);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(splitRows(100, 0.2, 8).validation).not.toEqual(a.validation);
  });

  it('stratifies by class: every class with two rows lands on both sides', () => {
    const groups = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2];
    const s = splitRows(groups.length, 0.2, 1, groups);
    for (const g of [0, 1, 2]) {
      expect(s.train.some((i) => groups[i] === g)).toBe(true);
      expect(s.validation.some((i) => groups[i] === g)).toBe(true);
    }
  });
});
