import { ROOT_CONTEXT, SeverityNumber, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { dataStreamName, dataStreamPart, levelName, logRecordToEcs, spanToEcs, splitAttributes, type DataStreamTarget } from './ecs.mapper.js';

const resource = resourceFromAttributes({
  'service.name': 'registry',
  'service.version': '1.2.3',
  'deployment.environment.name': 'test',
  'host.name': 'box',
  'process.pid': 4242,
});
const traces: DataStreamTarget = { type: 'traces', dataset: 'aio', namespace: 'registry' };
const logTarget: DataStreamTarget = { type: 'logs', dataset: 'aio', namespace: 'registry' };

function recordSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { exporter, tracer: provider.getTracer('test') };
}

describe('spanToEcs', () => {
  it('maps a root span and its child with ECS ids, kind, duration and outcome', () => {
    const { exporter, tracer } = recordSpans();
    const root = tracer.startSpan('GET /models', { kind: SpanKind.SERVER, startTime: [1_700_000_000, 5] });
    const child = tracer.startSpan('mongo find', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'mongodb', 'db.rows': 3 } }, trace.setSpan(ROOT_CONTEXT, root));
    child.setStatus({ code: SpanStatusCode.OK });
    child.end();
    root.end([1_700_000_000, 250_000_005]);
    const [childSpan, rootSpan] = exporter.getFinishedSpans();
    if (!childSpan || !rootSpan) throw new Error('spans not recorded');

    const rootDoc = spanToEcs(rootSpan, traces);
    expect(rootDoc).toMatchObject({
      '@timestamp': '2023-11-14T22:13:20.000000005Z',
      trace: { id: root.spanContext().traceId },
      span: { id: root.spanContext().spanId, name: 'GET /models', kind: 'server' },
      transaction: { id: root.spanContext().spanId },
      event: { duration: 250_000_000, outcome: 'unknown' },
      service: { name: 'registry', version: '1.2.3', environment: 'test' },
      host: { name: 'box' },
      process: { pid: 4242 },
      data_stream: { type: 'traces', dataset: 'aio', namespace: 'registry' },
    });
    expect(rootDoc).not.toHaveProperty('parent');

    const childDoc = spanToEcs(childSpan, traces);
    expect(childDoc).toMatchObject({
      trace: { id: root.spanContext().traceId },
      parent: { id: root.spanContext().spanId },
      span: { kind: 'client', name: 'mongo find' },
      event: { outcome: 'success' },
      labels: { db_system: 'mongodb' },
      numeric_labels: { db_rows: 3 },
    });
    expect(childDoc).not.toHaveProperty('transaction');
  });

  it('prefers the recorded exception over the status message for ECS error fields', () => {
    const { exporter, tracer } = recordSpans();
    const span = tracer.startSpan('train');
    const failure = new TypeError('bad tensor shape');
    span.recordException(failure);
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'training failed' });
    span.end();
    const [finished] = exporter.getFinishedSpans();
    if (!finished) throw new Error('span not recorded');
    const doc = spanToEcs(finished, traces);
    expect(doc).toMatchObject({
      event: { outcome: 'failure' },
      error: { message: 'bad tensor shape', type: 'TypeError' },
    });
    expect((doc.error as { stack_trace: string }).stack_trace).toContain('bad tensor shape');
    expect((doc.span as { events: unknown[] }).events).toHaveLength(1);
  });

  it('uses the status message as error.message when no exception was recorded', () => {
    const { exporter, tracer } = recordSpans();
    const span = tracer.startSpan('promote');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'gate failed' });
    span.end();
    const [finished] = exporter.getFinishedSpans();
    if (!finished) throw new Error('span not recorded');
    expect(spanToEcs(finished, traces)).toMatchObject({ event: { outcome: 'failure' }, error: { message: 'gate failed' } });
  });
});

describe('logRecordToEcs', () => {
  it('maps level, message, logger, trace correlation and exception', () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
    const { tracer } = recordSpans();
    const span = tracer.startSpan('work');
    provider.getLogger('models.service').emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'warn',
      body: 'model version rejected',
      attributes: { 'model.name': 'churn', attempt: 2 },
      exception: new RangeError('accuracy below gate'),
      context: trace.setSpan(ROOT_CONTEXT, span),
    });
    const [record] = exporter.getFinishedLogRecords();
    if (!record) throw new Error('log record not recorded');
    const doc = logRecordToEcs(record, logTarget);
    expect(doc).toMatchObject({
      log: { level: 'warn', logger: 'models.service' },
      message: 'model version rejected',
      trace: { id: span.spanContext().traceId },
      span: { id: span.spanContext().spanId },
      service: { name: 'registry' },
      error: { message: 'accuracy below gate', type: 'RangeError' },
      labels: { model_name: 'churn' },
      numeric_labels: { attempt: 2 },
      data_stream: { type: 'logs', dataset: 'aio', namespace: 'registry' },
    });
    expect(doc.labels).not.toHaveProperty('exception_message');
    expect(typeof doc['@timestamp']).toBe('string');
  });

  it('derives the level from the severity number when there is no text', () => {
    expect(levelName(SeverityNumber.DEBUG2, undefined)).toBe('debug');
    expect(levelName(SeverityNumber.ERROR, undefined)).toBe('error');
    expect(levelName(undefined, undefined)).toBe('info');
    expect(levelName(SeverityNumber.INFO, 'NOTICE')).toBe('notice');
  });
});

describe('splitAttributes', () => {
  it('de-dots keys so a value and an object never share a path', () => {
    const { labels } = splitAttributes({ 'http.request': 'x', 'http.request.method': 'GET' });
    expect(labels).toEqual({ http_request: 'x', http_request_method: 'GET' });
  });

  it('keeps numbers apart from strings and stringifies the rest', () => {
    const { labels, numericLabels } = splitAttributes({
      count: 3,
      ratio: 0.5,
      ok: true,
      tags: ['a', 'b'],
      sizes: [1, 2],
      nested: { depth: { leaf: 'v' } },
      bytes: new Uint8Array([1, 2, 3]),
      big: 10n,
      nan: Number.NaN,
      gone: undefined,
    });
    expect(numericLabels).toEqual({ count: 3, ratio: 0.5, sizes: [1, 2] });
    expect(labels).toEqual({ ok: 'true', tags: ['a', 'b'], nested_depth_leaf: 'v', bytes: 'AQID', big: '10' });
  });

  it('bounds the number of labels and the length of values', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys(splitAttributes(many).labels)).toHaveLength(128);
    const long = splitAttributes({ text: 'x'.repeat(10_000) }).labels.text as string;
    expect(long.length).toBe(4096);
  });
});

describe('data stream names', () => {
  it('builds <type>-<dataset>-<namespace> from a cleaned service name', () => {
    expect(dataStreamPart('Inference Gateway')).toBe('inference-gateway');
    expect(dataStreamPart('_weird/Name*')).toBe('weird-name-');
    expect(dataStreamName({ type: 'logs', dataset: 'aio', namespace: dataStreamPart('monitor') })).toBe('logs-aio-monitor');
  });
});
