// Trace context crosses the wire: the client's CLIENT span and the server's SERVER span share one
// trace, the server span is the client span's child, and both carry the gRPC semantic attributes.
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fullRegistryImpl, Harness, newProbe } from '../test/grpc.fixture.js';
import { Status } from './grpc.error.js';

const exporter = new InMemorySpanExporter();
const harness = new Harness();

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
});
afterEach(async () => {
  await harness.close();
  exporter.reset();
});
afterAll(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

describe('tracing', () => {
  it('propagates the trace from client to server', async () => {
    const server = harness.server({ auth: 'disabled', onInternalError: () => undefined });
    server.add(RegistryService, fullRegistryImpl(newProbe()));
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(RegistryService, port);

    await client.getModel({ name: 'iris' });
    await client.getModel({ name: 'boom' }).catch(() => undefined);

    const spans = exporter.getFinishedSpans();
    const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT);
    const serverSpans = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(clientSpans).toHaveLength(2);
    expect(serverSpans).toHaveLength(2);
    for (const [i, serverSpan] of serverSpans.entries()) {
      const clientSpan = clientSpans[i];
      expect(serverSpan.spanContext().traceId).toBe(clientSpan?.spanContext().traceId);
      expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
      expect(serverSpan.name).toBe('aio.registry.v1.RegistryService/GetModel');
      expect(serverSpan.attributes).toMatchObject({
        'rpc.system': 'grpc',
        'rpc.service': 'aio.registry.v1.RegistryService',
        'rpc.method': 'GetModel',
      });
    }
    expect(serverSpans[0]?.attributes['rpc.grpc.status_code']).toBe(Status.OK);
    const failed = serverSpans[1];
    expect(failed?.attributes['rpc.grpc.status_code']).toBe(Status.INTERNAL);
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.events.some((e) => e.name === 'exception')).toBe(true);
    expect(clientSpans[1]?.attributes['rpc.grpc.status_code']).toBe(Status.INTERNAL);
  });

  it('continues the trace that is active where the client is called', async () => {
    const server = harness.server({ auth: 'disabled' });
    server.add(RegistryService, fullRegistryImpl(newProbe()));
    const port = await server.start('127.0.0.1', 0);
    const client = harness.client(RegistryService, port);

    const parent = trace.getTracer('test').startSpan('job');
    await context.with(trace.setSpan(context.active(), parent), () => client.getModel({ name: 'x' }));
    parent.end();

    const serverSpan = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
    expect(serverSpan?.spanContext().traceId).toBe(parent.spanContext().traceId);
  });
});
