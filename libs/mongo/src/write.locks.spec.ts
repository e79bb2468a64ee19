import { describe, expect, it } from 'vitest';
import { WriteLocks } from './write.locks.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('WriteLocks', () => {
  it('runs writes with the same key one after another, other keys in parallel', async () => {
    const locks = new WriteLocks();
    const gate = deferred();
    const order: string[] = [];
    const first = locks.run('models', async () => {
      await gate.promise;
      order.push('models-1');
    });
    const second = locks.run('models', () => {
      order.push('models-2');
      return Promise.resolve();
    });
    await locks.run('datasets', () => {
      order.push('datasets');
      return Promise.resolve();
    });
    expect(order).toEqual(['datasets']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['datasets', 'models-1', 'models-2']);
    expect(locks.activeKeys).toBe(0);
  });

  it('keeps going after a failed write and reports the failure to its caller only', async () => {
    const locks = new WriteLocks();
    const failed = locks.run('k', () => Promise.reject(new Error('E11000')));
    const next = locks.run('k', () => Promise.resolve(42));
    await expect(failed).rejects.toThrow('E11000');
    await expect(next).resolves.toBe(42);
  });

  it('does nothing when disabled (real MongoDB)', async () => {
    const locks = new WriteLocks(false);
    const gate = deferred();
    const slow = locks.run('k', () => gate.promise);
    await expect(locks.run('k', () => Promise.resolve('ran'))).resolves.toBe('ran');
    gate.resolve();
    await slow;
  });
});
