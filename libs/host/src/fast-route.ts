import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { authorizeBearer, type ServerAuth } from '@aio/grpc';
import { HttpException } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import secureJson from 'secure-json-parse';
import { httpErrorAnswer } from './http-error.filter.js';
import { endHttpSpan, startHttpSpan } from './http-trace.interceptor.js';

/**
 * A REST route served straight from node:http, ahead of Fastify and Nest (their routing, request and
 * reply objects, hooks, guards, interceptors, pipes and rxjs), for the few hot paths where that costs
 * more than the work itself (the gateway's infer). It gets what every Nest route gets, from the same
 * functions: bearer auth with the route's permission (authorizeBearer), a SERVER span continuing the
 * caller's traceparent (startHttpSpan), `{ error }` bodies (httpErrorAnswer), and the same body rules
 * as Fastify: JSON only (415), within the body limit (413), valid JSON (400), no prototype poisoning (400).
 */
export interface FastRoute {
  method: 'GET' | 'POST';
  /** Path with `:param` segments, e.g. `/v2/models/:name/infer`. */
  url: string;
  /** The permission the caller's token needs; undefined: public. */
  permission?: string;
  /** The JSON answer (200); a throw is answered as any route's error. */
  handle(request: { params: Record<string, string>; body: unknown }): unknown;
}

export interface CompiledRoute {
  route: FastRoute;
  /** Literal segments, or the name of a parameter (at `params`' positions). */
  segments: string[];
  isParam: boolean[];
  /** "METHOD /url": the span name and what a refusal names, built once. */
  target: string;
}

/** What a fast route reads of a request: from node:http (`serve`) or from the HTTP/1.1 front (http1.front.ts). */
export interface FastRequest {
  method: string;
  /** The request target, query included. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** Writes one answer: status, headers, the JSON text; `close`: the connection ends after it. */
export type FastReply = (status: number, headers: Record<string, string | number>, text: string, close: boolean) => void;

/** A request matched to its route (params, or the Error its path makes). */
export interface FastMatch {
  compiled: CompiledRoute;
  params: Record<string, string> | Error;
}

/** Answers the fast routes' requests; everything else is left to Fastify. */
export class FastRouter {
  private readonly routes: CompiledRoute[];

  constructor(
    routes: readonly FastRoute[],
    private readonly auth: ServerAuth | undefined,
    readonly bodyLimit: number,
  ) {
    this.routes = routes.map((route) => {
      const segments = route.url.split('/');
      return { route, segments: segments.map((s) => (s.startsWith(':') ? s.slice(1) : s)), isParam: segments.map((s) => s.startsWith(':')), target: `${route.method} ${route.url}` };
    });
  }

  /** The fast route for a method and request target, if any. */
  match(method: string, url: string): FastMatch | undefined {
    if (this.routes.length === 0) return undefined;
    const q = url.indexOf('?');
    const parts = (q < 0 ? url : url.slice(0, q)).split('/');
    for (const compiled of this.routes) {
      if (compiled.route.method !== method) continue;
      const params = match(compiled, parts);
      if (params !== undefined) return { compiled, params };
    }
    return undefined;
  }

  /** Serves a node:http request if a fast route matches it (true), else leaves it alone (false). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const found = this.match(req.method ?? '', req.url ?? '/');
    if (found === undefined) return false;
    const request: FastRequest = { method: req.method ?? '', url: req.url ?? '/', headers: req.headers };
    const reply: FastReply = (status, headers, text, close) => {
      if (close) headers['connection'] = 'close';
      res.writeHead(status, headers).end(text);
      // A body not read in full: node discards the rest, the connection ends after the answer.
      if (close) req.resume();
    };
    if (found.compiled.route.method === 'GET') {
      this.handle(found, request, undefined, reply);
      return true;
    }
    const refused = this.bodyProblem(request);
    if (refused !== undefined) {
      this.handle(found, request, refused, reply);
      return true;
    }
    readBody(req, this.bodyLimit, (err, text) => this.handle(found, request, err ?? text, reply));
    return true;
  }

  /**
   * Runs a matched request: the body text of a POST (or why it was refused: answered as is, and the
   * connection closes since the body was not read), auth, the span, the route and its JSON answer.
   */
  handle(found: FastMatch, req: FastRequest, body: string | Error | undefined, reply: FastReply): void {
    const { compiled, params } = found;
    const { route } = compiled;
    const traced = startHttpSpan(route.method, route.url, req.url, req.headers);
    const unread = body instanceof Error;
    const fail = (err: unknown): void => {
      const { status, retryAfter, body: answer } = httpErrorAnswer(err);
      if (traced !== undefined) endHttpSpan(traced.span, status, err);
      const text = JSON.stringify(answer);
      const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
      reply(status, headers, text, unread);
    };
    const answer = (value: unknown): void => {
      const text = JSON.stringify(value);
      if (traced !== undefined) endHttpSpan(traced.span, 200);
      reply(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }, text, false);
    };
    const run = (parsed: unknown): void => {
      if (params instanceof Error) throw params;
      const auth = this.auth;
      // No promise for the check when the token is remembered (authorizeBearer answers synchronously).
      const authorization = req.headers.authorization;
      const checked = auth !== undefined && route.permission !== undefined ? authorizeBearer(auth, authorization, route.permission, compiled.target) : undefined;
      const result = checked instanceof Promise ? checked.then(() => route.handle({ params, body: parsed })) : route.handle({ params, body: parsed });
      if (result instanceof Promise) result.then(answer).catch(fail);
      else answer(result);
    };
    if (body instanceof Error) {
      fail(body);
      return;
    }
    const parsed = body === undefined ? undefined : parseJson(body);
    if (parsed instanceof Error) {
      fail(parsed);
      return;
    }
    try {
      if (traced === undefined) run(parsed);
      else context.with(traced.active, run, undefined, parsed);
    } catch (err) {
      fail(err);
    }
  }

  /** What is wrong with a request body before reading it: not JSON, or declared larger than the limit. */
  bodyProblem(req: FastRequest): HttpException | undefined {
    const type = req.headers['content-type'];
    if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
      return problem(415, `content-type must be application/json, got ${type ?? 'none'}`);
    }
    const length = Number(req.headers['content-length']);
    if (length > this.bodyLimit) return tooLarge(this.bodyLimit);
    return undefined;
  }
}

/** The route's parameters if the path matches it; an Error for a parameter that is not valid percent-encoding. */
function match(compiled: CompiledRoute, parts: readonly string[]): Record<string, string> | Error | undefined {
  const { segments, isParam } = compiled;
  if (parts.length !== segments.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (!isParam[i]) {
      if (part !== segments[i]) return undefined;
      continue;
    }
    if (part === '') return undefined;
    params ??= {};
    try {
      params[segments[i] as string] = part.includes('%') ? decodeURIComponent(part) : part;
    } catch {
      return problem(400, `path segment "${part}" is not valid percent-encoding`);
    }
  }
  return params ?? {};
}

/** An error the router answers itself (a Nest HttpException, so httpErrorOf maps it as any route's). */
export function problem(status: 400 | 413 | 415 | 431, message: string): HttpException {
  return new HttpException(message, status);
}

export function tooLarge(limit: number): HttpException {
  return problem(413, `request body is larger than the limit of ${limit} bytes`);
}

/** Collects a request body as text, refusing one larger than the limit (413) as soon as it is. */
function readBody(req: IncomingMessage, limit: number, done: (err: Error | undefined, text: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > limit) {
      failed = true;
      done(tooLarge(limit), '');
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!failed) done(undefined, chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  });
  req.on('error', (err) => {
    if (failed) return;
    failed = true;
    done(err, '');
  });
}

/** What secure-json-parse throws for a poisoning key (any other throw is JSON.parse's). */
const FORBIDDEN = 'Object contains forbidden prototype property';

/**
 * The body as Fastify's default JSON parser takes it: secure-json-parse (the parser Fastify uses), refusing
 * an empty body, invalid JSON, and `__proto__` / `constructor.prototype` keys (JSON escapes included) that
 * would poison a prototype once merged somewhere.
 */
function parseJson(text: string): unknown {
  if (text.length === 0) return problem(400, "Body cannot be empty when content-type is set to 'application/json'");
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    return problem(400, err instanceof SyntaxError && err.message === FORBIDDEN ? FORBIDDEN : "Body is not valid JSON but content-type is set to 'application/json'");
  }
}
