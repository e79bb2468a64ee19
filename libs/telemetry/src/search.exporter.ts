import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { dataStreamName, logRecordToEcs, spanToEcs, type DataStreamTarget, type EcsDocument } from './ecs.mapper.js';
import type { ExportCounters, Signal } from './export.counters.js';
import type { OutageMonitor } from './outage.monitor.js';
import { SearchRequestError, type SearchBulkClient } from './search.client.js';

/** Handed to the SDK processors when a batch is lost; already counted and reported, so not printed again. */
export class TelemetryExportError extends Error {
  override readonly name = 'TelemetryExportError';
}

export interface BulkShipperOptions {
  readonly client: SearchBulkClient;
  readonly templates: { ensure(): Promise<void> };
  readonly monitor: OutageMonitor;
  readonly counters: ExportCounters;
  /** How long one batch is retried while the engine is unreachable; default 15 s (below the SDK's 30 s export timeout). */
  readonly retryBudgetMs?: number;
  /** Text for the outage warning, e.g. "up to 10000 records per signal are buffered". */
  readonly bufferHint?: string;
  readonly now?: () => number;
}

const FIRST_RETRY_DELAY_MS = 200;
const MAX_RETRY_DELAY_MS = 2_000;

/**
 * Sends one batch of documents to a data stream with `create` actions. While the engine is down it
 * holds the batch and retries within a budget: the SDK processor sends nothing else meanwhile, so new
 * records wait in its bounded queue instead of failing one batch after another.
 */
export class BulkShipper {
  readonly #options: BulkShipperOptions;
  readonly #now: () => number;
  readonly #stop = new AbortController();

  constructor(options: BulkShipperOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** From now on every batch gets one attempt, and none while the engine is known to be down. */
  stopRetrying(): void {
    this.#stop.abort();
  }

  /** Never rejects: true when every document was stored. */
  async ship(signal: Signal, index: string, documents: readonly EcsDocument[]): Promise<boolean> {
    if (documents.length === 0) return true;
    const { client, templates, monitor, counters } = this.#options;
    const operations: object[] = [];
    for (const document of documents) operations.push({ create: { _index: index } }, document);
    const deadline = this.#now() + (this.#options.retryBudgetMs ?? 15_000);
    let delay = FIRST_RETRY_DELAY_MS;
    for (;;) {
      if (this.#stop.signal.aborted && monitor.down) return this.#lose(signal, documents.length);
      try {
        await templates.ensure();
        const results = await client.bulk(operations);
        monitor.success();
        let stored = 0;
        let rejected = 0;
        for (const result of results) {
          if (result.status >= 200 && result.status < 300) {
            stored++;
          } else {
            rejected++;
            monitor.rejected(signal, result.errorType ?? `HTTP ${result.status}`, result.errorReason ?? '');
          }
        }
        // An answer with fewer items than actions sent means the rest were not stored either.
        rejected += Math.max(0, documents.length - results.length);
        counters.exported(signal, stored);
        counters.dropped(signal, 'rejected', rejected);
        return rejected === 0;
      } catch (error) {
        const failure =
          error instanceof SearchRequestError
            ? error
            : new SearchRequestError(error instanceof Error ? error.message : String(error), true);
        monitor.failure(signal, failure.message, this.#options.bufferHint ?? 'records are buffered in a bounded queue');
        const retry = failure.retryable && !this.#stop.signal.aborted && this.#now() + delay < deadline;
        if (!retry) return this.#lose(signal, documents.length);
        await sleep(delay, this.#stop.signal);
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  #lose(signal: Signal, count: number): false {
    this.#options.counters.dropped(signal, 'export_failed', count);
    this.#options.monitor.droppedWhileDown(count);
    return false;
  }
}

export class SearchSpanExporter implements SpanExporter {
  readonly #index: string;

  constructor(
    private readonly shipper: BulkShipper,
    private readonly target: DataStreamTarget,
    private readonly counters: ExportCounters,
  ) {
    this.#index = dataStreamName(target);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    exportBatch('traces', spans, (span) => spanToEcs(span, this.target), this.shipper, this.#index, this.counters, resultCallback);
  }

  shutdown(): Promise<void> {
    this.shipper.stopRetrying();
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export class SearchLogRecordExporter implements LogRecordExporter {
  readonly #index: string;

  constructor(
    private readonly shipper: BulkShipper,
    private readonly target: DataStreamTarget,
    private readonly counters: ExportCounters,
  ) {
    this.#index = dataStreamName(target);
  }

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    exportBatch('logs', logs, (record) => logRecordToEcs(record, this.target), this.shipper, this.#index, this.counters, resultCallback);
  }

  shutdown(): Promise<void> {
    this.shipper.stopRetrying();
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

function exportBatch<T>(
  signal: Signal,
  items: readonly T[],
  toDocument: (item: T) => EcsDocument,
  shipper: BulkShipper,
  index: string,
  counters: ExportCounters,
  resultCallback: (result: ExportResult) => void,
): void {
  const documents: EcsDocument[] = [];
  for (const item of items) {
    try {
      documents.push(toDocument(item));
    } catch {
      // A record that cannot be mapped must not take the rest of its batch down with it.
      counters.dropped(signal, 'rejected', 1);
    }
  }
  const lost = items.length - documents.length;
  shipper.ship(signal, index, documents).then(
    (stored) =>
      resultCallback(
        stored && lost === 0
          ? { code: ExportResultCode.SUCCESS }
          : { code: ExportResultCode.FAILED, error: new TelemetryExportError(`${signal}: batch not fully stored in ${index}`) },
      ),
    (error: unknown) =>
      resultCallback({ code: ExportResultCode.FAILED, error: new TelemetryExportError(String(error)) }),
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // Unref'd: a retry wait must not keep a process alive that has nothing else to do.
    const timer = setTimeout(done, ms).unref();
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
