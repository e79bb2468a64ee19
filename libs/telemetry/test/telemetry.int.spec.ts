import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { startTelemetry } from '../src/index.js';

const SEARCH_URL = (process.env.SEARCH_URL ?? 'http://127.0.0.1:9200').replace(/\/+$/, '');
const service = `int-${randomUUID().slice(0, 8)}`;
const tracesStream = `traces-aio-${service}`;
const logsStream = `logs-aio-${service}`;

interface Hit {
  _index: string;
  _source: Record<string, unknown> & {
    trace: { id: string };
    span: { id: string; name?: string };
    parent?: { id: string };
    message?: string;
  };
}

async function search(path: string, init?: { method?: string; body?: unknown }): Promise<Record<string, unknown>> {
  const response = await fetch(`${SEARCH_URL}${path}`, {
    method: init?.method ?? 'GET',
    headers: { 'content-type': 'application/json' },
    ...(init?.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function hits(stream: string, query: Record<string, unknown>): Promise<Hit[]> {
  const body = await search(`/${stream}/_search`, { method: 'POST', body: { query, size: 100 } });
  return (body.hits as { hits: Hit[] }).hits;
}

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return address.port;
}

afterAll(async () => {
  for (const stream of [tracesStream, logsStream]) {
    await fetch(`${SEARCH_URL}/_data_stream/${stream}`, { method: 'DELETE' });
  }
});

describe('telemetry against a real search engine', () => {
  it('stores spans and correlated log records in data streams with the index templates in place', async () => {
    const lines: string[] = [];
    const telemetry = await startTelemetry(
      {
        serviceName: service,
        serviceVersion: '1.0.0',
        environment: 'test',
        export: 'search',
        search: { url: SEARCH_URL },
        logLevel: 'info',
        flushIntervalMs: 100,
      },
      { write: (line) => lines.push(line) },
    );
    const tracer = trace.getTracer('int');
    const ids = await tracer.startActiveSpan('request', async (root) => {
      const childId = await tracer.startActiveSpan('work', async (child) => {
        await Promise.resolve();
        telemetry.logger.info('inside work', { 'dataset.name': 'iris', rows: 150 });
        child.end();
        return child.spanContext().spanId;
      });
      root.end();
      return { traceId: root.spanContext().traceId, rootId: root.spanContext().spanId, childId };
    });
    await telemetry.shutdown();
    expect(telemetry.exportStats()).toMatchObject({ traces: { exported: 2, dropped: 0 }, logs: { exported: 1, dropped: 0 } });

    await search(`/${tracesStream},${logsStream}/_refresh`, { method: 'POST' });
    const streams = await search(`/_data_stream/${tracesStream},${logsStream}`);
    expect((streams.data_streams as { name: string }[]).map((stream) => stream.name).sort()).toEqual([logsStream, tracesStream]);
    const template = await search('/_index_template/aio-traces');
    expect(template).toMatchObject({ index_templates: [{ name: 'aio-traces', index_template: { priority: 200 } }] });

    const spans = await hits(tracesStream, { term: { 'trace.id': ids.traceId } });
    expect(spans).toHaveLength(2);
    const work = spans.find((hit) => hit._source.span.name === 'work');
    const request = spans.find((hit) => hit._source.span.name === 'request');
    expect(request?._source).toMatchObject({ span: { id: ids.rootId, kind: 'internal' }, transaction: { id: ids.rootId } });
    expect(request?._source.parent).toBeUndefined();
    expect(work?._source).toMatchObject({
      span: { id: ids.childId },
      parent: { id: ids.rootId },
      service: { name: service, version: '1.0.0', environment: 'test' },
      data_stream: { type: 'traces', dataset: 'aio', namespace: service },
    });
    expect(work?._index.startsWith('.ds-')).toBe(true);

    const logs = await hits(logsStream, { term: { 'trace.id': ids.traceId } });
    expect(logs).toHaveLength(1);
    expect(logs[0]?._source).toMatchObject({
      message: 'inside work',
      span: { id: ids.childId },
      log: { level: 'info', logger: service },
      labels: { dataset_name: 'iris' },
      numeric_labels: { rows: 150 },
    });

    const mapping = await search(`/${logsStream}/_mapping/field/trace.id,labels.dataset_name,numeric_labels.rows,@timestamp`);
    const fields = Object.values(mapping)[0] as { mappings: Record<string, { mapping: Record<string, { type: string }> }> };
    expect(fields.mappings['trace.id']?.mapping.id?.type).toBe('keyword');
    expect(fields.mappings['labels.dataset_name']?.mapping.dataset_name?.type).toBe('keyword');
    expect(fields.mappings['numeric_labels.rows']?.mapping.rows?.type).toBe('double');
    expect(fields.mappings['@timestamp']?.mapping['@timestamp']?.type).toBe('date_nanos');
    expect(lines.some((line) => line.includes('inside work'))).toBe(true);
  });

  it('starts, logs and shuts down without throwing when nothing listens, counting the drops', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    const started = Date.now();
    const telemetry = await startTelemetry(
      {
        serviceName: `${service}-down`,
        serviceVersion: '1.0.0',
        export: 'search',
        search: { url: `http://127.0.0.1:${port}` },
        logLevel: 'info',
        flushIntervalMs: 50,
      },
      { write: (line) => lines.push(line) },
    );
    const tracer = trace.getTracer('int');
    for (let i = 0; i < 20; i++) {
      tracer.startActiveSpan(`op ${i}`, (span) => {
        telemetry.logger.info(`message ${i}`);
        span.end();
      });
    }
    await telemetry.shutdown();
    const stats = telemetry.exportStats();
    expect(stats.traces.dropped).toBe(20);
    expect(stats.logs.dropped).toBe(20);
    expect(stats.traces.exported + stats.logs.exported).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(lines.filter((line) => line.includes('is not accepting telemetry'))).toHaveLength(1);
  });
});
