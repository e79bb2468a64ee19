import { invalidArgument } from '@aio/grpc';
import { fromJson, toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';

/**
 * A REST body (or query string: protobuf JSON accepts numbers given as strings) as the generated request
 * message; anything that does not fit is INVALID_ARGUMENT (REST 400) naming `where` and the problem.
 */
export function fromRestJson<D extends DescMessage>(schema: D, body: unknown, where: 'body' | 'query' = 'body'): MessageShape<D> {
  try {
    return fromJson(schema, (body ?? {}) as JsonValue, { ignoreUnknownFields: false });
  } catch (err) {
    throw invalidArgument(where, err instanceof Error ? err.message : String(err));
  }
}

/** Proto field names (snake_case) in REST, as in the .proto files. */
export function toRestJson<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonValue {
  return toJson(schema, message, { useProtoFieldName: true });
}
