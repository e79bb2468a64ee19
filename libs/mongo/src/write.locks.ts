/**
 * In-process write serialization, per key (usually a collection name).
 *
 * Why: FerretDB 1.24 on SQLite runs an update as read -> modify in Go -> `UPDATE ... WHERE _id = ?`
 * without a transaction around the read, so two concurrent updates of one document lose one of
 * them (100 concurrent `$inc` left the counter at 2-4 in our probe). MongoDB applies each update
 * atomically and needs none of this. With `enabled: false` (use `detectServer`), `run` just calls `fn`.
 * It only protects writes made through the same instance in the same process.
 */
export class WriteLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(readonly enabled = true) {}

  /** Runs `fn` after every earlier `run` with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return fn();
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      // Drop the key once nothing queued after us, so the map does not grow with every key ever seen.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a write running or queued (for tests and debugging). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
