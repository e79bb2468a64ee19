import { GrpcError, Status } from '@aio/grpc';
import { Permission, toRestJson, type FastRoute } from '@aio/host';
import {
  ModelStatisticsResponseSchema,
  RepositoryIndexResponse_ModelIndexSchema,
  ServerMetadataResponseSchema,
  type ModelMetadataResponse,
} from '@aio/proto/inference/grpc_service';
import { ModelConfigSchema } from '@aio/proto/inference/model_config';
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { DeploymentsService } from './deployments.service.js';
import { InferenceService } from './inference.service.js';
import { inferRequestFromJson, inferResponseToJson, tritonJson } from './serving/oip-json.codec.js';

// OIP REST carries shapes as JSON numbers (protobuf JSON would make int64 strings).
function metadataJson(m: ModelMetadataResponse): JsonObject {
  const tensors = (list: ModelMetadataResponse['inputs']) => list.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) }));
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: tensors(m.inputs), outputs: tensors(m.outputs) };
}

/**
 * OIP v2 REST infer, the hot path: served from node:http ahead of Fastify and Nest (same auth, spans and
 * error bodies as the routes below; @aio/host FastRoute), whose pipelines cost a small request more than the work.
 */
export function inferRoutes(inference: InferenceService): FastRoute[] {
  const infer = async (name: string, version: string, body: unknown): Promise<JsonValue> =>
    inferResponseToJson(await inference.infer(inferRequestFromJson(name, version, body)));
  return [
    { method: 'POST', url: '/v2/models/:name/infer', permission: 'inference:infer', handle: ({ params, body }) => infer(params['name'] ?? '', '', body) },
    {
      method: 'POST',
      url: '/v2/models/:name/versions/:version/infer',
      permission: 'inference:infer',
      handle: ({ params, body }) => infer(params['name'] ?? '', params['version'] ?? '', body),
    },
  ];
}

/** The rest of the Open Inference Protocol v2 REST API (KServe / Triton paths) on the HTTP port. */
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
  async modelMetadata(@Param('name') name: string): Promise<JsonValue> {
    return metadataJson(await this.inference.modelMetadata(name, ''));
  }

  @Get('models/:name/versions/:version')
  @Permission('inference:infer')
  async versionMetadata(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    return metadataJson(await this.inference.modelMetadata(name, version));
  }

  // OIP REST answers model readiness with the status code: 200 ready; not ready is a 404 with the reason.
  @Get('models/:name/ready')
  @Permission('inference:infer')
  async modelReady(@Param('name') name: string): Promise<JsonValue> {
    await this.inference.loaded(name, '');
    return { name, ready: true };
  }

  @Get('models/:name/versions/:version/ready')
  @Permission('inference:infer')
  async versionReady(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    await this.inference.loaded(name, version);
    return { name, version, ready: true };
  }

  // Triton's REST answers: the bare ModelConfig, and statistics with numeric counters (perf_analyzer reads both).
  @Get('models/:name/config')
  @Permission('inference:infer')
  async modelConfig(@Param('name') name: string): Promise<JsonValue> {
    return this.config(name, '');
  }

  @Get('models/:name/versions/:version/config')
  @Permission('inference:infer')
  async versionConfig(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    return this.config(name, version);
  }

  @Get('models/stats')
  @Permission('inference:infer')
  async allStats(): Promise<JsonValue> {
    return this.stats('', '');
  }

  @Get('models/:name/stats')
  @Permission('inference:infer')
  async modelStats(@Param('name') name: string): Promise<JsonValue> {
    return this.stats(name, '');
  }

  @Get('models/:name/versions/:version/stats')
  @Permission('inference:infer')
  async versionStats(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    return this.stats(name, version);
  }

  // Triton's REST repository extension.
  @Post('repository/index')
  @HttpCode(200)
  @Permission('inference:infer')
  async index(@Body() body: unknown): Promise<JsonValue> {
    const ready = typeof body === 'object' && body !== null && (body as { ready?: unknown }).ready === true;
    const entries = await this.deployments.index('', ready);
    return entries.map((e) => toRestJson(RepositoryIndexResponse_ModelIndexSchema, e));
  }

  @Post('repository/models/:name/load')
  @HttpCode(200)
  @Permission('inference:admin')
  async load(@Param('name') name: string): Promise<JsonValue> {
    await this.deployments.load(name);
    return {};
  }

  @Post('repository/models/:name/unload')
  @HttpCode(200)
  @Permission('inference:admin')
  async unload(@Param('name') name: string): Promise<JsonValue> {
    await this.deployments.unload(name);
    return {};
  }

  private async config(name: string, version: string): Promise<JsonValue> {
    const { config } = await this.inference.modelConfig(name, version);
    return config === undefined ? {} : tritonJson(ModelConfigSchema, config);
  }

  private async stats(name: string, version: string): Promise<JsonValue> {
    return tritonJson(ModelStatisticsResponseSchema, await this.inference.modelStatistics(name, version));
  }
}
