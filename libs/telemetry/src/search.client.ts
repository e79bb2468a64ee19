import { Client, errors } from '@opensearch-project/opensearch';

/** How to reach the search engine (OpenSearch 2.x or Elasticsearch 8/9: same REST API). */
export interface SearchConnectionOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Accept self-signed certificates (local clusters only). */
  readonly tlsInsecure?: boolean;
  /** Per request; default 10 s. */
  readonly requestTimeoutMs?: number;
}

/** The outcome of one action inside a bulk request. */
export interface BulkItemResult {
  readonly status: number;
  readonly errorType?: string;
  readonly errorReason?: string;
}

/**
 * The little the exporters need from a search engine. A narrow interface so tests can script
 * outages and partial failures without a server.
 */
export interface SearchBulkClient {
  /** Sends NDJSON-style action/document pairs; resolves with one result per action, throws SearchRequestError. */
  bulk(operations: readonly object[]): Promise<BulkItemResult[]>;
  putIndexTemplate(name: string, body: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** A whole request failed; `retryable` says whether the same request may succeed later. */
export class SearchRequestError extends Error {
  override readonly name = 'SearchRequestError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// 429 and the gateway statuses are the engine (or a proxy) saying "later"; other 4xx will not change.
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

export function createSearchClient(options: SearchConnectionOptions): SearchBulkClient {
  const client = new Client({
    node: options.url,
    ...(options.username !== undefined
      ? { auth: { username: options.username, password: options.password ?? '' } }
      : {}),
    ...(options.tlsInsecure ? { ssl: { rejectUnauthorized: false } } : {}),
    // Retrying is the exporter's job: it knows the batch deadline and the outage state.
    maxRetries: 0,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    // One node or a load balancer: a dead-marked connection must still be tried on the next batch.
    resurrectStrategy: 'optimistic',
  });

  return {
    async bulk(operations) {
      try {
        const response = await client.bulk({ body: [...operations] as Record<string, unknown>[] });
        const items = response.body.items;
        return items.map((item): BulkItemResult => {
          const result = item.create ?? item.index ?? item.update ?? item.delete;
          if (!result) return { status: 500, errorType: 'unknown', errorReason: 'bulk item without a result' };
          const error = result.error;
          return {
            status: result.status,
            ...(error?.type ? { errorType: error.type } : {}),
            ...(error?.reason ? { errorReason: error.reason } : {}),
          };
        });
      } catch (error) {
        throw toRequestError(error);
      }
    },
    async putIndexTemplate(name, body) {
      try {
        await client.indices.putIndexTemplate({ name, body });
      } catch (error) {
        throw toRequestError(error);
      }
    },
    async close() {
      await client.close();
    },
  };
}

function toRequestError(error: unknown): SearchRequestError {
  if (error instanceof SearchRequestError) return error;
  if (error instanceof errors.ResponseError) {
    const reason = describeResponseBody(error.body);
    return new SearchRequestError(`HTTP ${error.statusCode}${reason ? `: ${reason}` : ''}`, RETRYABLE_STATUS.has(error.statusCode), {
      cause: error,
    });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SearchRequestError(message, true, { cause: error });
}

function describeResponseBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return typeof body === 'string' ? body.slice(0, 300) : undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'string') return error.slice(0, 300);
  if (typeof error === 'object' && error !== null) {
    const { type, reason } = error as { type?: unknown; reason?: unknown };
    return `${String(type)}: ${String(reason)}`.slice(0, 300);
  }
  return undefined;
}
