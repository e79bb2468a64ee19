import type { PublishItem } from '@aio/events';
import type { Logger } from '@aio/telemetry';
import { describe, expect, it } from 'vitest';
import { InferenceLog, type InferenceLogOptions } from './inference.log.js';

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

function setup(overrides: Partial<InferenceLogOptions> = {}) {
  const batches: PublishItem[][] = [];
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const options: InferenceLogOptions = {
    sampleRate: 1,
    maxPerSecond: 0,
    maxBytesPerSecond: 0,
    queueLimit: 3,
    batchSize: 2,
    lingerMs: 0,
    topic: 't',
    source: 'aio/test',
    logger,
    publish: async (items) => {
      batches.push(items);
      // The first batch waits until the test opens the gate: records pushed meanwhile must not wait.
      if (batches.length === 1) await opened;
    },
    ...overrides,
  };
  return { log: new InferenceLog(options), batches, open: () => open() };
}

describe('InferenceLog', () => {
  it('samples at the configured rate', () => {
    expect(new InferenceLog({ ...setup().log['options'], sampleRate: 0 }).sample()).toBe(false);
    const seq = [0.1, 0.6];
    const half = new InferenceLog({ ...setup().log['options'], sampleRate: 0.5, random: () => seq.shift() ?? 0 });
    expect([half.sample(), half.sample()]).toEqual([true, false]);
  });

  it('records at most maxPerSecond, refilled with time, and counts what it skipped', () => {
    let now = 0;
    const log = new InferenceLog({ ...setup().log['options'], maxPerSecond: 2, now: () => now });
    expect([log.sample(), log.sample(), log.sample()]).toEqual([true, true, false]);
    now = 500; // half a second: one more
    expect([log.sample(), log.sample()]).toEqual([true, false]);
    now = 10_000; // a long pause refills one second's worth, no more
    expect([log.sample(), log.sample(), log.sample()]).toEqual([true, true, false]);
    expect(log.counts.rateLimited).toBe(3);
  });

  it('admits input bytes up to maxBytesPerSecond', () => {
    const now = 0;
    const log = new InferenceLog({ ...setup().log['options'], maxBytesPerSecond: 1000, now: () => now });
    expect([log.admit(600), log.admit(600), log.admit(300)]).toEqual([true, false, true]);
    expect(log.counts.rateLimited).toBe(1);
  });

  it('publishes in batches, drops and counts when the queue is full, and never blocks push', async () => {
    const { log, batches, open } = setup();
    for (let i = 0; i < 6; i++) log.push({ requestId: `r${i}`, model: 'm' });
    // Three queued, three dropped; the publisher has not run yet (push never waits for it).
    expect(log.counts.droppedQueueFull).toBe(3);
    expect(log.pending).toBe(3);
    const closing = log.close();
    open();
    await closing;
    expect(batches.map((b) => b.map((i) => (i.message as { requestId: string }).requestId))).toEqual([['r0', 'r1'], ['r2']]);
    expect(batches[0]?.[0]?.options.key).toBe('m');
    expect(log.counts.published).toBe(3);
    log.push({ requestId: 'late', model: 'm' });
    expect(log.counts.droppedQueueFull).toBe(4);
  });

  it('lingers for a full batch, publishes a full one at once, and close() does not wait out the linger', async () => {
    const batches: string[][] = [];
    const log = new InferenceLog({
      ...setup().log['options'],
      lingerMs: 60_000,
      publish: (items) => {
        batches.push(items.map((i) => (i.message as { requestId: string }).requestId));
        return Promise.resolve();
      },
    });
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    log.push({ requestId: 'a', model: 'm' });
    await turns(3);
    expect(batches).toEqual([]); // one record waits for a companion
    log.push({ requestId: 'b', model: 'm' });
    await turns(3);
    expect(batches).toEqual([['a', 'b']]); // a full batch (batchSize 2) goes at once
    log.push({ requestId: 'c', model: 'm' });
    await turns(3);
    expect(batches).toHaveLength(1);
    await log.close(); // the test would time out if close waited the 60 s linger
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });

  it('counts records lost to a failing publish and keeps going', async () => {
    let calls = 0;
    const log = new InferenceLog({
      ...setup().log['options'],
      publish: () => (++calls === 1 ? Promise.reject(new Error('broker down')) : Promise.resolve()),
    });
    log.push({ requestId: 'a', model: 'm' });
    log.push({ requestId: 'b', model: 'm' });
    log.push({ requestId: 'c', model: 'm' });
    await log.close();
    expect(log.counts).toEqual({ published: 1, droppedQueueFull: 0, droppedPublishFailed: 2, rateLimited: 0 });
  });
});
