import { randomUUID } from 'node:crypto';
import { isAllowed, mintToken, TokenVerifier } from '@aio/auth';
import { GrpcError, Status } from '@aio/grpc';
import { Controller, Get, Module, Req } from '@nestjs/common';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Permission } from './rest-auth.guard.js';
import { runService, type RunningService } from './service.bootstrap.js';

const exporter = new InMemorySpanExporter();
const secret = randomUUID() + randomUUID();
const issuer = 'aio-local';
const audience = 'aio';

@Controller('v1')
class ProbeController {
  @Get('open')
  open(): { traceId: string | undefined } {
    return { traceId: trace.getActiveSpan()?.spanContext().traceId };
  }

  @Get('busy')
  busy(): never {
    const err = new GrpcError(Status.RESOURCE_EXHAUSTED, 'the queue is full; retry after 1500 ms');
    err.metadata.set('grpc-retry-pushback-ms', '1500');
    throw err;
  }

  @Get('models')
  @Permission('models:read')
  models(@Req() req: { principal?: { subject: string } }): { subject: string | undefined } {
    return { subject: req.principal?.subject };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let svc: RunningService;
let base: string;
const token = (roles: ('viewer' | 'producer')[]) => mintToken({ secret, subject: 'sam', roles, issuer, audience });

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  svc = await runService({
    name: 'http-test',
    module: ProbeModule,
    bindHost: '127.0.0.1',
    httpPort: 0,
    metrics: () => Promise.resolve(''),
    nestLogger: { log: () => undefined, error: () => undefined, warn: () => undefined },
    logger: quiet,
    handleSignals: false,
    auth: { verifier: TokenVerifier.fromOptions({ secret, issuer, audience }), authorize: isAllowed },
  });
  base = `http://127.0.0.1:${svc.httpPort}`;
});

afterAll(async () => {
  await svc.stop();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('REST requests', () => {
  it('run inside a SERVER span that continues the caller traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${base}/v1/open`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(await res.json()).toEqual({ traceId });
    const span = exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId);
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.name).toBe('GET /v1/open');
    expect(span?.attributes['http.response.status_code']).toBe(200);
  });

  it('are not traced for probes', async () => {
    exporter.reset();
    await fetch(`${base}/healthz`);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('need a valid bearer token with the route permission', async () => {
    const missing = await fetch(`${base}/v1/models`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toMatch(/missing token/);
    const forged = await fetch(`${base}/v1/models`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(forged.status).toBe(401);
    const producer = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${await token(['producer'])}` } });
    expect(producer.status).toBe(403);
    const viewer = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${await token(['viewer'])}` } });
    expect(viewer.status).toBe(200);
    expect(await viewer.json()).toEqual({ subject: 'sam' });
  });

  it('answer load shedding with 429, a JSON body and Retry-After from the gRPC retry hint', async () => {
    const res = await fetch(`${base}/v1/busy`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ error: 'the queue is full; retry after 1500 ms' });
  });
});
