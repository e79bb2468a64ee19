import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyAdapter } from '@nestjs/platform-fastify';

export const NDJSON = 'application/x-ndjson';

/**
 * Lets Fastify hand application/x-ndjson bodies to the records route as the unread request stream
 * (it refuses unknown types otherwise, and would buffer up to the global body limit): the route reads
 * line by line with a bounded line length, however long the body.
 */
@Injectable()
export class NdjsonBody implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost<FastifyAdapter>) {}

  onModuleInit(): void {
    const fastify = this.host.httpAdapter.getInstance();
    if (fastify.hasContentTypeParser(NDJSON)) return;
    fastify.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload));
  }
}
