import { SearchRequestError, type BulkItemResult, type SearchBulkClient } from '../src/search.client.js';

type Mode = 'up' | 'down' | 'hang';

/**
 * A scripted search engine for unit tests: up, down (connection refused) or hanging, with optional
 * per-document rejections. Not exported from the package.
 */
export class FakeSearch implements SearchBulkClient {
  mode: Mode = 'up';
  /** Documents whose `message` or `span.name` equals a key are rejected with that item error. */
  readonly rejections = new Map<string, { status: number; type: string; reason: string }>();
  readonly documents: Record<string, unknown>[] = [];
  readonly indices: string[] = [];
  readonly templates: string[] = [];
  bulkCalls = 0;
  /** Requests of any kind (bulk and template), failed or not. */
  requests = 0;
  templateFailure: SearchRequestError | undefined;
  #waiters: (() => void)[] = [];
  #hung: (() => void)[] = [];

  bulk(operations: readonly object[]): Promise<BulkItemResult[]> {
    this.bulkCalls++;
    this.requests++;
    this.#notify();
    if (this.mode === 'down') return Promise.reject(new SearchRequestError('connect ECONNREFUSED 127.0.0.1:9', true));
    if (this.mode === 'hang') {
      return new Promise((_resolve, reject) => {
        this.#hung.push(() => reject(new SearchRequestError('socket hang up', true)));
      });
    }
    const results: BulkItemResult[] = [];
    for (let i = 0; i + 1 < operations.length; i += 2) {
      const action = operations[i] as { create: { _index: string } };
      const document = operations[i + 1] as Record<string, unknown>;
      const message = typeof document.message === 'string' ? document.message : undefined;
      const key = message ?? (document.span as { name?: string } | undefined)?.name ?? '';
      const rejection = this.rejections.get(key);
      if (rejection) {
        results.push({ status: rejection.status, errorType: rejection.type, errorReason: rejection.reason });
      } else {
        this.indices.push(action.create._index);
        this.documents.push(document);
        results.push({ status: 201 });
      }
    }
    return Promise.resolve(results);
  }

  putIndexTemplate(name: string): Promise<void> {
    this.requests++;
    this.#notify();
    if (this.mode === 'down') return Promise.reject(new SearchRequestError('connect ECONNREFUSED 127.0.0.1:9', true));
    if (this.templateFailure) return Promise.reject(this.templateFailure);
    this.templates.push(name);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.releaseHung();
    return Promise.resolve();
  }

  /** Fails every request that is hanging. */
  releaseHung(): void {
    for (const release of this.#hung.splice(0)) release();
  }

  /** Resolves once at least `count` requests of any kind have been made in total. */
  untilRequests(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.requests >= count) resolve();
        else this.#waiters.push(check);
      };
      check();
    });
  }

  #notify(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
