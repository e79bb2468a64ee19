import { fromRestJson, Permission, toRestJson } from '@aio/host';
import {
  CreateModelRequestSchema,
  DeploymentSchema,
  ModelSchema,
  ModelVersionSchema,
  AliasChangeSchema,
  SetAliasRequestSchema,
  SetDeploymentRequestSchema,
  CreateModelVersionRequestSchema,
  GetAliasHistoryRequestSchema,
  ListModelVersionsRequestSchema,
  ListModelsRequestSchema,
} from '@aio/proto/aio/registry/v1/registry';
import { create, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { Body, Controller, Get, Inject, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ModelsService } from './models.service.js';


type Authed = { principal?: { subject: string } };
const who = (req: Authed): string => req.principal?.subject ?? 'anonymous';

/** REST mirror of the gRPC API under /v1 (protobuf JSON in and out). */
@Controller('v1/models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  @Get()
  @Permission('models:read')
  async list(@Query() query: unknown): Promise<JsonValue> {
    const request = fromRestJson(ListModelsRequestSchema, query, 'query');
    const page = await this.models.listModels(request.pageSize, request.pageToken);
    return { models: page.models.map((m) => toRestJson(ModelSchema, m)), next_page_token: page.nextPageToken };
  }

  @Post()
  @Permission('models:write')
  async createModel(@Body() body: unknown, @Req() req: Authed): Promise<JsonValue> {
    return toRestJson(ModelSchema, await this.models.createModel(fromRestJson(CreateModelRequestSchema, body), who(req)));
  }

  @Get(':name')
  @Permission('models:read')
  async get(@Param('name') name: string): Promise<JsonValue> {
    return toRestJson(ModelSchema, await this.models.getModel(name));
  }

  @Get(':name/versions')
  @Permission('models:read')
  async versions(@Param('name') name: string, @Query() query: unknown): Promise<JsonValue> {
    const request = fromRestJson(ListModelVersionsRequestSchema, query, 'query');
    const page = await this.models.listVersions(name, request.pageSize, request.pageToken);
    return { versions: page.versions.map((v) => toRestJson(ModelVersionSchema, v)), next_page_token: page.nextPageToken };
  }

  @Post(':name/versions')
  @Permission('models:write')
  async createVersion(@Param('name') name: string, @Body() body: unknown, @Req() req: Authed): Promise<JsonValue> {
    const request = withField(CreateModelVersionRequestSchema, body, { model: name });
    return toRestJson(ModelVersionSchema, await this.models.createVersion(request, who(req)));
  }

  @Get(':name/versions/:version')
  @Permission('models:read')
  async version(@Param('name') name: string, @Param('version') version: string): Promise<JsonValue> {
    const selector = /^\d+$/.test(version) ? { case: 'version' as const, value: Number(version) } : { case: 'alias' as const, value: version };
    return toRestJson(ModelVersionSchema, await this.models.getVersion({ $typeName: 'aio.registry.v1.GetModelVersionRequest', model: name, selector }));
  }

  @Put(':name/aliases/:alias')
  @Permission('models:write')
  async setAlias(@Param('name') name: string, @Param('alias') alias: string, @Body() body: unknown, @Req() req: Authed): Promise<JsonValue> {
    const request = withField(SetAliasRequestSchema, body, { model: name, alias });
    return toRestJson(AliasChangeSchema, await this.models.setAlias(request, who(req)));
  }

  @Get(':name/aliases/history')
  @Permission('models:read')
  async aliasHistory(@Param('name') name: string, @Query() query: unknown): Promise<JsonValue> {
    const request = fromRestJson(GetAliasHistoryRequestSchema, query, 'query');
    const page = await this.models.aliasHistory(name, request.alias, request.pageSize, request.pageToken);
    return { changes: page.changes.map((c) => toRestJson(AliasChangeSchema, c)), next_page_token: page.nextPageToken };
  }

  @Get(':name/deployment')
  @Permission('models:read')
  async deployment(@Param('name') name: string): Promise<JsonValue> {
    return toRestJson(DeploymentSchema, await this.models.getDeployment(name));
  }

  @Put(':name/deployment')
  @Permission('deployments:write')
  async setDeployment(@Param('name') name: string, @Body() body: unknown, @Req() req: Authed): Promise<JsonValue> {
    const request = fromRestJson(SetDeploymentRequestSchema, body);
    request.deployment ??= create(DeploymentSchema);
    request.deployment.model = name;
    return toRestJson(DeploymentSchema, await this.models.setDeployment(request, who(req)));
  }
}

/** Path parameters win over the body's fields of the same name. */
function withField<D extends DescMessage>(schema: D, body: unknown, fields: Partial<MessageShape<D>>): MessageShape<D> {
  return Object.assign(fromRestJson(schema, body), fields);
}
