import type { ServerAuth } from '@aio/grpc';
import { context } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpErrorOf, sendHttpError } from './http-error.filter.js';
import { endHttpSpan, startHttpSpan } from './http-trace.interceptor.js';
import { authorizeRest } from './rest-auth.guard.js';

/**
 * A REST route Fastify serves directly, outside Nest's request pipeline (guards, interceptors, pipes and
 * the rxjs around them), for the few hot paths where that pipeline costs more than the work itself
 * (the gateway's infer). It gets what every Nest route gets, from the same functions: bearer auth with
 * the route's permission, a SERVER span continuing the caller's traceparent, `{ error }` bodies.
 */
export interface FastRoute {
  method: 'GET' | 'POST';
  /** Fastify path syntax, e.g. `/v2/models/:name/infer`. */
  url: string;
  /** The permission the caller's token needs; undefined: public. */
  permission?: string;
  /** The JSON answer (200); a throw is answered as any route's error. */
  handle(request: { params: Record<string, string>; body: unknown }): unknown;
}

export function addFastRoutes(fastify: FastifyInstance, routes: readonly FastRoute[], auth: ServerAuth | undefined): void {
  for (const route of routes) {
    const handle = (request: FastifyRequest): unknown => route.handle({ params: request.params as Record<string, string>, body: request.body });
    // No promise for the check when the token is remembered (authorizeRest answers synchronously).
    const run = (request: FastifyRequest): unknown => {
      const checked = auth !== undefined && route.permission !== undefined ? authorizeRest(auth, request, route.permission) : undefined;
      return checked instanceof Promise ? checked.then(() => handle(request)) : handle(request);
    };
    fastify.route({
      method: route.method,
      url: route.url,
      handler: async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
        const traced = startHttpSpan(request);
        try {
          const answer = traced === undefined ? await run(request) : await context.with(traced.active, () => run(request));
          if (traced !== undefined) endHttpSpan(traced.span, 200);
          return reply.status(200).send(answer);
        } catch (err) {
          if (traced !== undefined) endHttpSpan(traced.span, httpErrorOf(err).status, err);
          return sendHttpError(reply, err);
        }
      },
    });
  }
}
