// Request bytes built once per benchmark and sent unchanged on every call, to every system: the
// gateway, the bare servers (which answer with the gateway's own response bytes) and peers.
import path from 'node:path';
import { methodPath } from '@aio/grpc';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { GRPCInferenceService, ModelInferRequestSchema } from '@aio/proto/inference/grpc_service';
import { create, toBinary } from '@bufbuild/protobuf';
import type { DriverSpec } from './load.ts';
import { inputData, type BenchModel } from './models.ts';
import { ROOT } from './result.ts';

export const MODEL_INFER_PATH = methodPath(GRPCInferenceService.method.modelInfer);

/** ModelInfer through ghz (lib/ghz.ts), which reads the method from the .proto: the same bytes and metadata as the grpc driver, over one connection. */
export function ghzInferDriver(address: string, request: Uint8Array, metadata: Record<string, string>): DriverSpec {
  const protoDir = path.join(ROOT, 'proto');
  return {
    kind: 'ghz',
    address,
    proto: path.join(protoDir, 'inference', 'grpc_service.proto'),
    importPaths: [protoDir],
    call: MODEL_INFER_PATH.slice(1),
    requests: [request],
    metadata,
    connections: 1,
  };
}

/** h2load POSTing `request` as ModelInfer to `address`; an OK answer is `response` (the gateway's own). */
export function h2loadInferDriver(address: string, request: Uint8Array, metadata: Record<string, string>, response: Uint8Array): DriverSpec {
  return { kind: 'h2load', url: `http://${address}${MODEL_INFER_PATH}`, request, headers: metadata, response, connections: 1 };
}

/** ModelInfer with the input as little-endian raw_input_contents (what tritonclient and perf_analyzer send). */
export function grpcInferBytes(model: BenchModel, seed = 7): Uint8Array {
  const count = model.input.shape.reduce((a, b) => a * b, 1);
  const data = inputData(count, seed);
  return toBinary(
    ModelInferRequestSchema,
    create(ModelInferRequestSchema, {
      modelName: model.name,
      inputs: [{ name: model.input.name, datatype: 'FP32', shape: model.input.shape.map(BigInt) }],
      rawInputContents: [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)],
    }),
  );
}

/** OIP v2 JSON body: the same input values as flat `data`. */
export function restInferBody(model: BenchModel, seed = 7): Uint8Array {
  const count = model.input.shape.reduce((a, b) => a * b, 1);
  const data = Array.from(inputData(count, seed));
  return new TextEncoder().encode(JSON.stringify({ inputs: [{ name: model.input.name, shape: model.input.shape, datatype: 'FP32', data }] }));
}

export function restInferPath(model: string): string {
  return `/v2/models/${encodeURIComponent(model)}/infer`;
}

/** One ModelInfer with pass-through codecs: the response bytes exactly as the server sent them. */
export function grpcRawCall(address: string, request: Uint8Array, metadata: Record<string, string>): Promise<Buffer> {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const md = new Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const pass = (b: Buffer): Buffer => b;
  return new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest(MODEL_INFER_PATH, pass, pass, Buffer.from(request), md, { deadline: Date.now() + 30_000 }, (err, value?: Buffer) =>
      err || value === undefined ? reject(err ?? new Error('no response')) : resolve(value),
    ),
  ).finally(() => client.close());
}

/** One REST infer: the response body bytes; rejects unless 200. */
export async function restRawCall(origin: string, urlPath: string, body: Uint8Array, headers: Record<string, string>): Promise<Buffer> {
  const res = await fetch(`${origin}${urlPath}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${urlPath} answered ${res.status}: ${bytes.toString('utf8').slice(0, 300)}`);
  return bytes;
}
