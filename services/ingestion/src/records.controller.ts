import type { Principal } from '@aio/auth';
import { GrpcError, invalidArgument, Status } from '@aio/grpc';
import { fromRestJson, Permission, toRestJson } from '@aio/host';
import {
  CreateDatasetVersionRequestSchema,
  CreateDatasetVersionResponseSchema,
  DatasetVersionSchema,
  IngestRecordsResponseSchema,
  ListDatasetVersionsRequestSchema,
  ListDatasetVersionsResponseSchema,
} from '@aio/proto/aio/ingestion/v1/ingestion';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { IntakeService } from './intake.service.js';
import { NDJSON } from './ndjson.body.js';
import { ingestNdjson } from './records.ndjson.js';
import { VersionsService } from './versions.service.js';

/** REST record intake (NDJSON) and dataset versions, over the same services as gRPC. */
@Controller('v1/datasets/:name')
export class RecordsController {
  constructor(
    @Inject(IntakeService) private readonly intake: IntakeService,
    @Inject(VersionsService) private readonly versions: VersionsService,
  ) {}

  @Post('records')
  @HttpCode(200)
  @Permission('records:write')
  async ingest(@Param('name') name: string, @Headers('content-type') contentType: string | undefined, @Body() body: unknown): Promise<JsonValue> {
    if (contentType?.split(';')[0]?.trim().toLowerCase() !== NDJSON || !isAsyncIterable(body)) {
      throw new GrpcError(Status.INVALID_ARGUMENT, `content-type: must be ${NDJSON} (one JSON object of field values per line), got ${contentType ?? 'none'}`);
    }
    const tally = await ingestNdjson(this.intake, name, body);
    return toRestJson(IngestRecordsResponseSchema, create(IngestRecordsResponseSchema, tally.response()));
  }

  @Get('versions')
  @Permission('datasets:read')
  async list(@Param('name') name: string, @Query() query: Record<string, unknown>): Promise<JsonValue> {
    const request = fromRestJson(ListDatasetVersionsRequestSchema, { ...query, dataset: name }, 'query');
    return toRestJson(ListDatasetVersionsResponseSchema, create(ListDatasetVersionsResponseSchema, await this.versions.list(request)));
  }

  @Post('versions')
  @HttpCode(201)
  @Permission('datasets:write')
  async create(@Param('name') name: string, @Body() body: unknown, @Req() req: { principal?: Principal }): Promise<JsonValue> {
    const given = body === undefined || body === null ? {} : body;
    if (typeof given !== 'object' || Array.isArray(given)) throw invalidArgument('body', 'must be a JSON object');
    const request = fromRestJson(CreateDatasetVersionRequestSchema, { ...given, dataset: name });
    const version = await this.versions.create(request, req.principal?.subject ?? '');
    return toRestJson(CreateDatasetVersionResponseSchema, create(CreateDatasetVersionResponseSchema, { version }));
  }

  @Get('versions/:version')
  @Permission('datasets:read')
  async get(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    const number = Number(version);
    if (!/^[1-9][0-9]{0,9}$/.test(version) || !Number.isSafeInteger(number)) throw invalidArgument('version', `"${version}" must be a positive integer`);
    return toRestJson(DatasetVersionSchema, await this.versions.get(name, number));
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array | string> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
