import { Schema, type Connection, type Model } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDuplicateKey } from '../src/dedup.store.js';
import { ensureIndexes } from '../src/index.ensurer.js';
import { dropTestDatabase, openTestDatabase } from './mongo.fixture.js';

interface Dataset {
  name: string;
  owner: string;
  version: number;
  tags: string[];
  createdAt: Date;
}

const datasetSchema = new Schema<Dataset>({
  name: { type: String, required: true, unique: true },
  owner: { type: String, required: true },
  version: { type: Number, default: 1 },
  tags: { type: [String], default: [] },
  createdAt: { type: Date, default: () => new Date() },
});
datasetSchema.index({ owner: 1, createdAt: -1 });

describe('mongoose on the local MongoDB-compatible server', () => {
  let connection: Connection;
  let Datasets: Model<Dataset>;

  beforeAll(async () => {
    connection = await openTestDatabase('model');
    Datasets = connection.model<Dataset>('Dataset', datasetSchema);
    await ensureIndexes(Datasets);
  });

  afterAll(async () => {
    await dropTestDatabase(connection);
  });

  it('creates the schema indexes, idempotently', async () => {
    await expect(ensureIndexes(Datasets)).resolves.toEqual(['name_1', 'owner_1_createdAt_-1']);
    const indexes = await Datasets.collection.indexes();
    expect(indexes.map((i) => i.name).sort()).toEqual(['_id_', 'name_1', 'owner_1_createdAt_-1']);
    expect(indexes.find((i) => i.name === 'name_1')?.unique).toBe(true);
  });

  it('creates, reads, updates and deletes', async () => {
    const created = await Datasets.create({ name: 'transactions', owner: 'alice', tags: ['pii'] });
    const found = await Datasets.findOne({ name: 'transactions' }).lean();
    expect(found).toMatchObject({ name: 'transactions', owner: 'alice', version: 1, tags: ['pii'] });

    const updated = await Datasets.findOneAndUpdate({ _id: created._id }, { $inc: { version: 1 }, $push: { tags: 'gold' } }, { returnDocument: 'after' }).lean();
    expect(updated).toMatchObject({ version: 2, tags: ['pii', 'gold'] });

    const newest = await Datasets.find({ owner: 'alice' }).sort({ createdAt: -1 }).limit(10).lean();
    expect(newest.map((d) => d.name)).toEqual(['transactions']);

    await expect(Datasets.deleteOne({ _id: created._id })).resolves.toMatchObject({ deletedCount: 1 });
    await expect(Datasets.countDocuments({})).resolves.toBe(0);
  });

  it('surfaces a unique index violation as a duplicate-key error', async () => {
    await Datasets.create({ name: 'clicks', owner: 'bob' });
    const err: unknown = await Datasets.create({ name: 'clicks', owner: 'carol' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDuplicateKey(err)).toBe(true);
    await expect(Datasets.countDocuments({ name: 'clicks' })).resolves.toBe(1);
  });
});
