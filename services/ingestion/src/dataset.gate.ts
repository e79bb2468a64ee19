interface GateState {
  writers: number;
  exclusive: boolean;
  waitingExclusive: (() => void)[];
  waitingShared: (() => void)[];
}

/**
 * A per-dataset readers-writer gate in this process. Batch writes hold it shared (many at once);
 * taking a version's watermark holds it exclusively, so no batch is between "sequence numbers
 * allocated" and "records written" at that moment. Waiting exclusive holders go first (a steady
 * stream of batches must not starve a version).
 */
export class DatasetGate {
  private readonly states = new Map<string, GateState>();

  async shared<T>(dataset: string, fn: () => Promise<T>): Promise<T> {
    const state = this.state(dataset);
    // A woken waiter is counted by release() before it resumes, so nobody slips in between.
    if (state.exclusive || state.waitingExclusive.length > 0) await new Promise<void>((resolve) => state.waitingShared.push(resolve));
    else state.writers++;
    try {
      return await fn();
    } finally {
      state.writers--;
      this.release(dataset, state);
    }
  }

  async exclusive<T>(dataset: string, fn: () => Promise<T>): Promise<T> {
    const state = this.state(dataset);
    if (state.exclusive || state.writers > 0 || state.waitingExclusive.length > 0) {
      await new Promise<void>((resolve) => state.waitingExclusive.push(resolve));
    } else {
      state.exclusive = true;
    }
    try {
      return await fn();
    } finally {
      state.exclusive = false;
      this.release(dataset, state);
    }
  }

  /** Datasets with a holder or a waiter (tests, debugging). */
  get active(): number {
    return this.states.size;
  }

  private state(dataset: string): GateState {
    let state = this.states.get(dataset);
    if (state === undefined) {
      state = { writers: 0, exclusive: false, waitingExclusive: [], waitingShared: [] };
      this.states.set(dataset, state);
    }
    return state;
  }

  private release(dataset: string, state: GateState): void {
    if (state.exclusive || state.writers > 0) return;
    const next = state.waitingExclusive.shift();
    if (next !== undefined) {
      // Taken on its behalf now, so a caller arriving before `next` resumes cannot slip in.
      state.exclusive = true;
      next();
      return;
    }
    const shared = state.waitingShared.splice(0);
    if (shared.length > 0) {
      state.writers += shared.length;
      shared.forEach((resolve) => resolve());
      return;
    }
    this.states.delete(dataset);
  }
}
