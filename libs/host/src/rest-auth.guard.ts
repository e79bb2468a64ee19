import { authorizeBearer, type ServerAuth } from '@aio/grpc';
import { SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';

const PERMISSION = 'aio:permission';

/** The permission a REST route needs, e.g. `@Permission('models:read')`; routes without one are public. */
export const Permission = (permission: string): MethodDecorator & ClassDecorator => SetMetadata(PERMISSION, permission);

/**
 * Checks a REST request's bearer token against `permission` with the same verifier, role table and
 * refusals as gRPC (authorizeBearer), and keeps the principal on the request. Failures are the GrpcErrors
 * that sendHttpError turns into 401/403/503 `{ error }` bodies. Synchronous when the verifier remembers the
 * token (the usual case), a promise when it must check the signature.
 */
export function authorizeRest(auth: ServerAuth, request: FastifyRequest & { principal?: unknown }, permission: string): void | Promise<void> {
  const target = `${request.method} ${request.routeOptions.url ?? request.url}`;
  const principal = authorizeBearer(auth, request.headers.authorization, permission, target);
  if (!(principal instanceof Promise)) {
    request.principal = principal;
    return;
  }
  return principal.then((p) => {
    request.principal = p;
  });
}

/** Bearer-token auth for Nest REST routes: authorizeRest with the route's @Permission. */
export class RestAuthGuard implements CanActivate {
  constructor(
    private readonly auth: ServerAuth,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const permission = this.reflector.getAllAndOverride<string | undefined>(PERMISSION, [context.getHandler(), context.getClass()]);
    if (permission === undefined) return true;
    await authorizeRest(this.auth, context.switchToHttp().getRequest<FastifyRequest>(), permission);
    return true;
  }
}
