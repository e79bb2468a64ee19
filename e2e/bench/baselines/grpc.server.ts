// Baseline (a): the gRPC transport ceiling. A bare grpc-js server whose ModelInfer answers with
// precomputed response bytes (the gateway's own answer to the benchmark request) without decoding the
// request or running a model. Runs as its own process, like the gateway.
//   node grpc.server.ts <response-file>   -> prints "port <n>" once listening on 127.0.0.1
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, type handleUnaryCall } from '@grpc/grpc-js';
import { MODEL_INFER_PATH } from '../lib/oip.ts';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: grpc.server.ts <response-file>');
const response = readFileSync(file);
const pass = (b: Buffer): Buffer => b;

const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
const modelInfer: handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback(null, response);
server.addService(
  { ModelInfer: { path: MODEL_INFER_PATH, requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass } },
  { ModelInfer: modelInfer },
);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`port ${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
