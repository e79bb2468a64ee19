import { fromRestJson, Permission, toRestJson } from '@aio/host';
import { ArtifactSchema, UploadArtifactHeaderSchema } from '@aio/proto/aio/registry/v1/registry';
import type { JsonValue } from '@bufbuild/protobuf';
import { Body, Controller, Get, HttpException, HttpStatus, Inject, Param, Put, Query, Req, Res } from '@nestjs/common';
import { Readable } from 'node:stream';
import { ArtifactsService, UploadTooLargeError } from './artifacts.service.js';

interface UploadRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: { subject: string };
}

interface Reply {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
}

/** REST mirror of UploadArtifact / GetArtifact under /v1/artifacts. */
@Controller('v1/artifacts')
export class ArtifactsController {
  constructor(@Inject(ArtifactsService) private readonly artifacts: ArtifactsService) {}

  /**
   * The raw file as application/octet-stream (streamed to the store, never buffered); the header's
   * fields come as query parameters: ?filename=&format=&expected_size=&expected_sha256=.
   * 201 with the artifact when it is new, 200 when the same bytes had been uploaded before.
   */
  @Put()
  @Permission('models:write')
  async upload(@Body() body: unknown, @Query() query: unknown, @Req() req: UploadRequest, @Res({ passthrough: true }) reply: Reply): Promise<JsonValue> {
    if (!(body instanceof Readable)) {
      throw new HttpException('send the file as the request body with content-type: application/octet-stream', HttpStatus.UNSUPPORTED_MEDIA_TYPE);
    }
    const header = fromRestJson(UploadArtifactHeaderSchema, query, 'query');
    const length = Number(req.headers['content-length'] ?? NaN);
    if (length > this.artifacts.maxBytes) throw payloadTooLarge(reply, new UploadTooLargeError(this.artifacts.maxBytes).message);
    // Leave the request stream open when the store stops early, so the 4xx reaches the client.
    const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
    try {
      const { artifact, created } = await this.artifacts.upload(header, chunks, req.principal?.subject ?? 'anonymous');
      reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
      return toRestJson(ArtifactSchema, artifact);
    } catch (err) {
      // The rest of the body was not read: close the connection after the answer instead of draining it.
      if (!body.readableEnded) reply.header('connection', 'close');
      // RESOURCE_EXHAUSTED would be 429 (retry later); a body over the limit is 413 (do not retry).
      if (err instanceof UploadTooLargeError) throw payloadTooLarge(reply, err.message);
      throw err;
    }
  }

  @Get(':sha256')
  @Permission('models:read')
  async get(@Param('sha256') sha256: string): Promise<JsonValue> {
    return toRestJson(ArtifactSchema, await this.artifacts.get(sha256));
  }
}

function payloadTooLarge(reply: Reply, message: string): HttpException {
  reply.header('connection', 'close');
  return new HttpException(message, HttpStatus.PAYLOAD_TOO_LARGE);
}
