import { describe, expect, it } from 'vitest';
import { decodeCloudEventHeaders, encodeCloudEventHeaders, EventDecodeError, normalizeHeaders } from './cloudevent.headers.js';

const time = new Date('2026-01-02T03:04:05.678Z');

describe('CloudEvents binary-mode headers', () => {
  it('encodes the required attributes, RFC 3339 time and the protobuf content type', () => {
    expect(encodeCloudEventHeaders({ id: 'e1', type: 'google.protobuf.Struct', source: 'aio/test', time })).toEqual({
      ce_id: 'e1',
      ce_type: 'google.protobuf.Struct',
      ce_source: 'aio/test',
      ce_time: '2026-01-02T03:04:05.678Z',
      ce_specversion: '1.0',
      'content-type': 'application/protobuf',
    });
  });

  it('round-trips through Kafka Buffers', () => {
    const encoded = encodeCloudEventHeaders({ id: 'e1', type: 't', source: 's', time });
    const asKafka = Object.fromEntries(Object.entries(encoded).map(([k, v]) => [k, Buffer.from(v)]));
    expect(decodeCloudEventHeaders(normalizeHeaders(asKafka))).toEqual({ id: 'e1', type: 't', source: 's', time });
  });

  it('flattens repeated headers to their first value and drops undefined ones', () => {
    expect(normalizeHeaders({ a: [Buffer.from('1'), Buffer.from('2')], b: 'x', c: undefined })).toEqual({ a: '1', b: 'x' });
    expect(normalizeHeaders(undefined)).toEqual({});
  });

  it.each([
    [{ ce_type: 't' }, /missing ce_id/],
    [{ ce_id: 'x' }, /missing ce_type/],
    [{ ce_id: 'x', ce_type: 't', ce_specversion: '0.3' }, /unsupported ce_specversion/],
    [{ ce_id: 'x', ce_type: 't', 'content-type': 'application/json' }, /unsupported content-type/],
  ])('rejects %j as poison', (headers, message) => {
    expect(() => decodeCloudEventHeaders(headers)).toThrow(EventDecodeError);
    expect(() => decodeCloudEventHeaders(headers)).toThrow(message);
  });

  it('accepts a missing source and an unparsable optional time', () => {
    expect(decodeCloudEventHeaders({ ce_id: 'x', ce_type: 't', ce_time: 'yesterday', 'content-type': 'application/x-protobuf' })).toEqual({
      id: 'x',
      type: 't',
      source: '',
      time: undefined,
    });
  });

  it('refuses to encode an empty id or an invalid date', () => {
    expect(() => encodeCloudEventHeaders({ id: '', type: 't', source: 's', time })).toThrow(/id/);
    expect(() => encodeCloudEventHeaders({ id: 'x', type: 't', source: 's', time: new Date(Number.NaN) })).toThrow(/time/);
  });
});
