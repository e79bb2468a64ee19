import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { FakeSearch } from '../test/search.fake.js';
import type { EcsDocument } from './ecs.mapper.js';
import { ExportCounters } from './export.counters.js';
import { OutageMonitor } from './outage.monitor.js';
import { SearchRequestError } from './search.client.js';
import { BulkShipper, SearchSpanExporter, TelemetryExportError } from './search.exporter.js';
import { TemplateInstaller } from './search.templates.js';

function setup(retryBudgetMs = 1_000) {
  const search = new FakeSearch();
  const notices: { level: string; message: string }[] = [];
  const monitor = new OutageMonitor('http://search', (level, message) => notices.push({ level, message }));
  const counters = new ExportCounters();
  const refused: string[] = [];
  const templates = new TemplateInstaller(search, (name) => refused.push(name));
  const shipper = new BulkShipper({ client: search, templates, monitor, counters, retryBudgetMs });
  return { search, notices, monitor, counters, shipper, refused };
}

const doc = (message: string): EcsDocument => ({ '@timestamp': '2025-01-01T00:00:00Z', message });

describe('BulkShipper', () => {
  it('installs the templates before the first bulk and sends create actions to the data stream', async () => {
    const { search, shipper, counters } = setup();
    await expect(shipper.ship('logs', 'logs-aio-test', [doc('a'), doc('b')])).resolves.toBe(true);
    expect(search.templates).toEqual(['aio-traces', 'aio-logs']);
    expect(search.indices).toEqual(['logs-aio-test', 'logs-aio-test']);
    expect(counters.snapshot().logs).toMatchObject({ exported: 2, dropped: 0 });
  });

  it('holds a batch through a short outage, warning once and reporting the recovery', async () => {
    const { search, shipper, notices, counters } = setup(5_000);
    search.mode = 'down';
    const shipped = shipper.ship('traces', 'traces-aio-test', [doc('a')]);
    // Two attempts (each installs two templates) fail, then the engine is back within the budget.
    await search.untilRequests(4);
    search.mode = 'up';
    await expect(shipped).resolves.toBe(true);
    expect(notices.map((notice) => notice.level)).toEqual(['warn', 'info']);
    expect(counters.snapshot().traces).toMatchObject({ exported: 1, dropped: 0 });
  });

  it('gives a batch up after the retry budget, counting it, with one warning for many batches', async () => {
    const { search, shipper, notices, counters } = setup(300);
    search.mode = 'down';
    const results = await Promise.all([
      shipper.ship('logs', 'logs-aio-test', [doc('a'), doc('b')]),
      shipper.ship('logs', 'logs-aio-test', [doc('c')]),
      shipper.ship('traces', 'traces-aio-test', [doc('d')]),
    ]);
    expect(results).toEqual([false, false, false]);
    expect(notices).toHaveLength(1);
    const stats = counters.snapshot();
    expect(stats.logs.droppedBy.export_failed).toBe(3);
    expect(stats.traces.droppedBy.export_failed).toBe(1);
  });

  it('stops retrying on shutdown and drops at once while the engine is known to be down', async () => {
    const { search, shipper, counters } = setup(60_000);
    search.mode = 'down';
    const held = shipper.ship('logs', 'logs-aio-test', [doc('a')]);
    await search.untilRequests(2);
    const started = Date.now();
    shipper.stopRetrying();
    await expect(held).resolves.toBe(false);
    const requestsBefore = search.requests;
    await expect(shipper.ship('logs', 'logs-aio-test', [doc('b')])).resolves.toBe(false);
    expect(search.requests).toBe(requestsBefore);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(counters.snapshot().logs.droppedBy.export_failed).toBe(2);
  });

  it('detects item-level rejections in a partly successful bulk and counts them', async () => {
    const { search, shipper, notices, counters, monitor } = setup();
    search.rejections.set('bad', { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse [labels.x]' });
    await expect(shipper.ship('logs', 'logs-aio-test', [doc('ok'), doc('bad'), doc('bad')])).resolves.toBe(false);
    await shipper.ship('logs', 'logs-aio-test', [doc('bad')]);
    expect(counters.snapshot().logs).toMatchObject({ exported: 1, dropped: 3, droppedBy: { rejected: 3 } });
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toContain('mapper_parsing_exception');
    expect(monitor.down).toBe(false);
  });

  it('does not retry a request the engine refuses for good, and ships without a refused template', async () => {
    const { search, shipper, counters, refused } = setup(10_000);
    search.templateFailure = new SearchRequestError('HTTP 403: security_exception', false);
    await expect(shipper.ship('logs', 'logs-aio-test', [doc('a')])).resolves.toBe(true);
    expect(refused).toEqual(['aio-traces', 'aio-logs']);
    expect(counters.snapshot().logs.exported).toBe(1);
  });
});

describe('SearchSpanExporter', () => {
  it('maps spans to ECS documents and reports the SDK a result without throwing', async () => {
    const { search, shipper, counters } = setup(200);
    const recorded = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'svc' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: recorded })],
    });
    provider.getTracer('t').startSpan('op').end();
    const spans: ReadableSpan[] = recorded.getFinishedSpans();
    const exporter = new SearchSpanExporter(shipper, { type: 'traces', dataset: 'aio', namespace: 'svc' }, counters);

    const ok = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
    expect(ok.code).toBe(ExportResultCode.SUCCESS);
    expect(search.indices).toEqual(['traces-aio-svc']);
    expect(search.documents[0]).toMatchObject({ span: { name: 'op' }, service: { name: 'svc' } });

    search.mode = 'down';
    const failed = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
    expect(failed.code).toBe(ExportResultCode.FAILED);
    expect(failed.error).toBeInstanceOf(TelemetryExportError);
    await exporter.shutdown();
  });
});
