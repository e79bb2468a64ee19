import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyAdapter } from '@nestjs/platform-fastify';

/**
 * Lets Fastify hand application/octet-stream bodies to handlers as the unread request stream (it
 * refuses them otherwise, and its own parsers would buffer up to the global body limit), so
 * PUT /v1/artifacts streams to the store whatever the size. Registered before the server starts.
 */
@Injectable()
export class OctetStreamBody implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost<FastifyAdapter>) {}

  onModuleInit(): void {
    const fastify = this.host.httpAdapter.getInstance();
    if (fastify.hasContentTypeParser('application/octet-stream')) return;
    fastify.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  }
}
