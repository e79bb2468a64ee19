import { describe, expect, it } from 'vitest';
import { LruDedupStore } from './dedup.store.js';

describe('LruDedupStore', () => {
  it('never holds more than its capacity and forgets the oldest id first', async () => {
    const store = new LruDedupStore(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.add(id);
    expect(store.size).toBe(3);
    expect(await store.has('a')).toBe(false);
    expect(await store.has('b')).toBe(false);
    expect(await store.has('c')).toBe(true);
    expect(await store.has('e')).toBe(true);
  });

  it('treats a re-added id as the newest', async () => {
    const store = new LruDedupStore(2);
    await store.add('a');
    await store.add('b');
    await store.add('a');
    await store.add('c');
    expect(await store.has('a')).toBe(true);
    expect(await store.has('b')).toBe(false);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new LruDedupStore(0)).toThrow(/positive integer/);
    expect(() => new LruDedupStore(1.5)).toThrow(/positive integer/);
  });
});
