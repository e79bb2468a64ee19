import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { newOutboxEntry, outboxPush, withOutbox, withOutboxOnCreate, type OutboxEntry } from './outbox.entry.js';

const input = { topic: 'aio.events.registry', key: 'fraud', type: 'aio.registry.v1.ModelCreated', payload: new Uint8Array([1, 2, 3]) };

describe('newOutboxEntry', () => {
  it('fills a uuid, createdAt and stores the payload as a Buffer (mongoose rejects bare Uint8Array)', () => {
    const entry = newOutboxEntry(input);
    expect(entry.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(entry.createdAt).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(entry.payload)).toBe(true);
    expect([...entry.payload]).toEqual([1, 2, 3]);
    expect(entry.traceparent).toBeUndefined();
  });

  it('captures the trace context of the write', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    expect(newOutboxEntry(input, ctx).traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('keeps a given id and trace context', () => {
    const entry = newOutboxEntry({ ...input, id: 'e-1', traceparent: 'tp', tracestate: 'ts' });
    expect(entry).toMatchObject({ id: 'e-1', traceparent: 'tp', tracestate: 'ts' });
  });
});

describe('withOutbox', () => {
  const a = newOutboxEntry({ ...input, id: 'a' });
  const b: OutboxEntry = { ...newOutboxEntry({ ...input, id: 'b' }), payload: new Uint8Array([9]) };

  it('appends entries in order next to the state change', () => {
    const update = withOutbox({ $set: { status: 'ready' }, $inc: { version: 1 } }, a, b);
    expect(update['$set']).toEqual({ status: 'ready' });
    expect(update['$inc']).toEqual({ version: 1 });
    const pushed = (update['$push'] as { outbox: { $each: OutboxEntry[] } }).outbox.$each;
    expect(pushed.map((e) => e.id)).toEqual(['a', 'b']);
    expect(pushed.every((e) => Buffer.isBuffer(e.payload))).toBe(true);
  });

  it('moves plain fields under $set and keeps other pushes', () => {
    const update = withOutbox({ status: 'ready', $set: { note: 'x' }, $push: { history: 'h' } }, a);
    expect(update['$set']).toEqual({ note: 'x', status: 'ready' });
    expect(update['$push']).toMatchObject({ history: 'h', outbox: { $each: [a] } });
    expect(update).not.toHaveProperty('status');
  });

  it('refuses updates that already touch the outbox', () => {
    expect(() => withOutbox(outboxPush(a), b)).toThrow(/already pushes/);
    expect(() => withOutbox({ $unset: { outbox: 1 } }, a)).toThrow(/\$unset touches the outbox/);
    expect(() => withOutbox({ $set: { 'outbox.0.id': 'x' } }, a)).toThrow(/\$set touches the outbox/);
    expect(() => withOutbox({}, ...[])).toThrow(/at least one entry/);
  });

  it('adds entries to a document being created', () => {
    const doc = withOutboxOnCreate({ name: 'fraud' }, a);
    expect(doc).toEqual({ name: 'fraud', outbox: [a] });
    expect(() => withOutboxOnCreate(doc, b)).toThrow(/already has an outbox/);
  });
});
