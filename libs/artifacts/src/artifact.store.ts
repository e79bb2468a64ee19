import type { Readable } from 'node:stream';

/** What the store knows about one artifact. */
export interface ArtifactStat {
  /** 64 lower-case hex characters. */
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
}

export interface PutOptions {
  /** Refuse (ArtifactTooLargeError) as soon as the stream carries more than this many bytes. */
  readonly maxBytes: number;
  /** When set, refuse (ArtifactSizeMismatchError) unless the stream has exactly this many bytes. */
  readonly expectedSize?: number;
  /** When set, refuse (ArtifactSha256MismatchError) unless the content hashes to it. */
  readonly expectedSha256?: string;
  /** Aborts the write; nothing is stored and put rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Checks the complete content before it becomes visible (e.g. opens it as a model), given a
   * local file holding it; a rejection is put's rejection and nothing is stored. Runs also when the
   * same bytes are already stored, which then stay as they were.
   */
  readonly verify?: (file: string, artifact: ArtifactStat) => Promise<void>;
}

export interface PutResult extends ArtifactStat {
  /** False when the content was already stored (put is idempotent). */
  readonly created: boolean;
}

/**
 * A content-addressed blob store: artifacts are named by the sha256 of their bytes, written once,
 * never modified. A failed or partial put is never visible under any name. Implementations: the
 * local filesystem (`createArtifactStore`); an S3-compatible one would upload to a temporary key,
 * then copy to `sha256/<hex>` and serve `pathOf` from a local cache.
 */
export interface ArtifactStore {
  /** Streams `source` into the store while hashing it; resolves once the bytes are durable. */
  put(source: AsyncIterable<Uint8Array> | Readable, options: PutOptions): Promise<PutResult>;
  has(sha256: string): Promise<boolean>;
  /** Undefined when the artifact is not stored. */
  stat(sha256: string): Promise<ArtifactStat | undefined>;
  /** The bytes; the stream fails with ArtifactNotFoundError when the artifact is not stored. */
  open(sha256: string): Readable;
  /**
   * A local file holding the artifact (onnxruntime loads models by path). Rejects with
   * ArtifactNotFoundError when it is not stored. Never write to it.
   */
  pathOf(sha256: string): Promise<string>;
  /** Removes the artifact; false when it was not stored. */
  delete(sha256: string): Promise<boolean>;
}
