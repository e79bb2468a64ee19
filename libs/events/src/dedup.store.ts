/**
 * Remembers processed event ids. Structural on purpose: libs/mongo ships a durable store of the
 * same shape, and a service can back it with whatever it writes its effects to.
 */
export interface DedupStore {
  has(id: string): Promise<boolean>;
  add(id: string): Promise<void>;
}

/**
 * The default store: the most recently added `capacity` ids in memory. It catches redeliveries
 * within one process (a retried batch after a rebalance, a producer retry that slipped past
 * idempotence); it forgets everything on restart, which a durable store does not.
 */
export class LruDedupStore implements DedupStore {
  // A Map iterates in insertion order, so its first key is always the oldest one.
  private readonly ids = new Map<string, true>();

  constructor(readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`LruDedupStore capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): Promise<boolean> {
    return Promise.resolve(this.ids.has(id));
  }

  add(id: string): Promise<void> {
    this.ids.delete(id);
    this.ids.set(id, true);
    while (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next();
      if (oldest.done === true) break;
      this.ids.delete(oldest.value);
    }
    return Promise.resolve();
  }
}
