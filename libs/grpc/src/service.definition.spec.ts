import { create, equals } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  GRPCInferenceService,
  ModelInferRequestSchema,
  ModelInferResponseSchema,
  type ModelInferRequest,
  type ModelInferResponse,
} from '@aio/proto/inference/grpc_service';
import { describe, expect, it } from 'vitest';
import { methodPath, serviceDefinition } from './service.definition.js';

describe('serviceDefinition', () => {
  it('maps a generated descriptor onto grpc-js paths, streaming flags and codecs', () => {
    const definition = serviceDefinition(GRPCInferenceService);
    expect(definition.ModelInfer?.path).toBe('/inference.GRPCInferenceService/ModelInfer');
    expect(methodPath(GRPCInferenceService.method.modelStreamInfer)).toBe('/inference.GRPCInferenceService/ModelStreamInfer');
    expect(definition.ModelStreamInfer?.requestStream).toBe(true);
    expect(definition.ModelStreamInfer?.responseStream).toBe(true);
    expect(definition.ModelInfer?.requestStream).toBe(false);
    const request = create(ModelInferRequestSchema, { modelName: 'm', rawInputContents: [new Uint8Array([1, 2])] });
    const bytes = definition.ModelInfer?.requestSerialize(request) ?? Buffer.alloc(0);
    const decoded = definition.ModelInfer?.requestDeserialize(bytes) as ModelInferRequest;
    expect(equals(ModelInferRequestSchema, decoded, request)).toBe(true);
  });

  it('serves and calls through plain grpc-js', async () => {
    const definition = serviceDefinition(GRPCInferenceService);
    const server = new Server();
    server.addService(definition, {
      ModelInfer: (
        call: { request: ModelInferRequest },
        callback: (e: ServiceError | null, r: ModelInferResponse) => void,
      ) => callback(null, create(ModelInferResponseSchema, { modelName: call.request.modelName, id: 'ok' })),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const Ctor = makeGenericClientConstructor(definition, 'GRPCInferenceService');
    const client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      ModelInfer(req: ModelInferRequest, cb: (e: ServiceError | null, r: ModelInferResponse) => void): void;
      close(): void;
    };
    try {
      const response = await new Promise<ModelInferResponse>((resolve, reject) =>
        client.ModelInfer(create(ModelInferRequestSchema, { modelName: 'iris' }), (e, r) => (e ? reject(e) : resolve(r))),
      );
      expect(response.modelName).toBe('iris');
      expect(response.id).toBe('ok');
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    }
  });
});
