import { invalidArgument } from '@aio/grpc';
import { fromJson, toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';

/** A REST body as a protobuf message; anything that does not fit the message is a 400 naming the problem. */
export function fromRestJson<D extends DescMessage>(schema: D, body: unknown): MessageShape<D> {
  try {
    return fromJson(schema, (body ?? {}) as JsonValue, { ignoreUnknownFields: false });
  } catch (err) {
    throw invalidArgument('body', err instanceof Error ? err.message : String(err));
  }
}

/** Proto field names (snake_case) in REST, as in the .proto files. */
export function toRestJson<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonValue {
  return toJson(schema, message, { useProtoFieldName: true });
}
