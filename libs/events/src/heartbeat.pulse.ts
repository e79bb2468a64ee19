/**
 * Heartbeats the group coordinator on a timer while a batch is being worked on, so a slow handler
 * or a long backoff does not get the member evicted (kafkajs only beats between our calls).
 * The first failed beat (usually REBALANCE_IN_PROGRESS) aborts `signal`: the batch should stop,
 * commit what it finished, and hand the partition back.
 */
export class HeartbeatPulse {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private pending = false;
  private failure: Error | undefined;

  constructor(
    private readonly beat: () => Promise<void>,
    everyMs: number,
  ) {
    this.timer = setInterval(() => this.tick(), everyMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    // One beat at a time: a slow coordinator must not pile up requests.
    if (this.pending || this.failure !== undefined) return;
    this.pending = true;
    this.beat().then(
      () => {
        this.pending = false;
      },
      (err: unknown) => {
        this.pending = false;
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.controller.abort(this.failure);
        this.stop();
      },
    );
  }
}
