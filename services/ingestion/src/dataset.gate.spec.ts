import { describe, expect, it } from 'vitest';
import { DatasetGate } from './dataset.gate.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('DatasetGate', () => {
  it('runs shared holders together and an exclusive one alone, after them', async () => {
    const gate = new DatasetGate();
    const log: string[] = [];
    const a = deferred();
    const b = deferred();
    const s1 = gate.shared('ds', async () => {
      log.push('s1 start');
      await a.promise;
      log.push('s1 end');
    });
    const s2 = gate.shared('ds', async () => {
      log.push('s2 start');
      await b.promise;
      log.push('s2 end');
    });
    const x = gate.exclusive('ds', () => {
      log.push('x');
      return Promise.resolve();
    });
    // Arrives after the exclusive waiter: must wait for it (writers do not starve the version).
    const s3 = gate.shared('ds', () => {
      log.push('s3');
      return Promise.resolve();
    });
    await Promise.resolve();
    expect(log).toEqual(['s1 start', 's2 start']);
    a.resolve();
    await s1;
    expect(log).not.toContain('x');
    b.resolve();
    await Promise.all([s2, x, s3]);
    expect(log).toEqual(['s1 start', 's2 start', 's1 end', 's2 end', 'x', 's3']);
    expect(gate.active).toBe(0);
  });

  it('keeps datasets independent and releases after a failure', async () => {
    const gate = new DatasetGate();
    const hold = deferred();
    const other = gate.shared('a', () => hold.promise);
    await gate.exclusive('b', () => Promise.resolve());
    const blocked = gate.exclusive('a', () => Promise.reject(new Error('boom')));
    hold.resolve();
    await expect(blocked).rejects.toThrow('boom');
    await other;
    await gate.shared('a', () => Promise.resolve());
    expect(gate.active).toBe(0);
  });
});
