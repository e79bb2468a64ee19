import { createServer } from 'node:http';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { FakeSearch } from '../test/search.fake.js';
import { loopDelaySeconds } from './runtime.metrics.js';
import { startTelemetry, type Telemetry, type TelemetryOverrides } from './telemetry.sdk.js';
import type { TelemetryOptions } from './telemetry.options.js';

const base: TelemetryOptions = {
  serviceName: 'unit-svc',
  serviceVersion: '0.0.1',
  environment: 'test',
  export: 'search',
  search: { url: 'http://search.invalid:9200' },
  logLevel: 'debug',
  flushIntervalMs: 10,
};

async function withTelemetry(
  options: Partial<TelemetryOptions>,
  overrides: TelemetryOverrides,
  run: (telemetry: Telemetry) => Promise<void>,
): Promise<void> {
  const telemetry = await startTelemetry({ ...base, ...options }, overrides);
  try {
    await run(telemetry);
  } finally {
    await telemetry.shutdown();
  }
}

describe('startTelemetry', () => {
  it('renders metrics in Prometheus text, including counters the service creates', async () => {
    await withTelemetry({ export: 'none' }, { write: () => undefined }, async (telemetry) => {
      metrics.getMeter('unit').createCounter('aio_unit_requests', { description: 'requests seen' }).add(3, { route: '/x' });
      const text = await telemetry.metricsText();
      expect(text).toMatch(/^aio_unit_requests_total\{route="\/x",otel_scope_name="unit"\} 3$/m);
      expect(text).toMatch(/^aio_telemetry_dropped_total\{signal="logs",reason="queue_full",[^}]*\} 0$/m);
      expect(text).toContain('service_name="unit-svc"');
      expect(telemetry.metricsContentType).toContain('text/plain');
    });
  });

  it('exports resident memory, heap and event-loop delay quantiles', async () => {
    await withTelemetry({ export: 'none' }, { write: () => undefined }, async (telemetry) => {
      // Let the event-loop monitor take a few samples.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      const text = await telemetry.metricsText();
      expect(text).toMatch(/^process_resident_memory_bytes\{[^}]*\} [1-9]\d*$/m);
      expect(text).toMatch(/^nodejs_heap_used_bytes\{[^}]*\} [1-9]\d*$/m);
      expect(text).toMatch(/^nodejs_eventloop_delay_seconds\{quantile="0\.99",[^}]*\} [\d.e-]+$/m);
    });
  });

  it('reports event-loop delay beyond the monitor resolution (an on-time tick is no delay)', () => {
    expect(loopDelaySeconds(10_020_000)).toBeCloseTo(0.00002, 8);
    expect(loopDelaySeconds(9_990_000)).toBe(0);
    expect(loopDelaySeconds(90_000_000)).toBeCloseTo(0.08, 8);
  });

  it('ships spans and span-correlated log records, and prints the log line to stdout', async () => {
    const search = new FakeSearch();
    const lines: string[] = [];
    let traceId = '';
    let rootId = '';
    await withTelemetry({}, { searchClient: search, write: (line) => lines.push(line) }, async (telemetry) => {
      const tracer = trace.getTracer('unit');
      await tracer.startActiveSpan('handle', async (root) => {
        traceId = root.spanContext().traceId;
        rootId = root.spanContext().spanId;
        await tracer.startActiveSpan('step', async (child) => {
          await Promise.resolve();
          telemetry.getLogger('unit.component').info('inside step', { 'model.name': 'churn' });
          child.end();
        });
        root.end();
      });
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), trace.wrapSpanContext({ traceId, spanId: rootId, traceFlags: 1 })), carrier);
      expect(carrier.traceparent).toBe(`00-${traceId}-${rootId}-01`);
    });

    const spans = search.documents.filter((doc) => (doc.data_stream as { type: string }).type === 'traces');
    const logs = search.documents.filter((doc) => (doc.data_stream as { type: string }).type === 'logs');
    expect(spans).toHaveLength(2);
    expect(spans.every((doc) => (doc.trace as { id: string }).id === traceId)).toBe(true);
    expect(spans.find((doc) => (doc.span as { name: string }).name === 'step')).toMatchObject({ parent: { id: rootId } });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      trace: { id: traceId },
      message: 'inside step',
      log: { level: 'info', logger: 'unit.component' },
      labels: { model_name: 'churn' },
    });
    expect(search.indices).toContain('traces-aio-unit-svc');
    expect(search.indices).toContain('logs-aio-unit-svc');

    const stdout = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(stdout.find((line) => line.message === 'inside step')).toMatchObject({ 'trace.id': traceId, 'log.level': 'info', 'model.name': 'churn' });
  });

  it('keeps its queue bounded while the engine is down, counts every lost record and warns once', async () => {
    const search = new FakeSearch();
    search.mode = 'down';
    const lines: string[] = [];
    let stats: ReturnType<Telemetry['exportStats']> | undefined;
    let metricsDuringOutage = '';
    const spans = 200;
    const started = Date.now();
    await withTelemetry({ maxQueueSize: 10, logLevel: 'warn', tracesPerSecond: 0 }, { searchClient: search, write: (line) => lines.push(line), retryBudgetMs: 60_000 }, async (telemetry) => {
      const tracer = trace.getTracer('unit');
      tracer.startSpan('first').end();
      // Start-up installs the templates (2 requests, failing); the first export tries them again (2 more)
      // and from then on its batch is held by the retrying shipper: beyond the queue, spans are dropped.
      await search.untilRequests(4);
      for (let i = 0; i < spans - 1; i++) tracer.startSpan(`span ${i}`).end();
      expect(telemetry.exportStats().traces.droppedBy.queue_full).toBe(spans - 1 - 10);
      metricsDuringOutage = await telemetry.metricsText();
      const shutdown = telemetry.shutdown();
      await shutdown;
      stats = telemetry.exportStats();
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stats?.traces.dropped).toBe(spans);
    expect(stats?.traces.exported).toBe(0);
    expect(metricsDuringOutage).toMatch(new RegExp(`^aio_telemetry_dropped_total\\{signal="traces",reason="queue_full",[^}]*\\} ${spans - 1 - 10}$`, 'm'));
    const warnings = lines.filter((line) => line.includes('is not accepting telemetry'));
    expect(warnings).toHaveLength(1);
  });

  it('bounds shutdown when the engine hangs instead of answering', async () => {
    const search = new FakeSearch();
    search.mode = 'hang';
    const started = Date.now();
    await withTelemetry({ shutdownTimeoutMs: 300 }, { searchClient: search, write: () => undefined }, async (telemetry) => {
      trace.getTracer('unit').startSpan('stuck').end();
      telemetry.logger.info('stuck too');
      await search.untilRequests(3);
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('sends spans and log records to an OTLP/HTTP endpoint when asked to', async () => {
    const received: { path: string; body: string }[] = [];
    const collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const address = collector.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      await withTelemetry({ export: 'otlp', search: undefined, otlpEndpoint: `http://127.0.0.1:${address.port}/` }, { write: () => undefined }, async (telemetry) => {
        trace.getTracer('unit').startActiveSpan('otlp-span', (span) => {
          telemetry.logger.info('otlp-log');
          span.end();
        });
        return Promise.resolve();
      });
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
    expect(received.find((request) => request.path === '/v1/traces')?.body).toContain('otlp-span');
    expect(received.find((request) => request.path === '/v1/logs')?.body).toContain('otlp-log');
  });

  it('is idempotent on shutdown, refuses a second start, and can start again afterwards', async () => {
    const telemetry = await startTelemetry({ ...base, export: 'none' }, { write: () => undefined });
    await expect(startTelemetry({ ...base, export: 'none' })).rejects.toThrow(/already started/);
    await Promise.all([telemetry.shutdown(), telemetry.shutdown()]);
    await telemetry.shutdown();
    const again = await startTelemetry({ ...base, export: 'none' }, { write: () => undefined });
    await again.shutdown();
  });

  it('rejects bad options, naming each problem', async () => {
    await expect(startTelemetry({ ...base, export: 'both', search: undefined, maxQueueSize: 0 })).rejects.toThrow(
      /search\.url.*otlpEndpoint.*maxQueueSize/,
    );
  });
});
