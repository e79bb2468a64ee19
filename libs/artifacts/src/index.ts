export {
  ArtifactError,
  ArtifactNotFoundError,
  ArtifactSha256MismatchError,
  ArtifactSizeMismatchError,
  ArtifactTooLargeError,
  InvalidSha256Error,
} from './artifact.error.js';
export type { ArtifactStat, ArtifactStore, PutOptions, PutResult } from './artifact.store.js';
export { resolveArtifactDir } from './artifact-dir.js';
export { createArtifactStore, type LocalStoreOptions } from './local.store.js';
export { assertSha256, isSha256, SHA256_PATTERN } from './sha256.js';
