import { GrpcError, Status } from '@aio/grpc';
import { UploadArtifactHeaderSchema, UploadArtifactRequestSchema, type UploadArtifactRequest } from '@aio/proto/aio/registry/v1/registry';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { checkHeader, splitUpload, UploadTooLargeError } from './artifacts.service.js';

const header = (init: MessageInitShape<typeof UploadArtifactHeaderSchema> = {}) => create(UploadArtifactHeaderSchema, init);

function stream(...parts: UploadArtifactRequest['part'][]): AsyncIterable<UploadArtifactRequest> {
  return (async function* () {
    for (const part of parts) yield await Promise.resolve(create(UploadArtifactRequestSchema, { part }));
  })();
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const c of chunks) out.push(...c);
  return out;
}

function thrown(fn: () => unknown): GrpcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GrpcError) return err;
    throw err;
  }
  throw new Error('expected a GrpcError');
}

describe('checkHeader', () => {
  it('defaults the format to onnx and passes the expectations on', () => {
    expect(checkHeader(header({ filename: 'iris.onnx' }), 100)).toEqual({ format: 'onnx', expectedSize: undefined, expectedSha256: undefined });
    expect(checkHeader(header({ format: 'onnx', expectedSize: 10n, expectedSha256: 'a'.repeat(64) }), 100)).toEqual({ format: 'onnx', expectedSize: 10, expectedSha256: 'a'.repeat(64) });
  });

  it('names the field of every bad header value', () => {
    expect(thrown(() => checkHeader(header({ format: 'pickle' }), 100)).message).toMatch(/^format: must be one of onnx/);
    expect(thrown(() => checkHeader(header({ filename: '../etc/passwd' }), 100)).message).toMatch(/^filename: /);
    expect(thrown(() => checkHeader(header({ expectedSha256: 'ABC' }), 100)).message).toMatch(/^expected_sha256: must be 64 lower-case hex/);
    const big = thrown(() => checkHeader(header({ expectedSize: 101n }), 100));
    expect(big).toBeInstanceOf(UploadTooLargeError);
    expect(big.code).toBe(Status.RESOURCE_EXHAUSTED);
  });
});

describe('splitUpload', () => {
  it('takes the header from the first message and streams the chunks after it', async () => {
    const { header: h, chunks } = await splitUpload(
      stream({ case: 'header', value: header({ filename: 'm.onnx' }) }, { case: 'chunk', value: Uint8Array.of(1, 2) }, { case: 'chunk', value: Uint8Array.of(3) }),
    );
    expect(h.filename).toBe('m.onnx');
    expect(await collect(chunks)).toEqual([1, 2, 3]);
  });

  it('refuses a stream without a leading header, a second header or an empty message', async () => {
    await expect(splitUpload(stream({ case: 'chunk', value: Uint8Array.of(1) }))).rejects.toThrow(/^header: the first message/);
    await expect(splitUpload(stream())).rejects.toThrow(/^header: the first message/);
    const twice = await splitUpload(stream({ case: 'header', value: header() }, { case: 'header', value: header() }));
    await expect(collect(twice.chunks)).rejects.toThrow(/^header: only the first message/);
    const empty = await splitUpload(stream({ case: 'header', value: header() }, { case: undefined }));
    await expect(collect(empty.chunks)).rejects.toThrow(/^part: /);
  });
});
