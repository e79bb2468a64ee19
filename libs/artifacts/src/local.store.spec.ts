/* eslint-disable @typescript-eslint/require-await -- async generators stand in for network streams here */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactNotFoundError,
  ArtifactSha256MismatchError,
  ArtifactSizeMismatchError,
  ArtifactTooLargeError,
  InvalidSha256Error,
} from './artifact.error.js';
import type { ArtifactStore } from './artifact.store.js';
import { createArtifactStore } from './local.store.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Every file under dir, relative paths. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

let dir: string;
let store: ArtifactStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aio-artifacts-'));
  store = createArtifactStore({ dir });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('local artifact store', () => {
  it('stores content under its sha256 and reads it back by stream and by path', async () => {
    const content = bytes('hello, model');
    const put = await store.put(chunks(content.subarray(0, 5), content.subarray(5)), { maxBytes: 1024 });
    expect(put).toEqual({ sha256: sha(content), size: content.byteLength, created: true });
    expect(await files(dir)).toEqual([`sha256/${put.sha256.slice(0, 2)}/${put.sha256}`]);
    expect(await store.has(put.sha256)).toBe(true);
    expect(await store.stat(put.sha256)).toEqual({ sha256: put.sha256, size: content.byteLength });
    expect(await readAll(store.open(put.sha256))).toEqual(Buffer.from(content));
    expect(await readFile(await store.pathOf(put.sha256))).toEqual(Buffer.from(content));
  });

  it('accepts a Node Readable and an empty artifact', async () => {
    const content = Buffer.alloc(200_000, 7);
    expect((await store.put(Readable.from([content]), { maxBytes: content.length })).sha256).toBe(sha(content));
    expect(await store.put(chunks(), { maxBytes: 0 })).toMatchObject({ sha256: sha(new Uint8Array()), size: 0 });
  });

  it('is idempotent: the same bytes again are reported as already stored', async () => {
    const content = bytes('same');
    const first = await store.put(chunks(content), { maxBytes: 10 });
    const second = await store.put(chunks(content), { maxBytes: 10 });
    expect(second).toEqual({ ...first, created: false });
    expect(await files(dir)).toEqual([`sha256/${first.sha256.slice(0, 2)}/${first.sha256}`]);
  });

  it('takes concurrent puts of the same content, leaving one complete file', async () => {
    const content = Buffer.alloc(64 * 1024, 1);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.put(chunks(content.subarray(0, 1000), content.subarray(1000)), { maxBytes: content.length })));
    expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha(content)]));
    expect(results.some((r) => r.created)).toBe(true);
    expect(await files(dir)).toEqual([`sha256/${sha(content).slice(0, 2)}/${sha(content)}`]);
    expect(await readAll(store.open(sha(content)))).toEqual(content);
  });

  it('refuses beyond maxBytes without reading the rest and leaves nothing behind', async () => {
    let read = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        read += 1;
        yield new Uint8Array(100);
      }
    }
    await expect(store.put(endless(), { maxBytes: 250 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(read).toBe(3);
    await expect(store.put(chunks(new Uint8Array(10)), { maxBytes: 100, expectedSize: 101 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(await files(dir)).toEqual([]);
  });

  it('never makes a failed or partial write visible', async () => {
    const content = bytes('partial content');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield content;
      throw new Error('client went away');
    }
    await expect(store.put(failing(), { maxBytes: 100 })).rejects.toThrow('client went away');
    const aborted = new AbortController();
    async function* abortMidway(): AsyncGenerator<Uint8Array> {
      yield content;
      aborted.abort(new Error('cancelled'));
      yield content;
    }
    await expect(store.put(abortMidway(), { maxBytes: 100, signal: aborted.signal })).rejects.toThrow('cancelled');
    await expect(store.put(chunks(content), { maxBytes: 100, expectedSize: 3 })).rejects.toBeInstanceOf(ArtifactSizeMismatchError);
    await expect(store.put(chunks(content), { maxBytes: 100, expectedSha256: 'a'.repeat(64) })).rejects.toBeInstanceOf(ArtifactSha256MismatchError);
    expect(await files(dir)).toEqual([]);
    expect(await store.has(sha(content))).toBe(false);
  });

  it('keeps a put that matches the expected size and digest', async () => {
    const content = bytes('checked');
    const put = await store.put(chunks(content), { maxBytes: 100, expectedSize: content.byteLength, expectedSha256: sha(content) });
    expect(put.created).toBe(true);
  });

  it('makes content visible only once verify accepts the complete file', async () => {
    const good = bytes('a model');
    const seen: string[] = [];
    const put = await store.put(chunks(good), {
      maxBytes: 100,
      verify: async (file, artifact) => {
        seen.push((await readFile(file)).toString(), artifact.sha256);
        expect(await store.has(artifact.sha256)).toBe(false);
      },
    });
    expect(seen).toEqual(['a model', sha(good)]);
    expect(put.created).toBe(true);
    const bad = bytes('not a model');
    await expect(store.put(chunks(bad), { maxBytes: 100, verify: () => Promise.reject(new Error('does not load')) })).rejects.toThrow('does not load');
    expect(await store.has(sha(bad))).toBe(false);
    // Already stored bytes that fail someone's verification stay stored (another user may own them).
    await expect(store.put(chunks(good), { maxBytes: 100, verify: () => Promise.reject(new Error('no')) })).rejects.toThrow('no');
    expect(await store.has(put.sha256)).toBe(true);
    expect(await files(dir)).toEqual([`sha256/${put.sha256.slice(0, 2)}/${put.sha256}`]);
  });

  it('deletes, and reports missing artifacts', async () => {
    const put = await store.put(chunks(bytes('gone soon')), { maxBytes: 100 });
    expect(await store.delete(put.sha256)).toBe(true);
    expect(await store.delete(put.sha256)).toBe(false);
    expect(await store.has(put.sha256)).toBe(false);
    expect(await store.stat(put.sha256)).toBeUndefined();
    await expect(store.pathOf(put.sha256)).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(readAll(store.open(put.sha256))).rejects.toBeInstanceOf(ArtifactNotFoundError);
  });

  it('refuses anything but 64 lower-case hex characters as a name', async () => {
    for (const bad of ['', 'A'.repeat(64), 'a'.repeat(63), `../${'a'.repeat(61)}`, `${'a'.repeat(64)}\n`]) {
      await expect(store.has(bad)).rejects.toBeInstanceOf(InvalidSha256Error);
      await expect(store.delete(bad)).rejects.toBeInstanceOf(InvalidSha256Error);
      await expect(store.pathOf(bad)).rejects.toBeInstanceOf(InvalidSha256Error);
      expect(() => store.open(bad)).toThrow(InvalidSha256Error);
    }
    await expect(store.put(chunks(), { maxBytes: 1, expectedSha256: 'xyz' })).rejects.toThrow(/^expectedSha256: /);
  });
});
