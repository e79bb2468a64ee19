import type { IHeaders } from 'kafkajs';

/** CloudEvents Kafka protocol binding, binary content mode: attributes travel as `ce_` headers. */
export const ceHeader = {
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  specversion: 'ce_specversion',
  contentType: 'content-type',
} as const;

export const specVersion = '1.0';
export const protobufContentType = 'application/protobuf';
/** Seen from other protobuf producers; accepted on the way in, never written. */
const acceptedContentTypes = new Set([protobufContentType, 'application/x-protobuf', 'application/vnd.google.protobuf']);

/** Kafka headers flattened to one UTF-8 string per name. */
export type HeaderMap = Record<string, string>;

export interface CloudEventAttributes {
  id: string;
  type: string;
  source: string;
  time: Date;
}

export interface DecodedCloudEventAttributes {
  id: string;
  type: string;
  source: string;
  /** Absent or unparsable `ce_time` (optional in the spec) gives undefined rather than poison. */
  time: Date | undefined;
}

/** A record that can never be processed however often it is retried: it goes straight to the DLQ. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
}

export function encodeCloudEventHeaders(attrs: CloudEventAttributes): HeaderMap {
  if (attrs.id === '') throw new Error('CloudEvent id must not be empty');
  if (Number.isNaN(attrs.time.getTime())) throw new Error('CloudEvent time is an invalid Date');
  return {
    [ceHeader.id]: attrs.id,
    [ceHeader.type]: attrs.type,
    [ceHeader.source]: attrs.source,
    // toISOString is RFC 3339 (UTC, millisecond precision).
    [ceHeader.time]: attrs.time.toISOString(),
    [ceHeader.specversion]: specVersion,
    [ceHeader.contentType]: protobufContentType,
  };
}

/**
 * kafkajs hands headers over as Buffers (or arrays of them when a name repeats). For a repeated
 * name the first value wins: CloudEvents forbids repeats, so one is a producer bug, and a value
 * appended later (e.g. by a proxy) is the less trustworthy one.
 */
export function normalizeHeaders(headers: IHeaders | undefined): HeaderMap {
  const out: HeaderMap = {};
  if (headers === undefined) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first === undefined) continue;
    out[name] = typeof first === 'string' ? first : first.toString('utf8');
  }
  return out;
}

export function decodeCloudEventHeaders(headers: HeaderMap): DecodedCloudEventAttributes {
  const id = headers[ceHeader.id];
  const type = headers[ceHeader.type];
  if (id === undefined || id === '') throw new EventDecodeError(`missing ${ceHeader.id} header`);
  if (type === undefined || type === '') throw new EventDecodeError(`missing ${ceHeader.type} header`);
  const version = headers[ceHeader.specversion];
  if (version !== undefined && version !== specVersion) {
    throw new EventDecodeError(`unsupported ${ceHeader.specversion} "${version}" (expected ${specVersion})`);
  }
  const contentType = headers[ceHeader.contentType];
  if (contentType !== undefined && !acceptedContentTypes.has(contentType.split(';')[0]?.trim() ?? '')) {
    throw new EventDecodeError(`unsupported content-type "${contentType}" (expected ${protobufContentType})`);
  }
  const rawTime = headers[ceHeader.time];
  const parsed = rawTime === undefined ? Number.NaN : Date.parse(rawTime);
  return {
    id,
    type,
    source: headers[ceHeader.source] ?? '',
    time: Number.isNaN(parsed) ? undefined : new Date(parsed),
  };
}
