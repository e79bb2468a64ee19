import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoDedupStore } from '../src/dedup.store.js';
import { dropTestDatabase, openTestDatabase } from './mongo.fixture.js';

describe('MongoDedupStore', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await openTestDatabase('dedup');
  });

  afterAll(async () => {
    await dropTestDatabase(connection);
  });

  it('remembers ids per consumer group, and adding twice is harmless', async () => {
    const monitor = new MongoDedupStore({ connection, consumerGroup: 'monitor' });
    const trainer = new MongoDedupStore({ connection, consumerGroup: 'trainer' });
    await monitor.ensureIndexes();
    await expect(monitor.has('e1')).resolves.toBe(false);
    await monitor.add('e1');
    await monitor.add('e1');
    await expect(monitor.has('e1')).resolves.toBe(true);
    await expect(trainer.has('e1')).resolves.toBe(false);
    const stored = await connection.collection('processed_events').findOne({ _id: 'monitor:e1' as never });
    expect(stored).toMatchObject({ group: 'monitor' });
  });

  it('survives a new store instance (it is durable, unlike the in-memory default)', async () => {
    const first = new MongoDedupStore({ connection, consumerGroup: 'registry' });
    await first.add('e2');
    await expect(new MongoDedupStore({ connection, consumerGroup: 'registry' }).has('e2')).resolves.toBe(true);
  });

  it('prunes only its own ids older than the retention', async () => {
    const store = new MongoDedupStore({ connection, consumerGroup: 'pruner', retentionMs: 60_000 });
    const other = new MongoDedupStore({ connection, consumerGroup: 'keeper', retentionMs: 60_000 });
    await store.add('old-1');
    await store.add('old-2');
    await other.add('old-3');
    await expect(store.prune(new Date())).resolves.toBe(0);
    await expect(store.prune(new Date(Date.now() + 120_000))).resolves.toBe(2);
    await expect(store.has('old-1')).resolves.toBe(false);
    await expect(other.has('old-3')).resolves.toBe(true);
  });
});
