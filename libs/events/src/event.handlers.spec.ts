import { create, fromJson, toBinary } from '@bufbuild/protobuf';
import { StructSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { encodeCloudEventHeaders, EventDecodeError } from './cloudevent.headers.js';
import { EventHandlers, rawRecordId } from './event.handlers.js';

const location = { topic: 'aio.events.data', partition: 1 };
const ctx = { attempt: 1, signal: new AbortController().signal };

function record(type: string, value: Buffer | null, id = 'e1'): KafkaMessage {
  return {
    key: Buffer.from('iris'),
    value,
    offset: '7',
    timestamp: '0',
    attributes: 0,
    headers: encodeCloudEventHeaders({ id, type, source: 'test', time: new Date(0) }),
  };
}

describe('EventHandlers', () => {
  it('dispatches by ce_type to the handler of that schema with a decoded message', async () => {
    const onStruct = vi.fn((_e: unknown) => Promise.resolve());
    const onTimestamp = vi.fn((_e: unknown) => Promise.resolve());
    const handlers = new EventHandlers().on(StructSchema, onStruct).on(TimestampSchema, onTimestamp);
    const struct = fromJson(StructSchema, { dataset: 'iris', rows: 3 });
    const dispatch = handlers.dispatch(location, record(StructSchema.typeName, Buffer.from(toBinary(StructSchema, struct))));
    expect(dispatch).toMatchObject({ kind: 'handle', id: 'e1', type: 'google.protobuf.Struct' });
    if (dispatch.kind !== 'handle') throw new Error('expected a handler');
    await dispatch.invoke(ctx);
    expect(onTimestamp).not.toHaveBeenCalled();
    expect(onStruct).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'e1', key: 'iris', topic: 'aio.events.data', partition: 1, offset: '7', source: 'test', message: struct }),
      ctx,
    );
  });

  it('reports a type without a handler as unknown rather than failing', () => {
    const handlers = new EventHandlers().on(StructSchema, () => Promise.resolve());
    const ts = toBinary(TimestampSchema, create(TimestampSchema, { seconds: 1n }));
    expect(handlers.dispatch(location, record(TimestampSchema.typeName, Buffer.from(ts)))).toEqual({
      kind: 'unknown',
      id: 'e1',
      type: 'google.protobuf.Timestamp',
    });
  });

  it('throws EventDecodeError for bytes that are not the named type, and for tombstones', () => {
    const handlers = new EventHandlers().on(StructSchema, () => Promise.resolve());
    // Field 1, length-delimited, claims 5 bytes but carries 1.
    expect(() => handlers.dispatch(location, record(StructSchema.typeName, Buffer.from([0x0a, 0x05, 0x01])))).toThrow(EventDecodeError);
    expect(() => handlers.dispatch(location, record(StructSchema.typeName, null))).toThrow(/tombstone/);
  });

  it('refuses two handlers for one type', () => {
    const handlers = new EventHandlers().on(StructSchema, () => Promise.resolve());
    expect(() => handlers.on(StructSchema, () => Promise.resolve())).toThrow(/already registered/);
    expect(handlers.types).toEqual(['google.protobuf.Struct']);
  });

  it('identifies raw records by ce_id when present, else by their position', () => {
    const message = record('t', Buffer.from('{}'));
    expect(rawRecordId(location, message, { ce_id: 'x' })).toBe('x');
    expect(rawRecordId(location, message, {})).toBe('kafka:aio.events.data/1/7');
  });
});
