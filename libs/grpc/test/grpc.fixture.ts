// Test services built on generated descriptors, and a tracker that closes every server and client
// a test opened.
import { create } from '@bufbuild/protobuf';
import { IngestionService } from '@aio/proto/aio/ingestion/v1/ingestion';
import { ModelSchema, RegistryService } from '@aio/proto/aio/registry/v1/registry';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import type { CallContext, ServiceImpl } from '../src/call.context.js';
import { createGrpcClient, type GrpcClient, type GrpcClientOptions } from '../src/grpc.client.js';
import { GrpcError, invalidArgument, notFound, Status } from '../src/grpc.error.js';
import { createGrpcServer, type GrpcServer, type GrpcServerOptions } from '../src/grpc.server.js';
import { withUnimplemented } from '../src/partial.impl.js';
import type { DescService } from '@bufbuild/protobuf';
import { expect } from 'vitest';

/** The GrpcError a synchronous call throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): GrpcError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GrpcError);
    return error as GrpcError;
  }
  throw new Error('expected a GrpcError, nothing was thrown');
}

/** Lets a test wait for a handler to reach a point (no sleeps). */
export interface Latch<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function signal<T = void>(): Latch<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface RegistryProbe {
  /** Resolves when GetModel("slow") has started. */
  slowStarted: Latch<void>;
  /** Released by the test to let GetModel("slow") answer. */
  slowRelease: Latch<void>;
  /** Resolves with the abort reason a waiting handler saw. */
  aborted: Latch<unknown>;
  /** Resolves when GetModel("hang") has started waiting for its abort. */
  hangStarted: Latch<void>;
  /** Principal subjects seen by CreateModel. */
  subjects: (string | undefined)[];
  /** "authorization|x-tenant" metadata seen by GetModel. */
  headers: string[];
}

export function registryImpl(probe: RegistryProbe): Partial<ServiceImpl<typeof RegistryService>> {
  const waitForAbort = (ctx: CallContext): Promise<never> =>
    new Promise((_, reject) => {
      probe.hangStarted.resolve();
      ctx.signal.addEventListener('abort', () => {
        probe.aborted.resolve(ctx.signal.reason);
        reject(ctx.signal.reason as Error);
      });
    });
  return {
    createModel: (request, ctx) => {
      probe.subjects.push(ctx.principal?.subject);
      if (request.name === '') return Promise.reject(invalidArgument('name', 'must not be empty'));
      return Promise.resolve({ model: { name: request.name, description: request.description, latestVersion: 0 } });
    },
    getModel: async (request, ctx) => {
      probe.headers.push(`${String(ctx.metadata.get('authorization')[0] ?? '')}|${String(ctx.metadata.get('x-tenant')[0] ?? '')}`);
      if (request.name === 'missing') throw notFound('model', request.name);
      if (request.name === 'boom') throw new Error('database exploded');
      if (request.name === 'hang') return waitForAbort(ctx);
      if (request.name === 'hang-listener') {
        // The signal-free way: onCancel only.
        return new Promise<never>((_, reject) => {
          probe.hangStarted.resolve();
          ctx.onCancel((reason) => {
            probe.aborted.resolve(reason);
            reject(reason);
          });
        });
      }
      if (request.name === 'slow') {
        probe.slowStarted.resolve();
        await probe.slowRelease.promise;
      }
      return { model: create(ModelSchema, { name: request.name }) };
    },
  };
}

export function fullRegistryImpl(probe: RegistryProbe): ServiceImpl<typeof RegistryService> {
  return withUnimplemented(RegistryService, registryImpl(probe));
}

export function newProbe(): RegistryProbe {
  return { slowStarted: signal(), slowRelease: signal(), aborted: signal<unknown>(), hangStarted: signal(), subjects: [], headers: [] };
}

export const ingestionImpl: ServiceImpl<typeof IngestionService> = withUnimplemented(IngestionService, {
  ingestRecords: async (requests) => {
    let accepted = 0n;
    let rejected = 0n;
    for await (const request of requests) {
      for (const record of request.records) {
        if (record.key === '') rejected += 1n;
        else accepted += 1n;
      }
    }
    return { accepted, rejected };
  },
});

export const inferenceImpl: Partial<ServiceImpl<typeof GRPCInferenceService>> = {
  serverLive: () => Promise.resolve({ live: true }),
  // Echoes the raw inputs back as outputs.
  modelInfer: (request) =>
    Promise.resolve({
      modelName: request.modelName,
      id: request.id,
      outputs: request.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
      rawOutputContents: request.rawInputContents,
    }),
  modelStreamInfer: async function* (requests) {
    for await (const request of requests) {
      if (request.modelName === '') {
        yield { errorMessage: 'model_name: must not be empty' };
        continue;
      }
      yield { inferResponse: { modelName: request.modelName, id: request.id, rawOutputContents: request.rawInputContents } };
    }
  },
};

export function fullInferenceImpl(): ServiceImpl<typeof GRPCInferenceService> {
  const unimplemented = (): Promise<never> => Promise.reject(new GrpcError(Status.UNIMPLEMENTED, 'not in this test'));
  return {
    serverLive: unimplemented,
    serverReady: unimplemented,
    modelReady: unimplemented,
    serverMetadata: unimplemented,
    modelMetadata: unimplemented,
    modelInfer: unimplemented,
    modelStreamInfer: () => {
      throw new GrpcError(Status.UNIMPLEMENTED, 'not in this test');
    },
    modelConfig: unimplemented,
    modelStatistics: unimplemented,
    repositoryIndex: unimplemented,
    repositoryModelLoad: unimplemented,
    repositoryModelUnload: unimplemented,
    ...inferenceImpl,
  };
}

/** Opens servers and clients and closes all of them in teardown. */
export class Harness {
  private readonly servers: GrpcServer[] = [];
  private readonly clients: { close(): void }[] = [];

  server(options: GrpcServerOptions): GrpcServer {
    const server = createGrpcServer(options);
    this.servers.push(server);
    return server;
  }

  client<S extends DescService>(service: S, port: number, options?: GrpcClientOptions): GrpcClient<S> {
    const client = createGrpcClient(service, `127.0.0.1:${port}`, options);
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await Promise.all(this.servers.splice(0).map((s) => s.shutdown(1_000)));
  }
}
