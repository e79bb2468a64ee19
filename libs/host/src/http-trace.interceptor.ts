import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { httpErrorOf } from './http-error.filter.js';

// Probes and scrapes would bury real traffic in spans.
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A SERVER span per REST request, continuing the caller's W3C traceparent, and active while the
 * handler runs, so spans and log records of the work it causes (including outbox events) join it.
 */
@Injectable()
export class HttpTraceInterceptor implements NestInterceptor {
  private readonly tracer = trace.getTracer('@aio/host');

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const route = request.routeOptions.url ?? request.url;
    if (UNTRACED.has(route)) return next.handle();
    const parent = propagation.extract(context.active(), request.headers);
    const span = this.tracer.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] } },
      parent,
    );
    const active = trace.setSpan(parent, span);
    return new Observable((subscriber) =>
      context.with(active, () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (err: unknown) => {
            const { status } = httpErrorOf(err);
            span.setAttribute('http.response.status_code', status);
            if (status >= 500) {
              span.recordException(err instanceof Error ? err : String(err));
              span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
            }
            span.end();
            subscriber.error(err);
          },
          complete: () => {
            span.setAttribute('http.response.status_code', ctx.switchToHttp().getResponse<FastifyReply>().statusCode);
            span.end();
            subscriber.complete();
          },
        }),
      ),
    );
  }
}
