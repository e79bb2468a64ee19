import { randomUUID } from 'node:crypto';
import { isAllowed, mintToken, TokenVerifier } from '@aio/auth';
import { GrpcError, Status } from '@aio/grpc';
import { Controller, Get, Module, Req } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastRoute } from './fast-route.js';
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

// The same three routes served outside Nest's pipeline: they must behave exactly alike.
const fastRoutes: FastRoute[] = [
  { method: 'GET', url: '/v1/fast/open', handle: () => ProbeController.prototype.open() },
  { method: 'GET', url: '/v1/fast/busy', handle: () => ProbeController.prototype.busy() },
  {
    method: 'POST',
    url: '/v1/fast/models/:name',
    permission: 'models:read',
    handle: ({ params, body }) => ({ name: params['name'], body }),
  },
  { method: 'POST', url: '/v1/fast/echo/:name', handle: ({ params, body }) => ({ name: params['name'], body }) },
  {
    method: 'GET',
    url: '/v1/fast/boom',
    handle: () => {
      throw new Error('secret internals');
    },
  },
];

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
    bodyLimit: 64 * 1024,
    fastRoutes: () => fastRoutes,
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

describe.each([
  { kind: 'Nest routes', prefix: '/v1' },
  { kind: 'fast routes', prefix: '/v1/fast' },
])('REST requests ($kind)', ({ prefix }) => {
  it('run inside a SERVER span that continues the caller traceparent', async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const res = await fetch(`${base}${prefix}/open`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(await res.json()).toEqual({ traceId });
    const span = exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId);
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.name).toBe(`GET ${prefix}/open`);
    expect(span?.attributes['http.response.status_code']).toBe(200);
  });

  it('need a valid bearer token with the route permission', async () => {
    const call = (headers: Record<string, string> = {}) =>
      prefix === '/v1' ? fetch(`${base}/v1/models`, { headers }) : fetch(`${base}/v1/fast/models/m1`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"x":1}' });
    const missing = await call();
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toMatch(/missing token/);
    const forged = await call({ authorization: 'Bearer abc.def.ghi' });
    expect(forged.status).toBe(401);
    const producer = await call({ authorization: `Bearer ${await token(['producer'])}` });
    expect(producer.status).toBe(403);
    expect(((await producer.json()) as { error: string }).error).toMatch(/lacks permission "models:read" for (GET|POST) \/v1\//);
    const viewer = await call({ authorization: `Bearer ${await token(['viewer'])}` });
    expect(viewer.status).toBe(200);
    expect(await viewer.json()).toEqual(prefix === '/v1' ? { subject: 'sam' } : { name: 'm1', body: { x: 1 } });
  });

  it('answer load shedding with 429, a JSON body and Retry-After from the gRPC retry hint', async () => {
    exporter.reset();
    const res = await fetch(`${base}${prefix}/busy`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ error: 'the queue is full; retry after 1500 ms' });
    const span = exporter.getFinishedSpans().find((s) => s.name === `GET ${prefix}/busy`);
    expect(span?.attributes['http.response.status_code']).toBe(429);
  });
});

describe('REST probes', () => {
  it('are not traced', async () => {
    exporter.reset();
    await fetch(`${base}/healthz`);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('fast routes', () => {
  it('answer a body that is not JSON with 400 and a JSON error', async () => {
    const res = await fetch(`${base}/v1/fast/models/m1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(['viewer'])}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Body is not valid JSON but content-type is set to 'application/json'" });
  });

  const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}${path}`, { method: 'POST', headers, body });
  const error = async (res: Response) => ((await res.json()) as { error: string }).error;

  it('take only JSON bodies within the body limit, as Fastify would (415, 413, 400)', async () => {
    const text = await post('/v1/fast/echo/m', 'x=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(text.status).toBe(415);
    expect(await error(text)).toBe('content-type must be application/json, got application/x-www-form-urlencoded');
    const big = await post('/v1/fast/echo/m', JSON.stringify({ data: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(await error(big)).toBe('request body is larger than the limit of 65536 bytes');
    const empty = await post('/v1/fast/echo/m', '');
    expect(empty.status).toBe(400);
    expect(await error(empty)).toBe("Body cannot be empty when content-type is set to 'application/json'");
    const poisoned = await post('/v1/fast/echo/m', '{"a":[{"__proto__":{"admin":true}}]}');
    expect(poisoned.status).toBe(400);
    expect(await error(poisoned)).toBe('Object contains forbidden prototype property');
    const ctor = await post('/v1/fast/echo/m', '{"constructor":{"prototype":{"admin":true}}}');
    expect(ctor.status).toBe(400);
    // A key spelled with JSON escapes is the same key once parsed.
    const escaped = await post('/v1/fast/echo/m', '{"\\u005f_proto__":{"admin":true}}');
    expect(escaped.status).toBe(400);
    // The words alone are fine.
    const words = await post('/v1/fast/echo/m', '{"text":"__proto__ and prototype"}');
    expect(await words.json()).toEqual({ name: 'm', body: { text: '__proto__ and prototype' } });
  });

  it('decode path parameters, ignore the query string and leave other paths and methods to Fastify', async () => {
    const res = await post('/v1/fast/echo/my%20model?verbose=1', '{"x":[1,2]}', { 'content-type': 'application/json; charset=utf-8' });
    expect(await res.json()).toEqual({ name: 'my model', body: { x: [1, 2] } });
    const bad = await post('/v1/fast/echo/%E0%A4%A', '{}');
    expect(bad.status).toBe(400);
    expect(await error(bad)).toMatch(/not valid percent-encoding/);
    expect((await fetch(`${base}/v1/fast/echo/m`)).status).toBe(404);
    expect((await post('/v1/fast/echo/m/more', '{}')).status).toBe(404);
    expect((await post('/v1/fast/echo/', '{}')).status).toBe(404);
  });

  it('answer an internal failure with 500 without leaking it, and mark the span failed', async () => {
    exporter.reset();
    const res = await fetch(`${base}/v1/fast/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    const span = exporter.getFinishedSpans().find((s) => s.name === 'GET /v1/fast/boom');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });
});
