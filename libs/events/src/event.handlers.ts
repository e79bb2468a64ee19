import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { KafkaMessage } from 'kafkajs';
import {
  decodeCloudEventHeaders,
  EventDecodeError,
  normalizeHeaders,
  type HeaderMap,
} from './cloudevent.headers.js';

/** One decoded event as a handler sees it. */
export interface EventEnvelope<Desc extends DescMessage = DescMessage> {
  id: string;
  /** The protobuf type name, e.g. `aio.registry.v1.ModelVersionCreated`. */
  type: string;
  source: string;
  time: Date | undefined;
  key: string | undefined;
  message: MessageShape<Desc>;
  headers: HeaderMap;
  topic: string;
  partition: number;
  offset: string;
}

export interface HandlerContext {
  /** 1 for the first try. */
  attempt: number;
  /** Aborted when shutdown gives up waiting for this handler; its message will be redelivered. */
  signal: AbortSignal;
}

export type EventHandler<Desc extends DescMessage> = (event: EventEnvelope<Desc>, ctx: HandlerContext) => Promise<void>;

/** A record from a topic that does not carry CloudEvents (e.g. JSON from an outside producer). */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
  headers: HeaderMap;
  message: KafkaMessage;
}

export type RawHandler = (record: RawRecord, ctx: HandlerContext) => Promise<void>;

/** What the consumer should do with one record, decided before any handler runs. */
export type Dispatch =
  | { kind: 'handle'; id: string; type: string; invoke(ctx: HandlerContext): Promise<void> }
  | { kind: 'unknown'; id: string; type: string };

interface Location {
  topic: string;
  partition: number;
}

interface Registered {
  decode(base: Omit<EventEnvelope, 'message'>, bytes: Uint8Array): (ctx: HandlerContext) => Promise<void>;
}

export function keyOf(message: KafkaMessage): string | undefined {
  return message.key === null ? undefined : message.key.toString('utf8');
}

/** Handlers by event type. `on` is typed per schema, so each handler gets its own message shape. */
export class EventHandlers {
  private readonly byType = new Map<string, Registered>();

  on<Desc extends DescMessage>(schema: Desc, handler: EventHandler<Desc>): this {
    if (this.byType.has(schema.typeName)) throw new Error(`a handler for ${schema.typeName} is already registered`);
    this.byType.set(schema.typeName, {
      decode(base, bytes) {
        const event: EventEnvelope<Desc> = { ...base, message: fromBinary(schema, bytes) };
        return (ctx) => handler(event, ctx);
      },
    });
    return this;
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }

  /**
   * Decodes headers and payload. Throws EventDecodeError for a record that no retry can fix
   * (missing ce_id / ce_type, bytes that are not the named type); a type without a handler is
   * not an error here: the subscription's policy decides.
   */
  dispatch(location: Location, message: KafkaMessage): Dispatch {
    const headers = normalizeHeaders(message.headers);
    const attrs = decodeCloudEventHeaders(headers);
    const registered = this.byType.get(attrs.type);
    if (registered === undefined) return { kind: 'unknown', id: attrs.id, type: attrs.type };
    if (message.value === null) throw new EventDecodeError(`record ${attrs.id} of type ${attrs.type} has no value (tombstone)`);
    const base = { ...attrs, key: keyOf(message), headers, topic: location.topic, partition: location.partition, offset: message.offset };
    let invoke: (ctx: HandlerContext) => Promise<void>;
    try {
      invoke = registered.decode(base, message.value);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new EventDecodeError(`cannot decode ${attrs.type} from record ${attrs.id}: ${reason}`, { cause: err });
    }
    return { kind: 'handle', id: attrs.id, type: attrs.type, invoke };
  }
}

/** Raw topics have no ce_id to deduplicate on unless a producer set one; the record's position is unique. */
export function rawRecordId(location: Location, message: KafkaMessage, headers: HeaderMap): string {
  return headers['ce_id'] ?? `kafka:${location.topic}/${location.partition}/${message.offset}`;
}
