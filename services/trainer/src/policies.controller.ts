import { Permission, toRestJson } from '@aio/host';
import { GetRetrainPolicyResponseSchema } from '@aio/proto/aio/trainer/v1/trainer';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { Controller, Get, Inject, Param } from '@nestjs/common';
import { PoliciesService } from './policies.service.js';

/** REST read of a model's retrain policy (protobuf JSON, proto field names); changes go through gRPC. */
@Controller('v1/retrain-policies')
export class PoliciesController {
  constructor(@Inject(PoliciesService) private readonly policies: PoliciesService) {}

  @Get(':model')
  @Permission('training:read')
  async get(@Param('model') model: string): Promise<JsonValue> {
    return toRestJson(GetRetrainPolicyResponseSchema, create(GetRetrainPolicyResponseSchema, { policy: await this.policies.get(model) }));
  }
}
