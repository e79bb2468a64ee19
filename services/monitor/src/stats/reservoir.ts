/**
 * A uniform random sample of at most `capacity` of the items offered (Vitter's Algorithm R): after n
 * offers every item is kept with probability capacity / n. Each kept item stands for `weight` items.
 */
export class Reservoir<T> {
  readonly items: T[] = [];
  /** Items offered so far. */
  seen = 0;

  constructor(
    readonly capacity: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`reservoir capacity must be a positive integer, got ${capacity}`);
  }

  add(item: T): void {
    this.seen += 1;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.capacity) this.items[slot] = item;
  }

  /** Offered items per kept item: 1 until the reservoir overflows. */
  get weight(): number {
    return this.items.length === 0 ? 0 : this.seen / this.items.length;
  }
}
