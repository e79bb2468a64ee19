import type { ArtifactStore } from '@aio/artifacts';
import type { OnnxVerifier } from './onnx.signature.js';

/** What the artifact providers need from config, provided as one value (see registry.app.ts). */
export class ArtifactStorage {
  constructor(
    readonly store: ArtifactStore,
    /** AIO_ARTIFACT_MAX_BYTES */
    readonly maxBytes: number,
    readonly verifier: OnnxVerifier,
  ) {}
}
