import * as grpc from '../../../libs/grpc/node_modules/@grpc/grpc-js/build/src/index.js';
import { ModelInferResponseSchema } from '@aio/proto/inference/grpc_service';
import { create, toBinary } from '@bufbuild/protobuf';
const res = Buffer.from(toBinary(ModelInferResponseSchema, create(ModelInferResponseSchema, { modelName: 'mlp', modelVersion: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [1n, 10n], contents: { fp32Contents: Array(10).fill(0.1) } }] })));
const server = new grpc.Server();
const id = (b) => b;
server.addService({ ModelInfer: { path: '/inference.GRPCInferenceService/ModelInfer', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, { ModelInfer: (call, cb) => cb(null, res) });
server.addService({ ModelReady: { path: '/inference.GRPCInferenceService/ModelReady', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, { ModelReady: (call, cb) => cb(null, Buffer.from([8, 1])) });
server.bindAsync('127.0.0.1:18001', grpc.ServerCredentials.createInsecure(), () => console.log('READY'));
