import { randomUUID } from 'node:crypto';
import { context, propagation, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { Schema } from 'mongoose';

/** The document field that holds pending events. */
export const OUTBOX_FIELD = 'outbox';

/** One event waiting in a document until the relay has published it. */
export interface OutboxEntry {
  /** Event id (UUID): the CloudEvents id, and what consumers dedup on. */
  id: string;
  /** Full topic name, prefix included (e.g. `aio.events.registry`). */
  topic: string;
  /** Partition key: the entity whose events must stay in order. */
  key: string;
  /** CloudEvents type, e.g. `aio.registry.v1.ModelVersionCreated`. */
  type: string;
  /** The protobuf message, already encoded (`toBinary`). */
  payload: Uint8Array;
  /** W3C trace context of the write, so the event joins the request's trace. */
  traceparent?: string;
  tracestate?: string;
  createdAt: Date;
}

export type NewOutboxEntry = Omit<OutboxEntry, 'id' | 'createdAt'> & Partial<Pick<OutboxEntry, 'id' | 'createdAt'>>;

/** Sub-schema of one entry. `_id: false`: the event id is the identity. */
export const outboxEntrySchema = new Schema(
  {
    id: { type: String, required: true },
    topic: { type: String, required: true },
    key: { type: String, required: true },
    type: { type: String, required: true },
    payload: { type: Buffer, required: true },
    traceparent: { type: String },
    tracestate: { type: String },
    createdAt: { type: Date, required: true },
  },
  { _id: false },
);

/**
 * Add to any schema as `{ ..., outbox: outboxField }`. No default: documents without pending events
 * carry no field at all, and the relay finds the others with `{ 'outbox.0': { $exists: true } }`.
 */
export const outboxField = { type: [outboxEntrySchema], default: undefined };

/**
 * Fills id, createdAt and the trace context (of `ctx`, the active context by default). Call it where
 * the state change is decided, inside the request's span.
 */
export function newOutboxEntry(input: NewOutboxEntry, ctx: Context = context.active()): OutboxEntry {
  const entry: OutboxEntry = {
    id: input.id ?? randomUUID(),
    topic: input.topic,
    key: input.key,
    type: input.type,
    payload: asBuffer(input.payload),
    createdAt: input.createdAt ?? new Date(),
  };
  const traceContext = input.traceparent === undefined ? traceContextOf(ctx) : input;
  if (traceContext.traceparent !== undefined) entry.traceparent = traceContext.traceparent;
  if (traceContext.tracestate !== undefined) entry.tracestate = traceContext.tracestate;
  return entry;
}

function traceContextOf(ctx: Context): { traceparent?: string; tracestate?: string } {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (carrier['traceparent'] !== undefined) return { traceparent: carrier['traceparent'], tracestate: carrier['tracestate'] };
  // No global propagator registered (tests, or a service without the SDK): format W3C by hand.
  const span = trace.getSpanContext(ctx);
  if (span === undefined || !trace.isSpanContextValid(span)) return {};
  const flags = (span.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return { traceparent: `00-${span.traceId}-${span.spanId}-${flags}`, tracestate: span.traceState?.serialize() || undefined };
}

/** The `$push` that appends entries in order; combine it with the state change in one update. */
export function outboxPush(...entries: OutboxEntry[]): { $push: { outbox: { $each: OutboxEntry[] } } } {
  if (entries.length === 0) throw new Error('outboxPush needs at least one entry');
  return { $push: { outbox: { $each: entries.map(stored) } } };
}

export type UpdateDocument = Record<string, unknown>;

/**
 * Returns `update` with the entries appended to the outbox, for `updateOne` / `findOneAndUpdate`.
 * Plain fields (`{ status: 'ready' }`) are moved under `$set`, as mongoose would do. One document
 * write, so the state change and its event are stored together or not at all.
 */
export function withOutbox(update: UpdateDocument, ...entries: OutboxEntry[]): UpdateDocument {
  const { $push: push } = outboxPush(...entries);
  const out: UpdateDocument = {};
  const plain: UpdateDocument = {};
  for (const [key, value] of Object.entries(update)) {
    if (key.startsWith('$')) out[key] = value;
    else plain[key] = value;
  }
  if (Object.keys(plain).length > 0) out['$set'] = { ...asObject(out['$set'], '$set'), ...plain };
  const existingPush = asObject(out['$push'], '$push');
  if (OUTBOX_FIELD in existingPush) throw new Error('withOutbox: the update already pushes to the outbox; pass all entries to one call');
  for (const op of ['$set', '$unset', '$pull', '$pop', '$addToSet', '$pullAll']) {
    const fields = asObject(out[op], op);
    if (Object.keys(fields).some((f) => f === OUTBOX_FIELD || f.startsWith(`${OUTBOX_FIELD}.`))) {
      throw new Error(`withOutbox: the update's ${op} touches the outbox, which only the relay may change`);
    }
  }
  out['$push'] = { ...existingPush, ...push };
  return out;
}

/** For a document being created: `Model.create(withOutboxOnCreate({ name, ... }, entry))`. */
export function withOutboxOnCreate<T extends object>(doc: T, ...entries: OutboxEntry[]): T & { outbox: OutboxEntry[] } {
  if (entries.length === 0) throw new Error('withOutboxOnCreate needs at least one entry');
  if (OUTBOX_FIELD in doc) throw new Error('withOutboxOnCreate: the document already has an outbox field');
  return { ...doc, outbox: entries.map(stored) };
}

// Mongoose's Buffer cast rejects a plain Uint8Array, which is what protobuf-es `toBinary` returns.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function stored(entry: OutboxEntry): OutboxEntry {
  return Buffer.isBuffer(entry.payload) ? entry : { ...entry, payload: asBuffer(entry.payload) };
}

function asObject(value: unknown, op: string): UpdateDocument {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`withOutbox: ${op} must be an object`);
  return value as UpdateDocument;
}
