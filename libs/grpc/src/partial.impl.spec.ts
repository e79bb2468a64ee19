import { RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { create } from '@bufbuild/protobuf';
import { GetModelRequestSchema, ListModelsRequestSchema } from '@aio/proto/aio/registry/v1/registry';
import { describe, expect, it } from 'vitest';
import type { CallContext } from './call.context.js';
import { Status } from './grpc.error.js';
import { withUnimplemented } from './partial.impl.js';

describe('withUnimplemented', () => {
  it('keeps the given methods and answers UNIMPLEMENTED, naming the method, for the rest', async () => {
    const impl = withUnimplemented(RegistryService, { listModels: () => Promise.resolve({ models: [] }) });
    const ctx = {} as CallContext;
    await expect(impl.listModels(create(ListModelsRequestSchema), ctx)).resolves.toEqual({ models: [] });
    await expect(impl.getModel(create(GetModelRequestSchema), ctx)).rejects.toMatchObject({
      code: Status.UNIMPLEMENTED,
      message: 'aio.registry.v1.RegistryService/GetModel is not implemented here',
    });
    expect(Object.keys(impl).sort()).toEqual(Object.keys(RegistryService.method).sort());
  });
});
