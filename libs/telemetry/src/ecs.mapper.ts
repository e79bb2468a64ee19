import { SeverityNumber, SpanKind, SpanStatusCode, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTimeToNanoseconds, hrTimeToTimeStamp } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** One search-engine document in ECS field names (nested objects, never dotted keys). */
export type EcsDocument = Record<string, unknown> & { '@timestamp': string };

/** Where the documents of one signal go: `<type>-<dataset>-<namespace>`, e.g. `traces-aio-registry`. */
export interface DataStreamTarget {
  readonly type: 'traces' | 'logs';
  readonly dataset: string;
  readonly namespace: string;
}

// Labels are the one open-ended part of a document; caps keep a runaway attribute from blowing the
// mapping (field-count limit) or a bulk request.
const MAX_LABELS = 128;
const MAX_LABEL_CHARS = 4096;
const MAX_MESSAGE_CHARS = 32_768;
const MAX_FLATTEN_DEPTH = 4;
const MAX_EVENTS = 32;

/** Attribute keys that become ECS fields instead of labels. */
const EXCEPTION_KEYS = new Set(['exception.message', 'exception.type', 'exception.stacktrace']);

/** A valid data-stream name part: lower case, no characters the engines reject in index names. */
export function dataStreamPart(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-_.+]+/, '');
  return cleaned === '' ? 'unknown' : cleaned.slice(0, 100);
}

export function dataStreamName(target: DataStreamTarget): string {
  return `${target.type}-${target.dataset}-${target.namespace}`;
}

export function spanToEcs(span: ReadableSpan, target: DataStreamTarget): EcsDocument {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  // A span without a local parent is the entry point of this service's work: ECS calls it a transaction.
  const isTransaction = parent === undefined || parent.isRemote === true;
  const { labels, numericLabels, error } = splitAttributes(span.attributes);
  const exception = span.events.find((event) => event.name === 'exception');
  const exceptionError = exception?.attributes ? exceptionFields(exception.attributes) : undefined;
  const failed = span.status.code === SpanStatusCode.ERROR;
  const errorFields = mergeError(exceptionError ?? error, failed ? span.status.message : undefined);

  const doc: EcsDocument = {
    '@timestamp': timestamp(span.startTime),
    trace: { id: context.traceId },
    span: {
      id: context.spanId,
      name: span.name,
      kind: spanKindName(span.kind),
      ...(span.events.length > 0 ? { events: span.events.slice(0, MAX_EVENTS).map(eventToEcs) } : {}),
      ...(span.links.length > 0
        ? { links: span.links.map((link) => ({ trace_id: link.context.traceId, span_id: link.context.spanId })) }
        : {}),
    },
    ...(parent ? { parent: { id: parent.spanId } } : {}),
    ...(isTransaction ? { transaction: { id: context.spanId } } : {}),
    event: {
      duration: hrTimeToNanoseconds(span.duration),
      outcome: outcome(span.status.code),
    },
    ...resourceFields(span.resource.attributes),
    ...(errorFields ? { error: errorFields } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(Object.keys(numericLabels).length > 0 ? { numeric_labels: numericLabels } : {}),
    data_stream: { ...target },
  };
  return doc;
}

export function logRecordToEcs(record: ReadableLogRecord, target: DataStreamTarget): EcsDocument {
  const { labels, numericLabels, error } = splitAttributes(record.attributes);
  const context = record.spanContext;
  const doc: EcsDocument = {
    '@timestamp': timestamp(record.hrTime),
    log: {
      level: levelName(record.severityNumber, record.severityText),
      ...(record.instrumentationScope.name ? { logger: record.instrumentationScope.name } : {}),
    },
    message: bodyText(record.body),
    ...(record.eventName ? { event: { action: record.eventName } } : {}),
    ...(context ? { trace: { id: context.traceId }, span: { id: context.spanId } } : {}),
    ...resourceFields(record.resource.attributes),
    ...(error ? { error } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(Object.keys(numericLabels).length > 0 ? { numeric_labels: numericLabels } : {}),
    data_stream: { ...target },
  };
  return doc;
}

export interface SplitAttributes {
  labels: Record<string, string | string[]>;
  numericLabels: Record<string, number | number[]>;
  error: EcsError | undefined;
}

export interface EcsError {
  message?: string;
  type?: string;
  stack_trace?: string;
}

/**
 * Attributes -> ECS `labels` (keyword) and `numeric_labels` (double). Keys lose their dots
 * (`http.route` -> `http_route`) so `a.b` and `a.b.c` never fight over whether `b` is a value or an
 * object, and strings and numbers live in separate objects so a key that is a number in one document
 * and a string in the next cannot conflict either.
 */
export function splitAttributes(attributes: Attributes): SplitAttributes {
  const labels: Record<string, string | string[]> = {};
  const numericLabels: Record<string, number | number[]> = {};
  let count = 0;
  const put = (key: string, value: unknown, depth: number): void => {
    if (count >= MAX_LABELS || value === undefined || value === null) return;
    const name = key.replace(/\./g, '_');
    if (typeof value === 'number') {
      if (Number.isFinite(value)) {
        numericLabels[name] = value;
        count++;
      }
      return;
    }
    if (Array.isArray(value)) {
      const items = value.filter((item) => item !== undefined && item !== null);
      if (items.length > 0 && items.every((item) => typeof item === 'number' && Number.isFinite(item))) {
        numericLabels[name] = items as number[];
      } else {
        labels[name] = items.slice(0, MAX_LABELS).map((item) => scalarText(item));
      }
      count++;
      return;
    }
    if (isPlainObject(value) && depth < MAX_FLATTEN_DEPTH) {
      for (const [child, childValue] of Object.entries(value)) put(`${name}_${child}`, childValue, depth + 1);
      return;
    }
    labels[name] = scalarText(value);
    count++;
  };
  for (const [key, value] of Object.entries(attributes)) {
    if (EXCEPTION_KEYS.has(key)) continue;
    put(key, value, 0);
  }
  return { labels, numericLabels, error: exceptionFields(attributes) };
}

function exceptionFields(attributes: Attributes): EcsError | undefined {
  const message = attributes['exception.message'];
  const type = attributes['exception.type'];
  const stack = attributes['exception.stacktrace'];
  if (message === undefined && type === undefined && stack === undefined) return undefined;
  return {
    ...(message !== undefined ? { message: truncate(scalarText(message), MAX_MESSAGE_CHARS) } : {}),
    ...(type !== undefined ? { type: truncate(scalarText(type), MAX_LABEL_CHARS) } : {}),
    ...(stack !== undefined ? { stack_trace: truncate(scalarText(stack), MAX_MESSAGE_CHARS) } : {}),
  };
}

// The exception's own message wins: the stack trace beside it belongs to that message.
function mergeError(error: EcsError | undefined, statusMessage: string | undefined): EcsError | undefined {
  if (!statusMessage) return error;
  return { message: statusMessage, ...error };
}

function eventToEcs(event: ReadableSpan['events'][number]): Record<string, unknown> {
  const { labels, numericLabels } = splitAttributes(event.attributes ?? {});
  return { name: event.name, '@timestamp': timestamp(event.time), ...labels, ...numericLabels };
}

function resourceFields(attributes: Attributes): Record<string, unknown> {
  const text = (key: string): string | undefined => {
    const value = attributes[key];
    return value === undefined || value === null ? undefined : scalarText(value);
  };
  const environment = text('deployment.environment.name') ?? text('deployment.environment');
  const version = text('service.version');
  const hostName = text('host.name');
  const pid = attributes['process.pid'];
  const instance = text('service.instance.id');
  return {
    service: {
      name: text('service.name') ?? 'unknown_service',
      ...(version ? { version } : {}),
      ...(environment ? { environment } : {}),
      ...(instance ? { node: { name: instance } } : {}),
    },
    ...(hostName ? { host: { name: hostName } } : {}),
    ...(typeof pid === 'number' ? { process: { pid } } : {}),
  };
}

export function spanKindName(kind: SpanKind): string {
  switch (kind) {
    case SpanKind.INTERNAL:
      return 'internal';
    case SpanKind.SERVER:
      return 'server';
    case SpanKind.CLIENT:
      return 'client';
    case SpanKind.PRODUCER:
      return 'producer';
    case SpanKind.CONSUMER:
      return 'consumer';
    default:
      return 'internal';
  }
}

function outcome(code: SpanStatusCode): 'success' | 'failure' | 'unknown' {
  switch (code) {
    case SpanStatusCode.OK:
      return 'success';
    case SpanStatusCode.ERROR:
      return 'failure';
    case SpanStatusCode.UNSET:
      return 'unknown';
    default:
      return 'unknown';
  }
}

/** ECS `log.level` from the OTel severity: the text when a producer set one, else the number's band. */
export function levelName(severity: SeverityNumber | undefined, text: string | undefined): string {
  if (text) return text.toLowerCase();
  if (severity === undefined || severity === SeverityNumber.UNSPECIFIED) return 'info';
  if (severity < SeverityNumber.DEBUG) return 'trace';
  if (severity < SeverityNumber.INFO) return 'debug';
  if (severity < SeverityNumber.WARN) return 'info';
  if (severity < SeverityNumber.ERROR) return 'warn';
  if (severity < SeverityNumber.FATAL) return 'error';
  return 'fatal';
}

// date_nanos keeps the order of spans that start within the same millisecond.
function timestamp(time: HrTime): string {
  return hrTimeToTimeStamp(time);
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  return truncate(typeof body === 'string' ? body : scalarText(body), MAX_MESSAGE_CHARS);
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return truncate(value, MAX_LABEL_CHARS);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64').slice(0, MAX_LABEL_CHARS);
  try {
    return truncate(JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? String(inner) : inner)) ?? '', MAX_LABEL_CHARS);
  } catch {
    // Circular structures cannot be serialised; their type is all a reader can use anyway.
    return Object.prototype.toString.call(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
