import {
  InferTensorContentsSchema,
  ModelInferRequest_InferInputTensorSchema,
  ModelInferRequest_InferRequestedOutputTensorSchema,
  ModelInferRequestSchema,
  ModelInferResponse_InferOutputTensorSchema,
  ModelInferResponseSchema,
} from '@aio/proto/inference/grpc_service';
import { create, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { inferRequest, inferResponse, inputTensor, outputTensor, requestedOutput, tensorContents } from './oip.messages.js';

/** The literal is the message create() makes from the same fields, on the wire too. */
function same<D extends DescMessage>(schema: D, literal: MessageShape<D>, made: MessageShape<D>): void {
  expect(literal).toEqual(made);
  expect(toBinary(schema, literal)).toEqual(toBinary(schema, made));
}

describe('OIP message literals', () => {
  it('are the messages create() makes', () => {
    same(InferTensorContentsSchema, tensorContents({ fp32Contents: [1.5, 2] }), create(InferTensorContentsSchema, { fp32Contents: [1.5, 2] }));
    same(InferTensorContentsSchema, tensorContents({}), create(InferTensorContentsSchema));
    const contents = tensorContents({ int64Contents: [3n] });
    const input = inputTensor('x', 'INT64', [1n, 1n], {}, contents);
    same(ModelInferRequest_InferInputTensorSchema, input, create(ModelInferRequest_InferInputTensorSchema, { name: 'x', datatype: 'INT64', shape: [1n, 1n], contents }));
    const wanted = requestedOutput('y', {});
    same(ModelInferRequest_InferRequestedOutputTensorSchema, wanted, create(ModelInferRequest_InferRequestedOutputTensorSchema, { name: 'y' }));
    same(
      ModelInferRequestSchema,
      inferRequest({ modelName: 'm', modelVersion: '2', id: 'r', parameters: {}, inputs: [input], outputs: [wanted] }),
      create(ModelInferRequestSchema, { modelName: 'm', modelVersion: '2', id: 'r', inputs: [input], outputs: [wanted] }),
    );
    const output = outputTensor('y', 'FP32', [1n, 2n], tensorContents({ fp32Contents: [1, 2] }));
    same(ModelInferResponse_InferOutputTensorSchema, output, create(ModelInferResponse_InferOutputTensorSchema, { name: 'y', datatype: 'FP32', shape: [1n, 2n], contents: { fp32Contents: [1, 2] } }));
    const raw = outputTensor('y', 'FP32', [1n, 2n], undefined);
    same(ModelInferResponse_InferOutputTensorSchema, raw, create(ModelInferResponse_InferOutputTensorSchema, { name: 'y', datatype: 'FP32', shape: [1n, 2n] }));
    const bytes = new Uint8Array([0, 0, 128, 63]);
    same(
      ModelInferResponseSchema,
      inferResponse({ modelName: 'm', modelVersion: '2', id: 'r', outputs: [raw], rawOutputContents: [bytes] }),
      create(ModelInferResponseSchema, { modelName: 'm', modelVersion: '2', id: 'r', outputs: [raw], rawOutputContents: [bytes] }),
    );
  });
});
