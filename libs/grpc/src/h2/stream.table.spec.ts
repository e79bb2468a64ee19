import { describe, expect, it } from 'vitest';
import { StreamTable } from './stream.table.js';

interface Entry {
  readonly id: number;
}

/** A small deterministic generator (the same run every time, so a failure can be replayed). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function sorted(table: StreamTable<Entry>): number[] {
  return table.values().map((e) => e.id).sort((a, b) => a - b);
}

describe('StreamTable', () => {
  it('finds, counts and removes what was added', () => {
    const table = new StreamTable<Entry>();
    const one = { id: 1 };
    table.add(one);
    table.add({ id: 3 });
    expect(table.size).toBe(2);
    expect(table.get(1)).toBe(one);
    expect(table.get(5)).toBeUndefined();
    expect(table.delete(1)).toBe(true);
    expect(table.delete(1)).toBe(false);
    expect(table.get(1)).toBeUndefined();
    expect(table.get(3)).toEqual({ id: 3 });
    expect(table.size).toBe(1);
  });

  it('keeps every entry reachable when ids share a home slot and entries between them leave', () => {
    // With 16 slots, ids 1, 33, 65 and 97 all start at slot 0; 3 starts at slot 1, where 33 landed.
    const table = new StreamTable<Entry>();
    for (const id of [1, 33, 3, 65, 97]) table.add({ id });
    expect(table.delete(33)).toBe(true);
    for (const id of [1, 3, 65, 97]) expect(table.get(id)?.id).toBe(id);
    expect(table.delete(1)).toBe(true);
    for (const id of [3, 65, 97]) expect(table.get(id)?.id).toBe(id);
    expect(sorted(table)).toEqual([3, 65, 97]);
  });

  it('wraps probe runs around the end of the array', () => {
    // Ids 31 and 63 start at slot 15 (the last of 16); the run continues at slot 0, home of 1 and 33.
    const table = new StreamTable<Entry>();
    for (const id of [31, 63, 1, 33]) table.add({ id });
    expect(table.delete(31)).toBe(true);
    for (const id of [63, 1, 33]) expect(table.get(id)?.id).toBe(id);
    expect(table.delete(1)).toBe(true);
    for (const id of [63, 33]) expect(table.get(id)?.id).toBe(id);
    expect(sorted(table)).toEqual([33, 63]);
  });

  it('agrees with a Map over a long run of adds and deletes, growing as streams pile up', () => {
    const next = random(42);
    const table = new StreamTable<Entry>();
    const model = new Map<number, Entry>();
    let id = 1;
    for (let step = 0; step < 20_000; step++) {
      // Mostly short streams; a few stay open for long, as a streaming call does among unary ones.
      const open = [...model.keys()];
      if (open.length === 0 || next() < (open.length < 300 ? 0.55 : 0.45)) {
        const e = { id };
        id += 2;
        table.add(e);
        model.set(e.id, e);
      } else {
        const victim = next() < 0.9 ? Math.min(...open.slice(0, 8)) : (open[Math.floor(next() * open.length)] as number);
        expect(table.delete(victim)).toBe(true);
        model.delete(victim);
      }
      if (step % 97 === 0) {
        expect(table.size).toBe(model.size);
        for (const [k, v] of model) expect(table.get(k)).toBe(v);
        expect(table.get(id)).toBeUndefined();
      }
    }
    expect(sorted(table)).toEqual([...model.keys()].sort((a, b) => a - b));
  });

  it('gives a snapshot that stays whole while entries are deleted during the walk', () => {
    const table = new StreamTable<Entry>();
    for (let id = 1; id < 100; id += 2) table.add({ id });
    const seen: number[] = [];
    for (const e of table.values()) {
      seen.push(e.id);
      table.delete(e.id);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
    expect(table.size).toBe(0);
  });
});
