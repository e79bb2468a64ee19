import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

// gRPC status code -> HTTP status, so REST mirrors the gRPC API's errors (CONVENTIONS.md).
const HTTP_OF_GRPC: Record<number, number> = {
  3: 400, // INVALID_ARGUMENT
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED
  9: 409, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE
  12: 501, // UNIMPLEMENTED
  14: 503, // UNAVAILABLE
  4: 504, // DEADLINE_EXCEEDED
  16: 401, // UNAUTHENTICATED
};

/** Anything carrying a numeric gRPC `code` (libs/grpc's GrpcError, grpc-js ServiceError). */
function grpcCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err).code;
  return typeof code === 'number' && code >= 0 && code <= 16 ? code : undefined;
}

/** The HTTP status and the `{ error }` text of anything a handler threw; internals never leak in a 5xx. */
export function httpErrorOf(err: unknown): { status: number; message: string } {
  if (err instanceof HttpException) {
    const body = err.getResponse();
    return { status: err.getStatus(), message: typeof body === 'string' ? body : (errorText(body) ?? err.message) };
  }
  const code = grpcCodeOf(err);
  const status = code === undefined ? 500 : (HTTP_OF_GRPC[code] ?? 500);
  return { status, message: status < 500 && err instanceof Error ? err.message : 'internal error' };
}

/**
 * Seconds a client should wait before retrying, from the gRPC retry hint (grpc-retry-pushback-ms in
 * the error's metadata, as load shedding sets it); undefined when the error carries none.
 */
export function retryAfterSeconds(err: unknown): number | undefined {
  const metadata = typeof err === 'object' && err !== null && 'metadata' in err ? (err as { metadata?: { get?: (k: string) => unknown[] } }).metadata : undefined;
  const raw = metadata?.get?.('grpc-retry-pushback-ms')[0];
  const ms = Number(raw);
  return raw === undefined || !Number.isFinite(ms) || ms < 0 ? undefined : Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Every REST error is `{ "error": "<message a person can act on>" }` with the matching status, and a
 * Retry-After header when the error says when to retry (429 from load shedding).
 */
export function sendHttpError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, retryAfter, body } = httpErrorAnswer(err);
  if (retryAfter !== undefined) void reply.header('retry-after', retryAfter);
  return reply.status(status).send(body);
}

/** What sendHttpError sends, for writers that are not Fastify (the fast routes). */
export function httpErrorAnswer(err: unknown): { status: number; retryAfter: string | undefined; body: { error: string } } {
  const { status, message } = httpErrorOf(err);
  const retryAfter = retryAfterSeconds(err);
  return { status, retryAfter: retryAfter === undefined ? undefined : String(retryAfter), body: { error: message } };
}

/** What every Nest route throws is answered by sendHttpError. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    void sendHttpError(host.switchToHttp().getResponse<FastifyReply>(), err);
  }
}

function errorText(body: object): string | undefined {
  const m = (body as { message?: unknown }).message;
  if (Array.isArray(m)) return m.join('; ');
  return typeof m === 'string' ? m : undefined;
}
