import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { httpErrorOf } from './http-error.filter.js';

// Probes and scrapes would bury real traffic in spans.
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

const tracer = trace.getTracer('@aio/host');

/**
 * The SERVER span of one REST request, continuing the caller's W3C traceparent, and the context to run
 * its handler in (so spans and log records of the work it causes join it); undefined for probes.
 */
export function startHttpSpan(method: string, route: string, url: string, headers: IncomingHttpHeaders): { span: Span; active: Context } | undefined {
  if (UNTRACED.has(route)) return undefined;
  const parent = propagation.extract(context.active(), headers);
  const span = tracer.startSpan(`${method} ${route}`, { kind: SpanKind.SERVER }, parent);
  // Set only on spans that are kept: attributes given at start are copied and checked for every span,
  // sampled or not (the sampler does not look at them).
  if (span.isRecording()) span.setAttributes({ 'http.request.method': method, 'http.route': route, 'url.path': url.split('?')[0] });
  return { span, active: trace.setSpan(parent, span) };
}

/** Ends a request's span with its status; a thrown error that maps to a 5xx marks it failed. */
export function endHttpSpan(span: Span, status: number, err?: unknown): void {
  span.setAttribute('http.response.status_code', status);
  if (err !== undefined && status >= 500) {
    const error = err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'non-Error thrown');
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

/** Every Nest REST route runs inside startHttpSpan's span (fast routes call the same functions). */
@Injectable()
export class HttpTraceInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const started = startHttpSpan(request.method, request.routeOptions.url ?? request.url, request.url, request.headers);
    if (started === undefined) return next.handle();
    const { span, active } = started;
    return new Observable((subscriber) =>
      context.with(active, () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (err: unknown) => {
            endHttpSpan(span, httpErrorOf(err).status, err);
            subscriber.error(err);
          },
          complete: () => {
            endHttpSpan(span, ctx.switchToHttp().getResponse<FastifyReply>().statusCode);
            subscriber.complete();
          },
        }),
      ),
    );
  }
}
