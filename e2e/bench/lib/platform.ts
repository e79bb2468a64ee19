// The running mesh as the benchmarks use it: a token, the registry (register and deploy a model with
// batching set) and the gateway (readiness, unload, its process for RSS). Models go through the real
// path — UploadArtifact, CreateModelVersion, SetDeployment, the gateway's Kafka consumer — never a
// shortcut, so cold-load figures are what a user would see.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mintToken } from '@aio/auth';
import { createGrpcClient, GrpcError, Status, type GrpcClient } from '@aio/grpc';
import {
  RegistryService,
  UploadArtifactRequestSchema,
  type BatchingConfig,
  type BatchingConfigSchema,
  type UploadArtifactRequest,
} from '@aio/proto/aio/registry/v1/registry';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { BenchModel } from './models.ts';
import { ROOT } from './result.ts';

export const GATEWAY_GRPC = '127.0.0.1:8001';
export const GATEWAY_HTTP = 'http://127.0.0.1:8000';
export const REGISTRY_GRPC = '127.0.0.1:50051';
const REGISTRY_HTTP = 'http://127.0.0.1:8101';
const GATEWAY_PID_FILE = path.join(ROOT, '.infra', 'run', 'inference-gateway.pid');

/**
 * What every benchmark deploys with: the gateway's dynamic batching (rows of concurrent requests run as
 * one batch of up to 64, waiting at most 200 µs for more), the per-version queue at its default.
 */
export const BENCH_BATCHING: MessageInitShape<typeof BatchingConfigSchema> = {
  maxBatchSize: 64,
  maxQueueDelayMicros: 200,
  preferredBatchSizes: [],
  maxQueueSize: 0,
};

export function describeBatching(b: Partial<BatchingConfig> = BENCH_BATCHING): string {
  return `max_batch_size ${b.maxBatchSize}, max_queue_delay_micros ${b.maxQueueDelayMicros}, max_queue_size ${b.maxQueueSize || 'default'}`;
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}

export class Platform {
  readonly token: string;
  readonly registry: GrpcClient<typeof RegistryService>;
  readonly gateway: GrpcClient<typeof GRPCInferenceService>;

  private constructor(token: string) {
    this.token = token;
    this.registry = createGrpcClient(RegistryService, REGISTRY_GRPC, { token: () => token, timeoutMs: 120_000 });
    this.gateway = createGrpcClient(GRPCInferenceService, GATEWAY_GRPC, { token: () => token, timeoutMs: 30_000 });
  }

  /** Connects to the running mesh; fails naming what is not ready (start it with `npm run bench`). */
  static async connect(): Promise<Platform> {
    const missing = [];
    if (!(await ready(REGISTRY_HTTP))) missing.push('registry (8101)');
    if (!(await ready(GATEWAY_HTTP))) missing.push('inference-gateway (8000)');
    if (missing.length > 0) {
      throw new Error(`not ready: ${missing.join(', ')}; start the mesh (\`node deploy/local/mesh.mjs up\`) or run \`npm run bench\``);
    }
    const secret = readFileSync(path.join(ROOT, '.infra', 'auth-secret'), 'utf8').trim();
    // Long enough for a full soak and every other benchmark after it.
    const token = await mintToken({ secret, subject: 'bench', roles: ['admin'], issuer: 'aio-local', audience: 'aio', ttlSeconds: 6 * 3600 });
    return new Platform(token);
  }

  get authMetadata(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** Uploads the artifact, creates the model and (unless one with this artifact exists) a version. */
  async register(model: BenchModel): Promise<number> {
    const bytes = model.bytes;
    const chunk = 1024 * 1024;
    async function* parts(): AsyncIterable<UploadArtifactRequest> {
      yield create(UploadArtifactRequestSchema, { part: { case: 'header', value: { filename: path.basename(model.file), format: 'onnx', expectedSize: BigInt(bytes.length) } } });
      for (let at = 0; at < bytes.length; at += chunk) {
        yield await Promise.resolve(create(UploadArtifactRequestSchema, { part: { case: 'chunk', value: bytes.subarray(at, at + chunk) } }));
      }
    }
    const { artifact } = await this.registry.uploadArtifact(parts());
    if (artifact === undefined) throw new Error('UploadArtifact answered without an artifact');
    try {
      await this.registry.createModel({ name: model.name, description: 'benchmark model (e2e/bench)' });
    } catch (err) {
      if (!(err instanceof GrpcError && err.code === Status.ALREADY_EXISTS)) throw err;
    }
    // Re-runs reuse the version of the same artifact instead of adding one per run.
    const { versions } = await this.registry.listModelVersions({ model: model.name, pageSize: 1000 });
    const existing = versions.find((v) => v.artifactSha256 === artifact.sha256);
    if (existing !== undefined) return existing.version;
    const { version } = await this.registry.createModelVersion({ model: model.name, artifactSha256: artifact.sha256, framework: 'onnx', description: 'benchmark model' });
    if (version === undefined) throw new Error('CreateModelVersion answered without a version');
    return version.version;
  }

  /** Registers `model` and deploys it (see deploy); resolves to its version. */
  async publish(model: BenchModel, batching: MessageInitShape<typeof BatchingConfigSchema> = BENCH_BATCHING): Promise<number> {
    const version = await this.register(model);
    await this.deploy(model.name, version, undefined, batching);
    return version;
  }

  /**
   * Pins `version` with the benchmark batching, or `batching` (a new deployment generation, which also
   * reloads a model unloaded through the repository API) and waits for ModelReady and for the gateway's
   * ModelConfig to show the deployment's queue size; resolves to the ms it took.
   */
  async deploy(model: string, version: number, timeoutMs = 180_000, batching: MessageInitShape<typeof BatchingConfigSchema> = BENCH_BATCHING): Promise<number> {
    let generation = 0;
    try {
      generation = (await this.registry.getDeployment({ model })).deployment?.generation ?? 0;
    } catch (err) {
      if (!(err instanceof GrpcError && err.code === Status.NOT_FOUND)) throw err;
    }
    const t0 = performance.now();
    await this.registry.setDeployment({ deployment: { model, target: { case: 'version', value: version }, batching }, expectedGeneration: generation });
    await this.waitReady(model, version, true, timeoutMs);
    const ms = performance.now() - t0;
    if (batching.maxQueueSize) await this.waitQueueSize(model, version, batching.maxQueueSize, timeoutMs);
    return ms;
  }

  /** A version already loaded takes a new deployment's batching without a reload: wait until it shows. */
  private async waitQueueSize(model: string, version: number, size: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { config } = await this.gateway.modelConfig({ name: model, version: String(version) });
      const scheduling = config?.schedulingChoice;
      if (scheduling?.case === 'dynamicBatching' && scheduling.value.defaultQueuePolicy?.maxQueueSize === size) return;
      if (Date.now() > deadline) throw new Error(`${model} v${version} did not take max_queue_size ${size} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async isReady(model: string, version: number): Promise<boolean> {
    try {
      return (await this.gateway.modelReady({ name: model, version: String(version) })).ready;
    } catch (err) {
      if (err instanceof GrpcError && err.code === Status.NOT_FOUND) return false;
      throw err;
    }
  }

  async waitReady(model: string, version: number, want: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Polled every 10 ms: the cold-load figure is only as fine as this.
    while ((await this.isReady(model, version)) !== want) {
      if (Date.now() > deadline) throw new Error(`${model} v${version} did not become ${want ? 'ready' : 'unloaded'} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** RepositoryModelUnload; the model stays unloaded until its next deployment generation. */
  async unload(model: string, version: number): Promise<void> {
    await this.gateway.repositoryModelUnload({ modelName: model });
    await this.waitReady(model, version, false, 60_000);
  }

  close(): void {
    this.registry.close();
    this.gateway.close();
  }
}

/** The gateway's pid, from the mesh's pid file. */
export function gatewayPid(): number {
  const pid = Number(readFileSync(GATEWAY_PID_FILE, 'utf8').trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no gateway pid in ${GATEWAY_PID_FILE}`);
  return pid;
}

