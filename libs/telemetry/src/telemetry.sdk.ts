import { hostname } from 'node:os';
import { context, diag, DiagLogLevel, logs, metrics, propagation, trace, type DiagLogFunction, type MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  loggingErrorHandler,
  setGlobalErrorHandler,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { RateLimitingSampler } from './rate.limiter.js';
import { registerRuntimeMetrics } from './runtime.metrics.js';
import { BatchSpanProcessor, ParentBasedSampler, TracerProvider, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { dataStreamPart } from './ecs.mapper.js';
import { ExportCounters, queueDropCountingMeterProvider, registerExportMetrics, type ExportStats, type Signal } from './export.counters.js';
import { nestLogger, type NestLoggerLike } from './nest.logger.js';
import { OutageMonitor } from './outage.monitor.js';
import { createSearchClient, type SearchBulkClient } from './search.client.js';
import { BulkShipper, SearchLogRecordExporter, SearchSpanExporter, TelemetryExportError } from './search.exporter.js';
import { TemplateInstaller } from './search.templates.js';
import { getLogger, LogOutput, setLogOutput, type Logger } from './telemetry.logger.js';
import { resolveTelemetryOptions, type TelemetryOptions } from './telemetry.options.js';

export interface Telemetry {
  readonly serviceName: string;
  /** The service's own logger (component = service name). */
  readonly logger: Logger;
  getLogger(component: string): Logger;
  /** Pass to Nest: `NestFactory.create(AppModule, { logger: telemetry.nestLogger })`. */
  readonly nestLogger: NestLoggerLike;
  /** Prometheus text exposition of every metric in the process; serve it on GET /metrics. */
  metricsText(): Promise<string>;
  /** The Content-Type to serve metricsText() with. */
  readonly metricsContentType: string;
  /** What the search exporters shipped and lost so far. */
  exportStats(): ExportStats;
  /** Flushes spans and logs (bounded), stops the providers; safe to call more than once. */
  shutdown(): Promise<void>;
}

/** Seams for tests: a scripted search engine, a captured stdout, short retry budgets. */
export interface TelemetryOverrides {
  readonly searchClient?: SearchBulkClient;
  readonly write?: (line: string) => void;
  readonly retryBudgetMs?: number;
}

const MAX_EXPORT_BATCH = 512;
// Above the shipper's 15 s retry budget, so the SDK never gives up on a batch the shipper still holds.
const EXPORT_TIMEOUT_MS = 30_000;
const MAX_DISTINCT_SDK_ERRORS = 32;

let running = false;

/**
 * Starts tracing, logging and metrics for this process and registers them globally. Call it first in
 * main.ts, before Nest or any instrumented library is imported. Never waits for the search engine.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async so callers keep `await` if a start step ever needs I/O
export async function startTelemetry(options: TelemetryOptions, overrides: TelemetryOverrides = {}): Promise<Telemetry> {
  if (running) throw new Error('telemetry is already started in this process; call shutdown() first');
  const resolved = resolveTelemetryOptions(options);
  const output = new LogOutput({
    serviceName: resolved.serviceName,
    level: resolved.logLevel,
    stdout: resolved.logToStdout,
    ...(overrides.write ? { write: overrides.write } : {}),
  });
  setLogOutput(output);

  const resource = resourceFromAttributes({
    'service.name': resolved.serviceName,
    'service.version': resolved.serviceVersion,
    // The current semantic-conventions key and the older one that many backends still read.
    ...(resolved.environment ? { 'deployment.environment.name': resolved.environment, 'deployment.environment': resolved.environment } : {}),
    'host.name': hostname(),
    'process.pid': process.pid,
  });

  const counters = new ExportCounters();
  // Pull-only reader: metricsText() collects on demand, so no HTTP server of the exporter's own.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const serializer = new PrometheusSerializer();
  const meterProvider = new MeterProvider({ resource, readers: [prometheus] });
  registerExportMetrics(meterProvider.getMeter('@aio/telemetry'), counters);
  const stopRuntimeMetrics = registerRuntimeMetrics(meterProvider.getMeter('@aio/telemetry'));

  const spanProcessors: SpanProcessor[] = [];
  const logProcessors: LogRecordProcessor[] = [];
  let monitor: OutageMonitor | undefined;
  const queueDrops = (signal: Signal): ApiMeterProvider =>
    queueDropCountingMeterProvider(meterProvider, (count) => {
      counters.dropped(signal, 'queue_full', count);
      monitor?.droppedWhileDown(count);
    });
  const batching = {
    maxQueueSize: resolved.maxQueueSize,
    maxExportBatchSize: Math.min(MAX_EXPORT_BATCH, resolved.maxQueueSize),
    scheduledDelayMillis: resolved.flushIntervalMs,
    exportTimeoutMillis: EXPORT_TIMEOUT_MS,
  };
  const addSpanExporter = (exporter: SpanExporter): void => {
    spanProcessors.push(new BatchSpanProcessor({ exporter, ...batching, selfObsMeterProvider: queueDrops('traces') }));
  };
  const addLogExporter = (exporter: LogRecordExporter): void => {
    logProcessors.push(new BatchLogRecordProcessor({ exporter, ...batching, selfObsMeterProvider: queueDrops('logs') }));
  };

  let searchClient: SearchBulkClient | undefined;
  let shipper: BulkShipper | undefined;
  if (resolved.search) {
    const url = resolved.search.url;
    searchClient = overrides.searchClient ?? createSearchClient(resolved.search);
    monitor = new OutageMonitor(url, (level, message, attributes) => output.notice(level, message, attributes));
    const templates = new TemplateInstaller(searchClient, (name, error) =>
      output.notice('warn', `search engine ${url} refused index template ${name} (${error.message}); documents are sent without it`, {
        'search.url': url,
      }),
    );
    shipper = new BulkShipper({
      client: searchClient,
      templates,
      monitor,
      counters,
      bufferHint: `up to ${resolved.maxQueueSize} spans and ${resolved.maxQueueSize} log records wait in memory`,
      ...(overrides.retryBudgetMs !== undefined ? { retryBudgetMs: overrides.retryBudgetMs } : {}),
    });
    const namespace = dataStreamPart(resolved.serviceName);
    addSpanExporter(new SearchSpanExporter(shipper, { type: 'traces', dataset: 'aio', namespace }, counters));
    addLogExporter(new SearchLogRecordExporter(shipper, { type: 'logs', dataset: 'aio', namespace }, counters));
    // Early, in the background: the first export awaits the same promise, so nothing races it.
    templates.ensure().catch(() => undefined);
  }
  if (resolved.otlpEndpoint) {
    addSpanExporter(new OTLPTraceExporter({ url: `${resolved.otlpEndpoint}/v1/traces` }));
    addLogExporter(new OTLPLogExporter({ url: `${resolved.otlpEndpoint}/v1/logs` }));
  }

  // Every request of a busy service traced would cost more than the request: new traces are rate
  // limited, traces a caller sampled are continued (so a traced flow is whole across services).
  const sampler = new ParentBasedSampler({ root: new RateLimitingSampler(resolved.tracesPerSecond) });
  const tracerProvider = new TracerProvider({ resource, spanProcessors, sampler });
  const loggerProvider = new LoggerProvider({ resource, processors: logProcessors });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(tracerProvider);
  logs.setGlobalLoggerProvider(loggerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  installSdkErrorReporting(output);
  running = true;

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    // Lost batches get one attempt each from here on, so the flush below ends within its bound.
    shipper?.stopRetrying();
    await withTimeout(Promise.allSettled([tracerProvider.shutdown(), loggerProvider.shutdown()]), resolved.shutdownTimeoutMs);
    stopRuntimeMetrics();
    await withTimeout(meterProvider.shutdown().catch(() => undefined), 1_000);
    if (searchClient) await withTimeout(searchClient.close().catch(() => undefined), 1_000);
    trace.disable();
    logs.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
    diag.disable();
    setGlobalErrorHandler(loggingErrorHandler());
    running = false;
    const stats = counters.snapshot();
    const dropped = stats.traces.dropped + stats.logs.dropped;
    if (dropped > 0) {
      output.notice('warn', `telemetry shut down; ${stats.traces.dropped} spans and ${stats.logs.dropped} log records were dropped in this run`, {
        'traces.dropped': stats.traces.dropped,
        'logs.dropped': stats.logs.dropped,
      });
    }
  };

  return {
    serviceName: resolved.serviceName,
    logger: getLogger(resolved.serviceName),
    getLogger,
    nestLogger: nestLogger(getLogger, resolved.serviceName),
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    async metricsText() {
      try {
        const { resourceMetrics } = await prometheus.collect();
        return serializer.serialize(resourceMetrics);
      } catch (error) {
        return `# metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`;
      }
    },
    exportStats: () => counters.snapshot(),
    shutdown() {
      shutdownPromise ??= shutdown();
      return shutdownPromise;
    },
  };
}

/**
 * The SDK reports failed exports and internal errors through a global handler and `diag`. Failed
 * exports are already counted and announced once per outage, so only the rest is printed, each
 * distinct message once.
 */
function installSdkErrorReporting(output: LogOutput): void {
  const seen = new Set<string>();
  const report = (message: string): void => {
    if (seen.has(message) || seen.size >= MAX_DISTINCT_SDK_ERRORS) return;
    seen.add(message);
    output.notice('warn', `OpenTelemetry SDK: ${message}`, {});
  };
  setGlobalErrorHandler((error) => {
    if (error instanceof TelemetryExportError) return;
    report(error instanceof Error ? error.message : (JSON.stringify(error) ?? 'unknown error'));
  });
  const ignore: DiagLogFunction = () => undefined;
  const error: DiagLogFunction = (message, ...args) =>
    report([message, ...args.map((arg) => (arg instanceof Error ? arg.message : JSON.stringify(arg) ?? 'undefined'))].join(' '));
  diag.setLogger({ error, warn: ignore, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.ERROR);
}

async function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work.then(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
