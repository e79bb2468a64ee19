import { GrpcError, Status } from '@aio/grpc';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OnnxVerifier, signatureOf } from './onnx.signature.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));
const plain = (specs: { name: string; datatype: string; shape: bigint[] }[]) => specs.map((s) => [s.name, s.datatype, s.shape.map(Number)]);

async function failure(p: Promise<unknown>): Promise<GrpcError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GrpcError);
  return err as GrpcError;
}

describe('signatureOf', () => {
  it('maps onnxruntime types to OIP datatypes and variable dimensions to -1', () => {
    const sig = signatureOf({
      ok: true,
      inputs: [
        { name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] },
        { name: 'ids', isTensor: true, type: 'int64', shape: [-1] },
        { name: 'text', isTensor: true, type: 'string', shape: [] },
      ],
      outputs: [
        { name: 'label', isTensor: true, type: 'bool', shape: ['N'] },
        { name: 'probabilities', isTensor: false, type: '', shape: [] },
      ],
    });
    expect(plain(sig.inputs)).toEqual([
      ['x', 'FP32', [-1, 4]],
      ['ids', 'INT64', [-1]],
      ['text', 'BYTES', []],
    ]);
    // A non-tensor output (sklearn's ZipMap) cannot travel over OIP: left out of the signature.
    expect(plain(sig.outputs)).toEqual([['label', 'BOOL', [-1]]]);
  });

  it('refuses a model that does not load, or whose inputs OIP cannot carry', () => {
    expect(() => signatureOf({ ok: false, reason: 'Protobuf parsing failed.' })).toThrow('artifact: not a loadable ONNX model: Protobuf parsing failed.');
    expect(() => signatureOf({ ok: true, inputs: [{ name: 'w', isTensor: true, type: 'int4', shape: [2] }], outputs: [] })).toThrow(/^artifact: input "w" is a int4 tensor/);
    expect(() => signatureOf({ ok: true, inputs: [{ name: 'm', isTensor: false, type: '', shape: [] }], outputs: [] })).toThrow(/^artifact: input "m" is not a tensor/);
  });
});

describe('OnnxVerifier (onnxruntime in a worker thread)', () => {
  it('reads the signature of real models', async () => {
    const verifier = new OnnxVerifier();
    const [identity, add] = await Promise.all([verifier.signature(fixture('identity.onnx')), verifier.signature(fixture('add.onnx'))]);
    expect(plain(identity.inputs)).toEqual([['x', 'FP32', [-1, 4]]]);
    expect(plain(identity.outputs)).toEqual([['y', 'FP32', [-1, 4]]]);
    expect(plain(add.inputs)).toEqual([
      ['a', 'INT64', [2]],
      ['b', 'INT64', [2]],
    ]);
    expect(plain(add.outputs)).toEqual([
      ['sum', 'INT64', [2]],
      ['equal', 'BOOL', [2]],
    ]);
  });

  it('answers INVALID_ARGUMENT for a file that is not ONNX, without naming the server path', async () => {
    const path = fixture('make-fixtures.py');
    const err = await failure(new OnnxVerifier().signature(path));
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(err.message).toMatch(/^artifact: not a loadable ONNX model: /);
    expect(err.message).not.toContain(path);
  });
});
