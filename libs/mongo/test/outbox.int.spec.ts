import { Schema, type Connection, type Model } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/mongo.logger.js';
import { newOutboxEntry, outboxField, withOutbox, withOutboxOnCreate, type OutboxEntry } from '../src/outbox.entry.js';
import { detectServer } from '../src/mongo.connection.js';
import { OutboxRelay, type OutboxPublish } from '../src/outbox.relay.js';
import { WriteLocks } from '../src/write.locks.js';
import { dropTestDatabase, openTestDatabase } from './mongo.fixture.js';

interface ModelDoc {
  name: string;
  stage: string;
  log?: number[];
  outbox?: OutboxEntry[];
}

const modelSchema = new Schema<ModelDoc>({
  name: { type: String, required: true },
  stage: { type: String, required: true },
  log: { type: [Number], default: undefined },
  outbox: outboxField,
});

function event(key: string, type: string): OutboxEntry {
  return newOutboxEntry({ topic: 'aio.events.registry', key, type, payload: new TextEncoder().encode(`${key}:${type}`) });
}

function decode(entry: OutboxEntry): string {
  return new TextDecoder().decode(entry.payload);
}

describe('single-document outbox on the local MongoDB-compatible server', () => {
  let connection: Connection;
  let Models: Model<ModelDoc>;

  beforeAll(async () => {
    connection = await openTestDatabase('outbox');
    Models = connection.model<ModelDoc>('Model', modelSchema);
  });

  afterAll(async () => {
    await dropTestDatabase(connection);
  });

  beforeEach(async () => {
    await Models.deleteMany({});
  });

  async function outboxOf(name: string): Promise<string[]> {
    const doc = await Models.findOne({ name }).lean();
    return (doc?.outbox ?? []).map((e) => e.type);
  }

  it('stores a state change and its event in one write', async () => {
    await Models.create(withOutboxOnCreate({ name: 'fraud', stage: 'draft' }, event('fraud', 'Created')));
    const result = await Models.updateOne({ name: 'fraud', stage: 'draft' }, withOutbox({ stage: 'staging' }, event('fraud', 'Promoted')));
    expect(result.modifiedCount).toBe(1);
    const doc = await Models.findOne({ name: 'fraud' }).lean();
    expect(doc?.stage).toBe('staging');
    expect(doc?.outbox?.map((e) => e.type)).toEqual(['Created', 'Promoted']);

    // A rejected state change (its filter no longer matches) stores no event either.
    const stale = await Models.updateOne({ name: 'fraud', stage: 'draft' }, withOutbox({ stage: 'prod' }, event('fraud', 'Promoted')));
    expect(stale.modifiedCount).toBe(0);
    await expect(outboxOf('fraud')).resolves.toEqual(['Created', 'Promoted']);
  });

  it('works with findOneAndUpdate too', async () => {
    await Models.create({ name: 'churn', stage: 'draft' });
    const after = await Models.findOneAndUpdate({ name: 'churn' }, withOutbox({ $set: { stage: 'prod' } }, event('churn', 'Deployed')), {
      returnDocument: 'after',
    }).lean();
    expect(after?.stage).toBe('prod');
    expect(after?.outbox?.map((e) => e.type)).toEqual(['Deployed']);
  });

  it('relays every entry in order, byte for byte, and clears them', async () => {
    const created = event('fraud', 'Created');
    await Models.create(withOutboxOnCreate({ name: 'fraud', stage: 'draft' }, created));
    await Models.updateOne({ name: 'fraud' }, withOutbox({ stage: 'staging' }, event('fraud', 'Promoted'), event('fraud', 'AliasMoved')));
    await Models.create(withOutboxOnCreate({ name: 'churn', stage: 'draft' }, event('churn', 'Created')));
    await Models.create({ name: 'quiet', stage: 'draft' });

    const published: OutboxEntry[] = [];
    const publish: OutboxPublish = (e) => {
      published.push(e);
      return Promise.resolve();
    };
    const relay = new OutboxRelay({ sources: [Models], publish, logger: silentLogger });
    await expect(relay.pendingCount()).resolves.toBe(4);

    const pass = await relay.runOnce();
    expect(pass).toEqual({ published: 4, failed: 0, more: false });
    const fraud = published.filter((e) => e.key === 'fraud');
    expect(fraud.map((e) => e.type)).toEqual(['Created', 'Promoted', 'AliasMoved']);
    expect(fraud[0]).toEqual({ ...created, payload: Buffer.from(created.payload) });
    expect(published.map(decode)).toContain('churn:Created');
    await expect(relay.pendingCount()).resolves.toBe(0);
    await expect(outboxOf('fraud')).resolves.toEqual([]);
    await expect(relay.runOnce()).resolves.toEqual({ published: 0, failed: 0, more: false });
  });

  it('keeps a failed entry (and the ones after it) for the next pass', async () => {
    await Models.create(withOutboxOnCreate({ name: 'fraud', stage: 'draft' }, event('fraud', 'E1'), event('fraud', 'E2'), event('fraud', 'E3')));
    const published: string[] = [];
    let brokerDown = true;
    const publish: OutboxPublish = (e) => {
      if (e.type === 'E2' && brokerDown) return Promise.reject(new Error('broker unavailable'));
      published.push(e.type);
      return Promise.resolve();
    };
    const relay = new OutboxRelay({ sources: [Models], publish, logger: silentLogger });

    await expect(relay.runOnce()).resolves.toEqual({ published: 1, failed: 1, more: false });
    expect(published).toEqual(['E1']);
    await expect(outboxOf('fraud')).resolves.toEqual(['E2', 'E3']);
    expect(relay.stats.publishFailures).toBe(1);

    brokerDown = false;
    await expect(relay.runOnce()).resolves.toEqual({ published: 2, failed: 0, more: false });
    expect(published).toEqual(['E1', 'E2', 'E3']);
    await expect(outboxOf('fraud')).resolves.toEqual([]);
  });

  it('lets entries written during a publish wait for the next pass without losing them', async () => {
    await Models.create(withOutboxOnCreate({ name: 'fraud', stage: 'draft' }, event('fraud', 'E1')));
    const published: string[] = [];
    const relay = new OutboxRelay({
      sources: [Models],
      publish: async (e) => {
        // A request appends a new event while E1 is in flight: the guarded $pop must remove E1 only.
        if (e.type === 'E1') await Models.updateOne({ name: 'fraud' }, withOutbox({ stage: 'prod' }, event('fraud', 'E2')));
        published.push(e.type);
      },
      logger: silentLogger,
    });
    await relay.runOnce();
    await relay.runOnce();
    expect(published).toEqual(['E1', 'E2']);
    await expect(outboxOf('fraud')).resolves.toEqual([]);
  });

  it('two relays racing publish everything at least once and clear every outbox', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `m${i}`);
    const expected = new Set<string>();
    for (const name of names) {
      const entries = [event(name, 'A'), event(name, 'B'), event(name, 'C')];
      entries.forEach((e) => expected.add(e.id));
      await Models.create(withOutboxOnCreate({ name, stage: 'draft' }, ...entries));
    }
    const seen: { relay: string; entry: OutboxEntry }[] = [];
    const makeRelay = (label: string): OutboxRelay =>
      new OutboxRelay({
        sources: [Models],
        batchSize: 7,
        concurrency: 3,
        logger: silentLogger,
        publish: async (entry) => {
          await new Promise<void>((resolve) => setImmediate(resolve));
          seen.push({ relay: label, entry });
        },
      });
    const one = makeRelay('one');
    const two = makeRelay('two');
    const drain = async (relay: OutboxRelay): Promise<void> => {
      while ((await relay.runOnce()).more);
    };
    await Promise.all([drain(one), drain(two)]);
    // A relay that drained early may have stopped before the other's last batch; a final pass settles it.
    await drain(one);

    const ids = new Set(seen.map((s) => s.entry.id));
    expect([...expected].every((id) => ids.has(id))).toBe(true);
    await expect(one.pendingCount()).resolves.toBe(0);
    // Per document and relay, first deliveries come in write order (A, B, C). Redeliveries may follow
    // (e.g. "ABCBC": on FerretDB a stale removal by one relay can restore entries the other removed);
    // consumers drop them by event id.
    for (const label of ['one', 'two']) {
      for (const name of names) {
        const order = seen.filter((s) => s.relay === label && s.entry.key === name).map((s) => s.entry.type);
        expect([...new Set(order)].join('')).toMatch(/^A?B?C?$/);
      }
    }
  });

  it('loses nothing while requests keep writing the documents the relay is clearing', async () => {
    // On FerretDB 1.24 concurrent updates of one document overwrite each other; WriteLocks serializes
    // this process's writes (the requests' and the relay's). On MongoDB the locks are disabled.
    const server = await detectServer(connection);
    const locks = new WriteLocks(server.kind === 'ferretdb');
    const collection = Models.collection.collectionName;
    await Models.create({ name: 'busy', stage: '0' });
    const published = new Set<string>();
    const writes = 40;
    const relay = new OutboxRelay({
      sources: [Models],
      locks,
      intervalMs: 5,
      logger: silentLogger,
      publish: (e) => {
        published.add(e.type);
        return Promise.resolve();
      },
    });
    relay.start();
    // Waves of concurrent writes, so the relay's removals interleave with them.
    for (let wave = 0; wave < writes; wave += 5) {
      await Promise.all(
        Array.from({ length: 5 }, async (_, j) => {
          const i = wave + j;
          await locks.run(collection, () => Models.updateOne({ name: 'busy' }, withOutbox({ $push: { log: i } }, event('busy', `E${i}`))));
          relay.nudge();
        }),
      );
    }
    await relay.stop();
    // Whatever the background loop had not reached yet is drained here, one pass at a time.
    while ((await relay.runOnce()).published > 0);
    const doc = await Models.findOne({ name: 'busy' }).lean();
    expect(doc?.log).toHaveLength(writes);
    expect(published.size).toBe(writes);
  });

  it('runs in the background: nudge publishes without waiting for the interval, stop is clean', async () => {
    let resolveSeen: (e: OutboxEntry) => void = () => undefined;
    const seen = new Promise<OutboxEntry>((resolve) => {
      resolveSeen = resolve;
    });
    const relay = new OutboxRelay({
      sources: [Models.collection],
      intervalMs: 600_000,
      logger: silentLogger,
      publish: (e) => {
        resolveSeen(e);
        return Promise.resolve();
      },
    });
    relay.start();
    await relay.runOnce(); // the first, empty pass has run; the loop now sleeps for ten minutes
    await Models.create(withOutboxOnCreate({ name: 'fraud', stage: 'draft' }, event('fraud', 'Created')));
    relay.nudge();
    await expect(seen).resolves.toMatchObject({ type: 'Created', key: 'fraud' });
    await relay.stop();
    expect(relay.stats.published).toBe(1);
  });

  it('retries a failed pass after retryMs, however long the idle interval', async () => {
    await Models.create(withOutboxOnCreate({ name: 'churn', stage: 'draft' }, event('churn', 'Created')));
    let attempts = 0;
    let resolvePublished: () => void = () => undefined;
    const published = new Promise<void>((resolve) => {
      resolvePublished = resolve;
    });
    const relay = new OutboxRelay({
      sources: [Models],
      intervalMs: 600_000,
      retryMs: 5,
      maxBackoffMs: 600_000,
      logger: silentLogger,
      publish: () => {
        attempts += 1;
        if (attempts === 1) return Promise.reject(new Error('broker unavailable'));
        resolvePublished();
        return Promise.resolve();
      },
    });
    relay.start();
    // No nudge: only the backoff (2 x retryMs) can bring the second attempt before the test times out.
    await published;
    await relay.stop();
    expect(attempts).toBe(2);
    expect(relay.stats).toMatchObject({ published: 1, publishFailures: 1 });
    expect(await outboxOf('churn')).toEqual([]);
  });
});
