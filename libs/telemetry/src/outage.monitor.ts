import type { Signal } from './export.counters.js';

/** Where the monitor's own notices go: straight to stdout, never through the exporters it watches. */
export type NoticeWriter = (level: 'info' | 'warn', message: string, attributes: Record<string, unknown>) => void;

// Distinct item-level rejection reasons reported; a bound so a flood of odd errors cannot grow memory.
const MAX_REPORTED_REJECTIONS = 32;

/**
 * Tracks whether the search engine answers, so an outage is reported once when it starts and once
 * when it ends, however many batches fail in between. Shared by the span and log exporters: one
 * engine, one outage.
 */
export class OutageMonitor {
  #down = false;
  #since = 0;
  #droppedDuringOutage = 0;
  readonly #reportedRejections = new Set<string>();

  constructor(
    private readonly target: string,
    private readonly notice: NoticeWriter,
    private readonly now: () => number = Date.now,
  ) {}

  get down(): boolean {
    return this.#down;
  }

  /** A request failed as a whole (connection refused, timeout, 5xx, 4xx). */
  failure(signal: Signal, reason: string, bufferHint: string): void {
    if (this.#down) return;
    this.#down = true;
    this.#since = this.now();
    this.#droppedDuringOutage = 0;
    this.notice(
      'warn',
      `search engine ${this.target} is not accepting telemetry (${reason}); the service keeps running, ${bufferHint}, beyond that records are dropped and counted in aio_telemetry_dropped_total`,
      { signal, 'search.url': this.target },
    );
  }

  /** The engine answered a bulk request. */
  success(): void {
    if (!this.#down) return;
    this.#down = false;
    const seconds = Math.round((this.now() - this.#since) / 100) / 10;
    this.notice(
      'info',
      `search engine ${this.target} accepts telemetry again after ${seconds} s; ${this.#droppedDuringOutage} records were dropped during the outage`,
      { 'search.url': this.target, 'outage.seconds': seconds, 'outage.dropped': this.#droppedDuringOutage },
    );
  }

  droppedWhileDown(count: number): void {
    if (this.#down) this.#droppedDuringOutage += count;
  }

  /** Item-level rejections (mapping conflicts, closed indices): reported once per kind of error. */
  rejected(signal: Signal, errorType: string, reason: string): void {
    const key = `${signal}:${errorType}`;
    if (this.#reportedRejections.has(key) || this.#reportedRejections.size >= MAX_REPORTED_REJECTIONS) return;
    this.#reportedRejections.add(key);
    this.notice('warn', `search engine ${this.target} rejected ${signal} documents: ${errorType}: ${reason}`, {
      signal,
      'search.url': this.target,
      'error.type': errorType,
    });
  }
}
