import { Schema } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { ensureIndexes, unsupportedIndexReason, type IndexedModel } from './index.ensurer.js';

function fakeModel(schema: Schema): IndexedModel & { created: unknown[][] } {
  const created: unknown[][] = [];
  return {
    modelName: 'Thing',
    schema,
    created,
    collection: {
      collectionName: 'things',
      createIndex: (spec, options) => {
        created.push([spec, options]);
        return Promise.resolve(Object.keys(spec).join('_'));
      },
    },
  };
}

describe('unsupportedIndexReason', () => {
  it('accepts what FerretDB 1.24 builds', () => {
    expect(unsupportedIndexReason({ a: 1 }, {})).toBeUndefined();
    expect(unsupportedIndexReason({ a: 1, b: -1 }, { unique: true, sparse: true, name: 'x' })).toBeUndefined();
  });

  it('names what it does not', () => {
    expect(unsupportedIndexReason({ createdAt: 1 }, { expireAfterSeconds: 60 })).toMatch(/expireAfterSeconds \(TTL/);
    expect(unsupportedIndexReason({ a: 1 }, { partialFilterExpression: { a: { $exists: true } } })).toMatch(/partialFilterExpression/);
    expect(unsupportedIndexReason({ body: 'text' }, {})).toBe('"text" index on body');
    expect(unsupportedIndexReason({ loc: '2dsphere' }, {})).toBe('"2dsphere" index on loc');
    expect(unsupportedIndexReason({ k: 'hashed' }, {})).toBe('"hashed" index on k');
    expect(unsupportedIndexReason({ '$**': 1 }, {})).toMatch(/wildcard/);
  });
});

describe('ensureIndexes', () => {
  it('creates the schema indexes without mongoose-only options', async () => {
    const schema = new Schema({ name: { type: String, unique: true }, group: String, at: Date });
    schema.index({ group: 1, at: -1 });
    const model = fakeModel(schema);
    await expect(ensureIndexes(model)).resolves.toEqual(['name', 'group_at']);
    expect(model.created).toEqual([
      [{ name: 1 }, { unique: true }],
      [{ group: 1, at: -1 }, {}],
    ]);
  });

  it('fails before creating anything when one index is unsupported', async () => {
    const schema = new Schema({ name: { type: String, index: true }, at: { type: Date, expires: 60 } });
    const model = fakeModel(schema);
    await expect(ensureIndexes(model)).rejects.toThrow(/model Thing declares indexes FerretDB cannot build: \{"at":1\}: option expireAfterSeconds/);
    expect(model.created).toEqual([]);
  });
});
