import { GrpcError, invalidArgument, Status } from '@aio/grpc';
import { TensorSpecSchema, type TensorSpec } from '@aio/proto/aio/registry/v1/registry';
import { oipDatatypeOf } from '@aio/onnx';
import { create } from '@bufbuild/protobuf';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** One input or output as onnxruntime reports it (what the worker posts back). */
export interface OrtValue {
  name: string;
  isTensor: boolean;
  /** onnxruntime's tensor type, e.g. "float32"; empty for non-tensors. */
  type: string;
  /** Numbers, or a string for a symbolic dimension. */
  shape: (number | string)[];
}

export type OrtVerdict = { ok: true; inputs: OrtValue[]; outputs: OrtValue[] } | { ok: false; reason: string };

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

const fail = (reason: string) => invalidArgument('artifact', `not a loadable ONNX model: ${reason}`);

/**
 * The signature recorded for an artifact, in OIP terms; variable (symbolic or unknown) dimensions
 * become -1. An input the protocol cannot carry (a sequence or map, a 4-bit type) makes the model
 * unservable and is refused; such outputs (sklearn's ZipMap probabilities) are left out.
 */
export function signatureOf(verdict: OrtVerdict): Signature {
  if (!verdict.ok) throw fail(verdict.reason);
  const spec = (v: OrtValue) =>
    create(TensorSpecSchema, { name: v.name, datatype: oipDatatypeOf(v.type), shape: v.shape.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? BigInt(d) : -1n)) });
  const carried = (v: OrtValue): boolean => v.isTensor && oipDatatypeOf(v.type) !== undefined;
  for (const input of verdict.inputs) {
    if (!carried(input)) {
      throw invalidArgument('artifact', `input "${input.name}" is ${input.isTensor ? `a ${input.type} tensor` : 'not a tensor'}, which the Open Inference Protocol cannot carry`);
    }
  }
  return { inputs: verdict.inputs.map(spec), outputs: verdict.outputs.filter(carried).map(spec) };
}

// The worker beside this file: .js once built, .ts when tests run the sources (Node strips the types).
const WORKER = new URL(`./onnx-signature.worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** At most `concurrency` models load at once (each in its own worker thread); up to `maxWaiting` more wait in order. */
export class OnnxVerifier {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency = 2,
    private readonly timeoutMs = 120_000,
    private readonly maxWaiting = 32,
  ) {}

  /** Opens the model at `path` off the event loop; INVALID_ARGUMENT "artifact: ..." when it does not load. */
  async signature(path: string): Promise<Signature> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) throw new GrpcError(Status.RESOURCE_EXHAUSTED, `${this.waiting.length} artifacts are waiting for verification; retry later`);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running += 1;
    try {
      const verdict = await this.load(path);
      // onnxruntime names the file it read: a temporary path of the server, not the caller's business.
      return signatureOf(verdict.ok ? verdict : { ok: false, reason: verdict.reason.replaceAll(path, 'the upload') });
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }

  private load(path: string): Promise<OrtVerdict> {
    return new Promise<OrtVerdict>((resolve, reject) => {
      // No inherited execArgv: the parent's flags (loaders, --input-type) are not for this plain script.
      const worker = new Worker(WORKER, { workerData: { path }, execArgv: [] });
      let settled = false;
      const settle = (verdict: OrtVerdict): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(verdict);
        void worker.terminate();
      };
      const timer = setTimeout(() => settle({ ok: false, reason: `loading took longer than ${this.timeoutMs / 1000} s` }), this.timeoutMs);
      worker.once('message', (verdict: OrtVerdict) => settle(verdict));
      worker.once('error', (err: unknown) => {
        // The worker itself failed (its module did not load): a fault of ours, not of the upload.
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
      worker.once('exit', (code) => settle({ ok: false, reason: `the verifier exited with code ${code}` }));
    });
  }
}
