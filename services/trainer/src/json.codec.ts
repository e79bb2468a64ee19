import { invalidArgument } from '@aio/grpc';
import { fromJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';

/**
 * A REST query string (`?page_size=10&page_token=...`) as the generated request message: protobuf JSON
 * accepts numbers and enums given as strings. INVALID_ARGUMENT naming the problem otherwise.
 */
export function fromRestQuery<D extends DescMessage>(schema: D, query: unknown): MessageShape<D> {
  try {
    return fromJson(schema, (query ?? {}) as JsonValue, { ignoreUnknownFields: false });
  } catch (err) {
    throw invalidArgument('query', err instanceof Error ? err.message : String(err));
  }
}
