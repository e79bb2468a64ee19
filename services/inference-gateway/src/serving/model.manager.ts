import { stat } from 'node:fs/promises';
import { GrpcError, Status } from '@aio/grpc';
import type { Logger } from '@aio/telemetry';
import { resolveBatching, type BatchDefaults, type BatchingRequest, type ResolvedBatching } from './batch.policy.js';
import { VersionStats } from './model.stats.js';
import { datatypeOfOrt, type Signature, type TensorSpec } from './tensor.codec.js';
import { chooseRoute, type Route } from './traffic.split.js';
import type { LoadedSignature, RunOptions, RunResult, WorkerPool } from './worker.pool.js';
import type { WireMeta, WireTensor } from './worker.messages.js';

/** Triton's model states, as RepositoryIndex reports them. */
export type VersionState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface ServedVersion {
  readonly model: string;
  readonly version: number;
  /** Pool key: unique per load, so a reload never meets the sessions of an earlier one. */
  readonly key: string;
  readonly path: string;
  state: VersionState;
  reason: string;
  signature: Signature | undefined;
  /** What the worker pool loaded: the raw signature, symbolic dimensions included. */
  loaded: LoadedSignature | undefined;
  /** How its requests are batched and queued (set once it is READY). */
  batching: ResolvedBatching | undefined;
  inFlight: number;
  readonly stats: VersionStats;
  onDrained: (() => void) | undefined;
  /** Estimated memory of its sessions: (artifact size + SESSION_OVERHEAD_BYTES) x workers (each worker holds its own). */
  bytes: number;
  /** When a request last used it, on the manager's use counter (an order; milliseconds would tie): the least recently used idle version is unloaded first. */
  lastUsed: number;
  /** Unloaded to stay within the memory budget; the next request for it loads it again. */
  evicted: boolean;
  /** The load a request started for an evicted version; requests arriving meanwhile wait for it. */
  reviving: Promise<ServedVersion> | undefined;
}

export interface ModelManagerOptions {
  readonly batch: BatchDefaults;
  /** What the loaded versions' sessions may take together (estimated); least recently used idle ones are unloaded. */
  readonly memoryBudgetBytes: number;
}

const MIB = 1024 * 1024;
/**
 * What one onnxruntime session costs beyond its weights (graph, kernels, allocator state), per worker:
 * ~0.16 MiB measured for 3 KiB models by the multi-model benchmark (e2e/bench/multi-model/pool-memory.ts).
 * Without it, many small models would look free to the memory budget.
 */
export const SESSION_OVERHEAD_BYTES = 160 * 1024;

/** What one version needs to be served: its artifact file and, when the registry declared it, its signature. */
export interface VersionArtifact {
  readonly path: string;
  readonly declared?: { inputs: readonly { name: string; datatype: string }[]; outputs: readonly { name: string; datatype: string }[] };
}

/** The serving state a deployment asks for, resolved to versions and files. */
export interface ServingPlan {
  readonly generation: number;
  /** Where requests go: at least one route of positive weight. */
  readonly routes: readonly Route[];
  /** Versions that get a copy of each request (answer logged, never returned). */
  readonly shadows: readonly number[];
  readonly artifacts: ReadonlyMap<number, VersionArtifact>;
  /** The deployment's batching settings; undefined = the gateway's defaults. */
  readonly batching?: BatchingRequest | undefined;
}

interface ServedModel {
  readonly name: string;
  routes: readonly Route[];
  shadows: readonly number[];
  generation: number;
  readonly versions: Map<number, ServedVersion>;
  /** Serialises the lifecycle operations of one model. */
  chain: Promise<void>;
  /** Why the model serves nothing, when it does not (failed resolution, unloaded on request). */
  reason: string;
}

/** A request's claim on a version: the version cannot be unloaded until every lease is released. */
export interface Lease {
  readonly version: ServedVersion;
  readonly route: 'primary' | 'canary';
  release(): void;
}

/**
 * The loaded model versions and where each model's traffic goes. A new plan loads (and warms) the
 * versions it needs before traffic moves to them; the versions it no longer needs leave the routes
 * first, then are unloaded once their in-flight requests finish. So a request either runs on the old
 * version or on the new one, and none fails during a swap.
 */
export class ModelManager {
  private readonly models = new Map<string, ServedModel>();
  /** Orders uses for the least-recently-used choice. */
  private useClock = 0;
  private loadSeq = 0;
  private closing = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly random: () => number,
    private readonly logger: Logger,
    private readonly options: ModelManagerOptions,
  ) {}

  /** Loads what the plan needs, moves the traffic, then drains and unloads what it no longer needs. */
  apply(name: string, plan: ServingPlan): Promise<void> {
    const model = this.model(name);
    return this.serialise(model, () => this.applyNow(model, plan));
  }

  /** Takes the model out of service: no new requests, in-flight ones finish, then its sessions close. */
  unload(name: string, reason: string): Promise<void> {
    const model = this.model(name);
    return this.serialise(model, async () => {
      model.routes = [];
      model.shadows = [];
      model.reason = reason;
      await Promise.all([...model.versions.values()].map((v) => this.retire(model, v)));
    });
  }

  /** Records why a model could not be brought to its deployment (shown by RepositoryIndex and NOT_FOUND). */
  setProblem(name: string, reason: string): void {
    this.model(name).reason = reason;
  }

  /**
   * Picks the version that serves this request (the asked one, else by the traffic weights) and leases
   * it; a version unloaded for the memory budget is loaded again first (the request waits for it).
   * Synchronous (no promise) when the version is loaded, which is the hot path; throws GrpcError.
   */
  acquire(name: string, version: string): Lease | Promise<Lease> {
    const model = this.models.get(name);
    let v: ServedVersion | undefined;
    let route: 'primary' | 'canary';
    if (version !== '') {
      v = model?.versions.get(Number(version));
      if (v === undefined || !servable(v) || !/^[1-9]\d*$/.test(version)) {
        const loaded = model === undefined ? [] : this.readyVersions(model).map((r) => r.version);
        const why = v === undefined ? `loaded versions: ${loaded.join(', ') || 'none'}` : `it is ${v.state}${v.reason === '' ? '' : ` (${v.reason})`}`;
        throw new GrpcError(Status.NOT_FOUND, `model ${name} version ${version} is not loaded: ${why}`);
      }
      route = model?.routes.find((r) => r.version === v?.version)?.canary === true ? 'canary' : 'primary';
    } else {
      if (model === undefined || model.routes.length === 0) throw new GrpcError(Status.NOT_FOUND, `model ${name} is not loaded: ${this.whyNotServing(name)}`);
      const chosen = chooseRoute(model.routes, this.random);
      v = model.versions.get(chosen.version);
      if (v === undefined || !servable(v)) throw new GrpcError(Status.UNAVAILABLE, `model ${name} version ${chosen.version} is not ready; retry`);
      route = chosen.canary ? 'canary' : 'primary';
    }
    if (v.evicted && model !== undefined) return this.revive(model, v).then((revived) => this.lease(revived, route));
    return this.lease(v, route);
  }

  /** A lease on each READY shadow version of the model (for the copies of a request). */
  acquireShadows(name: string): Lease[] {
    const model = this.models.get(name);
    if (model === undefined) return [];
    return model.shadows.flatMap((s) => {
      const v = model.versions.get(s);
      return v?.state === 'READY' && !model.routes.some((r) => r.version === s) ? [this.lease(v, 'primary')] : [];
    });
  }

  run(lease: Lease, feeds: WireTensor[], outputs: string[], options?: RunOptions): Promise<RunResult> {
    return this.pool.run(lease.version.key, feeds, outputs, options);
  }

  /** Requests queued or running on a version (for tests and metrics). */
  depth(v: ServedVersion): number {
    return this.pool.depth(v.key);
  }

  /**
   * The version that answers metadata questions (READY, or unloaded for the memory budget: its
   * signature is known): the asked one, else the heaviest route.
   */
  find(name: string, version: string): ServedVersion {
    const model = this.models.get(name);
    if (version !== '') {
      const v = model?.versions.get(Number(version));
      if (v === undefined || !servable(v) || !/^[1-9]\d*$/.test(version)) throw new GrpcError(Status.NOT_FOUND, `model ${name} version ${version} is not loaded`);
      return v;
    }
    const primary = model?.routes.reduce<Route | undefined>((best, r) => (best === undefined || r.weight > best.weight ? r : best), undefined);
    const v = primary === undefined ? undefined : model?.versions.get(primary.version);
    if (v === undefined || !servable(v)) throw new GrpcError(Status.NOT_FOUND, `model ${name} is not loaded: ${this.whyNotServing(name)}`);
    return v;
  }

  /** Estimated bytes of every loaded (or loading) version's sessions but `except`'s, and the budget. */
  memory(except?: ServedVersion): { usedBytes: number; budgetBytes: number } {
    let usedBytes = 0;
    for (const m of this.models.values()) {
      for (const v of m.versions.values()) if (v !== except && (v.state === 'READY' || v.state === 'LOADING' || v.state === 'UNLOADING')) usedBytes += v.bytes;
    }
    return { usedBytes, budgetBytes: this.options.memoryBudgetBytes };
  }

  isReady(name: string, version: string): boolean {
    try {
      this.find(name, version);
      return true;
    } catch {
      return false;
    }
  }

  /** Every version this gateway knows of, with its state, by model then version. */
  versions(name?: string): ServedVersion[] {
    const models = name === undefined ? [...this.models.values()] : [this.models.get(name)].filter((m) => m !== undefined);
    return models.flatMap((m) => [...m.versions.values()].sort((a, b) => a.version - b.version));
  }

  readyVersions(model: { versions: Map<number, ServedVersion> }): ServedVersion[] {
    return [...model.versions.values()].filter((v) => v.state === 'READY').sort((a, b) => a.version - b.version);
  }

  /** The versions a model serves, in the order of its routes. */
  servingVersions(name: string): number[] {
    return this.models.get(name)?.routes.map((r) => r.version) ?? [];
  }

  whyNotServing(name: string): string {
    const model = this.models.get(name);
    if (model === undefined) return 'nothing is loaded for it';
    const loading = [...model.versions.values()].filter((v) => v.state === 'LOADING').map((v) => v.version);
    if (loading.length > 0) return `version ${loading.join(', ')} is loading`;
    return model.reason === '' ? 'nothing is loaded for it' : model.reason;
  }

  start(): void {
    this.pool.start();
  }

  /** Stops taking requests, waits for in-flight ones, terminates the workers. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.models.values()].map((m) => m.chain));
    await this.pool.close();
  }

  private model(name: string): ServedModel {
    let model = this.models.get(name);
    if (model === undefined) {
      model = { name, routes: [], shadows: [], generation: 0, versions: new Map(), chain: Promise.resolve(), reason: '' };
      this.models.set(name, model);
    }
    return model;
  }

  private serialise(model: ServedModel, op: () => Promise<void>): Promise<void> {
    const next = model.chain.then(() => {
      if (this.closing) throw new GrpcError(Status.UNAVAILABLE, 'the gateway is shutting down');
      return op();
    });
    model.chain = next.catch(() => undefined);
    return next;
  }

  private async applyNow(model: ServedModel, plan: ServingPlan): Promise<void> {
    const wanted = [...new Set([...plan.routes.map((r) => r.version), ...plan.shadows])];
    const failures: string[] = [];
    const fresh: ServedVersion[] = [];
    await Promise.all(
      wanted.map(async (version) => {
        const artifact = plan.artifacts.get(version);
        if (artifact === undefined) {
          failures.push(`version ${version}: no artifact resolved`);
          return;
        }
        const current = model.versions.get(version);
        if (current !== undefined && current.path === artifact.path && (current.state === 'READY' || current.state === 'LOADING' || current.evicted)) return;
        const v: ServedVersion = {
          model: model.name,
          version,
          key: `${model.name}@${version}#${++this.loadSeq}`,
          path: artifact.path,
          state: 'LOADING',
          reason: '',
          signature: undefined,
          loaded: undefined,
          batching: undefined,
          inFlight: 0,
          stats: current?.stats ?? new VersionStats(),
          onDrained: undefined,
          bytes: 0,
          lastUsed: this.useClock++,
          evicted: false,
          reviving: undefined,
        };
        // An UNAVAILABLE or UNLOADING entry is replaced; a READY one of another file keeps serving until the switch.
        const previous = current?.state === 'READY' ? current : undefined;
        if (previous === undefined) model.versions.set(version, v);
        let opened = false;
        try {
          await this.makeRoom(v);
          const loaded = await this.pool.load(v.key, v.path);
          opened = true;
          v.signature = signatureOf(loaded, artifact, `model ${model.name} version ${version}`);
          v.loaded = loaded;
          this.applyBatching(v, plan.batching);
          v.state = 'READY';
          fresh.push(v);
          if (previous !== undefined) {
            model.versions.set(version, v);
            void this.retire(model, previous, false);
          }
        } catch (err) {
          if (opened) await this.pool.unload(v.key);
          v.state = 'UNAVAILABLE';
          v.reason = `load failed: ${err instanceof Error ? err.message : String(err)}`;
          if (previous === undefined) model.versions.set(version, v);
          failures.push(`version ${version}: ${v.reason}`);
        }
      }),
    );
    if (failures.length > 0) {
      // The traffic stays where it was; versions loaded for this plan but not serving are closed again.
      for (const v of fresh) if (!model.routes.some((r) => r.version === v.version) && !model.shadows.includes(v.version)) void this.retire(model, v);
      model.reason = `deployment generation ${plan.generation} cannot be served: ${failures.join('; ')}`;
      throw new GrpcError(Status.UNAVAILABLE, `model ${model.name}: ${model.reason}`);
    }
    // Versions that stay loaded take the plan's batching too (a deployment may change only that).
    for (const version of wanted) {
      const v = model.versions.get(version);
      if (v !== undefined && servable(v) && !fresh.includes(v)) this.applyBatching(v, plan.batching);
    }
    model.routes = plan.routes;
    model.shadows = plan.shadows;
    model.generation = plan.generation;
    model.reason = '';
    this.logger.info(`model ${model.name} serves ${plan.routes.map((r) => `v${r.version}:${r.weight}`).join(' ')} (generation ${plan.generation})`, {
      'aio.model': model.name,
      'aio.generation': plan.generation,
    });
    await Promise.all([...model.versions.values()].filter((v) => !wanted.includes(v.version)).map((v) => this.retire(model, v)));
  }

  /** Resolves and sets a version's batching; `keep` re-applies the settings it had (a version loaded again). */
  private applyBatching(v: ServedVersion, requested: BatchingRequest | undefined, keep?: ResolvedBatching): void {
    if (v.loaded === undefined) return;
    const before = v.batching?.note;
    v.batching = keep ?? resolveBatching(v.loaded, requested, this.options.batch);
    if (!v.evicted) this.pool.setPolicy(v.key, v.batching.policy);
    if (v.batching.note !== before) {
      this.logger.info(`model ${v.model} version ${v.version}: ${v.batching.note}`, { 'aio.model': v.model, 'aio.version': v.version });
    }
  }

  /**
   * Makes room for `v` within the memory budget by unloading the least recently used idle versions
   * (of any model; they load again on their next request). A version larger than the whole budget is
   * refused; when every other version is busy, `v` loads over the budget and the log says so.
   */
  private async makeRoom(v: ServedVersion): Promise<void> {
    v.bytes = ((await stat(v.path)).size + SESSION_OVERHEAD_BYTES) * this.pool.size;
    const budget = this.options.memoryBudgetBytes;
    if (v.bytes > budget) {
      throw new Error(`its sessions need about ${Math.ceil(v.bytes / MIB)} MiB ((artifact + session overhead) x ${this.pool.size} workers), over the memory budget of ${Math.floor(budget / MIB)} MiB (AIO_MODEL_MEMORY_BUDGET_MB)`);
    }
    const idle = [...this.models.values()]
      .flatMap((m) => [...m.versions.values()].map((x) => ({ m, x })))
      .filter(({ x }) => x !== v && x.state === 'READY' && x.inFlight === 0)
      .sort((a, b) => a.x.lastUsed - b.x.lastUsed);
    const unloads: Promise<void>[] = [];
    let used = this.memory(v).usedBytes;
    while (used + v.bytes > budget) {
      const next = idle.shift();
      if (next === undefined) {
        this.logger.warn(`model ${v.model} version ${v.version} loads over the memory budget: every other loaded version is busy`, { 'aio.model': v.model, 'aio.version': v.version });
        break;
      }
      used -= next.x.bytes;
      unloads.push(this.evict(next.x));
    }
    await Promise.all(unloads);
  }

  /** Unloads an idle READY version for the memory budget; it stays servable and loads again on demand. */
  private async evict(v: ServedVersion): Promise<void> {
    v.state = 'UNAVAILABLE';
    v.evicted = true;
    v.reason = 'unloaded to stay within the memory budget (least recently used); the next request loads it again';
    this.logger.info(`model ${v.model} version ${v.version} unloaded for the memory budget (least recently used)`, { 'aio.model': v.model, 'aio.version': v.version });
    await this.pool.unload(v.key);
  }

  /** Loads an evicted version again for a request; concurrent requests share the load. */
  private revive(model: ServedModel, v: ServedVersion): Promise<ServedVersion> {
    if (v.reviving !== undefined) return v.reviving;
    const started = process.hrtime.bigint();
    const reviving = new Promise<ServedVersion>((resolve, reject) => {
      this.serialise(model, async () => {
        if (model.versions.get(v.version) !== v || !v.evicted) throw new GrpcError(Status.UNAVAILABLE, `model ${model.name} version ${v.version} changed while it was loading; retry`);
        const fresh: ServedVersion = { ...v, key: `${model.name}@${v.version}#${++this.loadSeq}`, state: 'LOADING', reason: '', evicted: false, reviving: undefined, inFlight: 0, onDrained: undefined };
        model.versions.set(v.version, fresh);
        try {
          await this.makeRoom(fresh);
          fresh.loaded = await this.pool.load(fresh.key, fresh.path);
        } catch (err) {
          // Still servable on demand: the next request tries again.
          model.versions.set(v.version, v);
          v.reason = `loading it again failed: ${err instanceof Error ? err.message : String(err)}`;
          throw new GrpcError(Status.UNAVAILABLE, `model ${model.name} version ${v.version} could not be loaded again: ${v.reason}`);
        }
        this.applyBatching(fresh, undefined, fresh.batching);
        fresh.state = 'READY';
        this.logger.info(`model ${model.name} version ${v.version} loaded again on demand in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`, {
          'aio.model': model.name,
          'aio.version': v.version,
        });
        resolve(fresh);
      }).catch(reject);
    }).finally(() => {
      v.reviving = undefined;
    });
    v.reviving = reviving;
    return reviving;
  }

  /** Waits for the version's leases to be released, then closes its sessions and forgets it. */
  private async retire(model: ServedModel, v: ServedVersion, forget = true): Promise<void> {
    if (v.state === 'READY') {
      v.state = 'UNLOADING';
      if (v.inFlight > 0) await new Promise<void>((resolve) => (v.onDrained = resolve));
      await this.pool.unload(v.key);
      this.logger.info(`model ${model.name} version ${v.version} unloaded`, { 'aio.model': model.name, 'aio.version': v.version });
    }
    if (forget && model.versions.get(v.version) === v) model.versions.delete(v.version);
  }

  private lease(v: ServedVersion, route: 'primary' | 'canary'): Lease {
    v.inFlight++;
    v.lastUsed = this.useClock++;
    let released = false;
    return {
      version: v,
      route,
      release: () => {
        if (released) return;
        released = true;
        v.inFlight--;
        if (v.inFlight === 0 && v.onDrained !== undefined) {
          const done = v.onDrained;
          v.onDrained = undefined;
          done();
        }
      },
    };
  }
}

/** READY, or unloaded for the memory budget (served again on the next request). */
function servable(v: ServedVersion): boolean {
  return v.state === 'READY' || v.evicted;
}

/** The model's signature from its session, in OIP terms; refuses types the gateway cannot serve and disagreements with the registry. */
export function signatureOf(loaded: LoadedSignature, artifact: VersionArtifact, what: string): Signature {
  const convert = (kind: 'input' | 'output', metas: WireMeta[]): TensorSpec[] =>
    metas.map((m) => {
      const datatype = m.isTensor ? datatypeOfOrt(m.type) : undefined;
      if (datatype === undefined) throw new Error(`${kind} "${m.name}" has type ${m.type}, which the gateway does not serve`);
      return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
    });
  const signature = { inputs: convert('input', loaded.inputs), outputs: convert('output', loaded.outputs) };
  const declared = artifact.declared;
  if (declared !== undefined) {
    for (const kind of ['inputs', 'outputs'] as const) {
      for (const d of declared[kind]) {
        const actual = signature[kind].find((s) => s.name === d.name);
        if (actual === undefined) throw new Error(`${what} declares ${kind.slice(0, -1)} "${d.name}" but the artifact has ${signature[kind].map((s) => s.name).join(', ')}`);
        if (d.datatype !== '' && d.datatype !== actual.datatype) {
          throw new Error(`${what} declares ${kind.slice(0, -1)} "${d.name}" as ${d.datatype} but the artifact has ${actual.datatype}`);
        }
      }
    }
  }
  return signature;
}
