import { GrpcError, Status } from '@aio/grpc';
import { Permission, toRestJson } from '@aio/host';
import { RepositoryIndexResponse_ModelIndexSchema, ServerMetadataResponseSchema } from '@aio/proto/inference/grpc_service';
import type { JsonValue } from '@bufbuild/protobuf';
import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { DeploymentsService } from './deployments.service.js';
import { InferenceService } from './inference.service.js';

/** The Open Inference Protocol v2 REST API (KServe / Triton paths) on the HTTP port. */
@Controller('v2')
export class InferenceController {
  constructor(
    @Inject(InferenceService) private readonly inference: InferenceService,
    @Inject(DeploymentsService) private readonly deployments: DeploymentsService,
  ) {}

  @Get('health/live')
  live(): JsonValue {
    return { live: true };
  }

  @Get('health/ready')
  async ready(): Promise<JsonValue> {
    const { ready, problems } = await this.inference.ready();
    if (!ready) throw new GrpcError(Status.UNAVAILABLE, `not ready: ${problems.join('; ')}`);
    return { ready: true };
  }

  @Get()
  @Permission('inference:infer')
  metadata(): JsonValue {
    return toRestJson(ServerMetadataResponseSchema, this.inference.metadata());
  }

  @Get('models/:name')
  @Permission('inference:infer')
  modelMetadata(@Param('name') name: string): Promise<JsonValue> {
    return this.inference.requireLoaded('name', name, '');
  }

  @Get('models/:name/versions/:version')
  @Permission('inference:infer')
  versionMetadata(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    return this.inference.requireLoaded('name', name, version);
  }

  // OIP REST answers model readiness with the status code alone; not loaded is a 404 with the reason.
  @Get('models/:name/ready')
  @Permission('inference:infer')
  modelReady(@Param('name') name: string): Promise<JsonValue> {
    return this.inference.requireLoaded('name', name, '');
  }

  @Get('models/:name/versions/:version/ready')
  @Permission('inference:infer')
  versionReady(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    return this.inference.requireLoaded('name', name, version);
  }

  @Post('models/:name/infer')
  @Permission('inference:infer')
  infer(@Param('name') name: string): Promise<JsonValue> {
    return this.inference.requireLoaded('name', name, '');
  }

  @Post('models/:name/versions/:version/infer')
  @Permission('inference:infer')
  inferVersion(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    return this.inference.requireLoaded('name', name, version);
  }

  // Triton's REST repository extension: POST /v2/repository/index answers a JSON array.
  @Post('repository/index')
  @HttpCode(200)
  @Permission('inference:infer')
  async index(): Promise<JsonValue> {
    const entries = await this.deployments.index('', false);
    return entries.map((e) => toRestJson(RepositoryIndexResponse_ModelIndexSchema, e));
  }
}
