import { ArtifactSha256MismatchError, ArtifactSizeMismatchError, ArtifactTooLargeError, isSha256 } from '@aio/artifacts';
import { GrpcError, invalidArgument, notFound, Status } from '@aio/grpc';
import { Platform } from '@aio/host';
import { ArtifactSchema, type Artifact, type UploadArtifactHeader, type UploadArtifactRequest } from '@aio/proto/aio/registry/v1/registry';
import { create, fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { ArtifactStorage } from './artifact.storage.js';
import { ArtifactsRepository } from './artifacts.repository.js';
import type { Signature } from './onnx.signature.js';

/** The header fields an upload may carry (gRPC: the first message; REST: the query string). */
export type UploadHeader = Pick<UploadArtifactHeader, 'filename' | 'format' | 'expectedSize' | 'expectedSha256'>;

export interface UploadResult {
  artifact: Artifact;
  /** False when the same bytes had been uploaded before. */
  created: boolean;
}

export const FORMATS = ['onnx'] as const;

/** Checks the header before any byte is read; the format defaults to "onnx". */
export function checkHeader(header: UploadHeader, maxBytes: number): { format: string; expectedSize?: number; expectedSha256?: string } {
  const format = header.format === '' ? 'onnx' : header.format;
  if (!(FORMATS as readonly string[]).includes(format)) throw invalidArgument('format', `must be one of ${FORMATS.join(', ')} (the formats the registry can verify), got "${format}"`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (header.filename.length > 255 || /[/\\\u0000-\u001f]/.test(header.filename)) {
    throw invalidArgument('filename', 'must be at most 255 characters without "/", "\\" or control characters');
  }
  if (header.expectedSha256 !== '' && !isSha256(header.expectedSha256)) throw invalidArgument('expected_sha256', 'must be 64 lower-case hex characters (or empty)');
  if (header.expectedSize > BigInt(maxBytes)) throw tooLarge(maxBytes);
  return {
    format,
    expectedSize: header.expectedSize === 0n ? undefined : Number(header.expectedSize),
    expectedSha256: header.expectedSha256 === '' ? undefined : header.expectedSha256,
  };
}

/** RESOURCE_EXHAUSTED over gRPC; REST answers it with 413. */
export class UploadTooLargeError extends GrpcError {
  constructor(readonly maxBytes: number) {
    super(Status.RESOURCE_EXHAUSTED, `artifact: larger than the limit of ${maxBytes} bytes (AIO_ARTIFACT_MAX_BYTES)`);
  }
}

const tooLarge = (maxBytes: number): UploadTooLargeError => new UploadTooLargeError(maxBytes);

/**
 * Splits an UploadArtifact stream into its header and its bytes. The header must come first and
 * only once; the returned chunks are read lazily, as the store writes them.
 */
export async function splitUpload(requests: AsyncIterable<UploadArtifactRequest>): Promise<{ header: UploadArtifactHeader; chunks: AsyncIterable<Uint8Array> }> {
  const it = requests[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true || first.value.part.case !== 'header') {
    await it.return?.();
    throw invalidArgument('header', 'the first message of UploadArtifact must carry the header (filename, format, expected_size, expected_sha256)');
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = await it.next();
        if (next.done === true) return;
        const part = next.value.part;
        switch (part.case) {
          case 'chunk':
            yield part.value;
            break;
          case 'header':
            throw invalidArgument('header', 'only the first message may carry it');
          case undefined:
            throw invalidArgument('part', 'each message after the header must carry a chunk');
        }
      }
    } finally {
      await it.return?.();
    }
  }
  return { header: first.value.part.value, chunks: chunks() };
}

/** Artifact upload (content-addressed store + ONNX verification) and artifact metadata. */
@Injectable()
export class ArtifactsService {
  constructor(
    @Inject(ArtifactsRepository) private readonly repo: ArtifactsRepository,
    @Inject(ArtifactStorage) private readonly storage: ArtifactStorage,
    @Inject(Platform) private readonly platform: Platform,
  ) {}

  get maxBytes(): number {
    return this.storage.maxBytes;
  }

  /**
   * Stores the bytes under their sha256 only once they open as a model, and records the artifact's
   * signature the first time its sha256 is seen. Nothing is stored on any error.
   */
  async upload(header: UploadHeader, chunks: AsyncIterable<Uint8Array>, subject: string, signal?: AbortSignal): Promise<UploadResult> {
    const { format, expectedSize, expectedSha256 } = checkHeader(header, this.storage.maxBytes);
    let signature: Signature | undefined;
    let put;
    try {
      put = await this.storage.store.put(chunks, {
        maxBytes: this.storage.maxBytes,
        expectedSize,
        expectedSha256,
        signal,
        verify: async (file, { sha256 }) => {
          // A signature is recorded once per sha256: known bytes are not loaded again.
          if ((await this.repo.find(sha256)) === null) signature = await this.storage.verifier.signature(file);
        },
      });
    } catch (err) {
      if (err instanceof ArtifactTooLargeError) throw tooLarge(err.maxBytes);
      if (err instanceof ArtifactSizeMismatchError) throw invalidArgument('expected_size', `the upload has ${err.actual} bytes, not ${err.expected}`);
      if (err instanceof ArtifactSha256MismatchError) throw invalidArgument('expected_sha256', `the upload's sha256 is ${err.actual}, not ${err.expected}`);
      throw err;
    }
    const artifact = create(ArtifactSchema, {
      sha256: put.sha256,
      size: BigInt(put.size),
      format,
      inputs: signature?.inputs ?? [],
      outputs: signature?.outputs ?? [],
      createTime: timestampFromDate(new Date()),
      filename: header.filename,
      createdBy: subject,
    });
    // Without a fresh signature the document already existed when verify ran: insertOnce returns it.
    const { doc, created } = await this.repo.insertOnce({ _id: put.sha256, data: toJson(ArtifactSchema, artifact) as JsonObject });
    if (created) this.platform.logger.info('artifact uploaded', { 'aio.artifact.sha256': put.sha256, 'aio.artifact.size': put.size, 'user.name': subject });
    return { artifact: fromJson(ArtifactSchema, doc.data as JsonObject), created };
  }

  /** The artifact's metadata; NOT_FOUND when it was never uploaded. */
  async get(sha256: string, field = 'sha256'): Promise<Artifact> {
    const artifact = await this.find(sha256, field);
    if (artifact === undefined) throw notFound('artifact', sha256);
    return artifact;
  }

  /** The artifact's metadata, undefined when it was never uploaded; INVALID_ARGUMENT naming `field` for a bad sha256. */
  async find(sha256: string, field = 'sha256'): Promise<Artifact | undefined> {
    if (!isSha256(sha256)) throw invalidArgument(field, 'must be 64 lower-case hex characters');
    const doc = await this.repo.find(sha256);
    return doc === null ? undefined : fromJson(ArtifactSchema, doc.data as JsonObject);
  }
}
