import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  ArtifactNotFoundError,
  ArtifactSha256MismatchError,
  ArtifactSizeMismatchError,
  ArtifactTooLargeError,
} from './artifact.error.js';
import type { ArtifactStat, ArtifactStore, PutOptions, PutResult } from './artifact.store.js';
import { assertSha256 } from './sha256.js';

export interface LocalStoreOptions {
  /** Absolute (or cwd-relative) directory; created on first write. See resolveArtifactDir. */
  readonly dir: string;
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/**
 * The local filesystem store. Layout: `<dir>/sha256/<first two hex>/<full hex>` (read-only files)
 * and `<dir>/tmp/` for writes in progress, on the same filesystem so the final rename is atomic.
 */
export function createArtifactStore(options: LocalStoreOptions): ArtifactStore {
  return new LocalArtifactStore(path.resolve(options.dir));
}

class LocalArtifactStore implements ArtifactStore {
  private readonly tmpDir: string;

  constructor(private readonly dir: string) {
    this.tmpDir = path.join(dir, 'tmp');
  }

  private fileOf(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.dir, 'sha256', sha256.slice(0, 2), sha256);
  }

  async put(source: AsyncIterable<Uint8Array> | Readable, options: PutOptions): Promise<PutResult> {
    const { maxBytes, expectedSize, expectedSha256, signal, verify } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes: must be a non-negative integer, got ${maxBytes}`);
    if (expectedSha256 !== undefined) assertSha256(expectedSha256, 'expectedSha256');
    if (expectedSize !== undefined && expectedSize > maxBytes) throw new ArtifactTooLargeError(maxBytes);
    signal?.throwIfAborted();

    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    let fh: FileHandle | undefined = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    let committed = false;
    try {
      for await (const chunk of source) {
        signal?.throwIfAborted();
        if (!(chunk instanceof Uint8Array)) throw new TypeError('put: the source must yield Uint8Array chunks (no string encoding)');
        size += chunk.byteLength;
        if (size > maxBytes) throw new ArtifactTooLargeError(maxBytes);
        hash.update(chunk);
        // Awaiting each write is the backpressure: the source is not read faster than the disk takes it.
        let written = 0;
        while (written < chunk.byteLength) written += (await fh.write(chunk, written)).bytesWritten;
      }
      signal?.throwIfAborted();
      const sha256 = hash.digest('hex');
      if (expectedSize !== undefined && size !== expectedSize) throw new ArtifactSizeMismatchError(expectedSize, size);
      if (expectedSha256 !== undefined && sha256 !== expectedSha256) throw new ArtifactSha256MismatchError(expectedSha256, sha256);
      await fh.chmod(0o444);
      await fh.sync();
      await fh.close();
      fh = undefined;
      if (verify !== undefined) {
        await verify(tmp, { sha256, size });
        signal?.throwIfAborted();
      }

      const final = this.fileOf(sha256);
      if (await exists(final)) return { sha256, size, created: false };
      await mkdir(path.dirname(final), { recursive: true });
      // A concurrent put of the same bytes may rename first: same content, so either file is right.
      await rename(tmp, final);
      committed = true;
      await syncDir(path.dirname(final));
      return { sha256, size, created: true };
    } finally {
      await fh?.close().catch(() => undefined);
      if (!committed) await unlink(tmp).catch(() => undefined);
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async stat(sha256: string): Promise<ArtifactStat | undefined> {
    try {
      const st = await stat(this.fileOf(sha256));
      return { sha256, size: st.size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  open(sha256: string): Readable {
    return Readable.from(readChunks(this.fileOf(sha256), sha256), { objectMode: false });
  }

  async pathOf(sha256: string): Promise<string> {
    const file = this.fileOf(sha256);
    if (!(await exists(file))) throw new ArtifactNotFoundError(sha256);
    return file;
  }

  async delete(sha256: string): Promise<boolean> {
    try {
      await unlink(this.fileOf(sha256));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }
}

async function* readChunks(file: string, sha256: string): AsyncGenerator<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY);
  } catch (err) {
    // Name the artifact rather than the store's directory layout.
    throw isMissing(err) ? new ArtifactNotFoundError(sha256) : err;
  }
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false })) yield chunk as Buffer;
  } finally {
    await fh.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Makes the rename itself durable (the directory entry), not only the file's bytes. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
