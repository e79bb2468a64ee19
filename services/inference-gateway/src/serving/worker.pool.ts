import { Worker } from 'node:worker_threads';
import { GrpcError, Status } from '@aio/grpc';
import type { Logger } from '@aio/telemetry';
import type { FromWorker, ToWorker, WireMeta, WireTensor } from './worker.messages.js';

// Under vitest the sources run as TypeScript (Node strips the worker's types); built, dist/ has .js.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './onnx.worker.ts' : './onnx.worker.js', import.meta.url);

export interface WorkerPoolOptions {
  size: number;
  /** Requests waiting per model version; beyond it run() rejects with RESOURCE_EXHAUSTED. */
  queueLimit: number;
  /** Deadline of one run from enqueue to answer; a worker still running it then is replaced. */
  timeoutMs: number;
  logger: Logger;
  workerUrl?: URL;
}

export interface RunResult {
  outputs: WireTensor[];
  queueNs: number;
  computeNs: number;
}

export interface LoadedSignature {
  inputs: WireMeta[];
  outputs: WireMeta[];
}

interface Job {
  key: string;
  feeds: WireTensor[];
  outputs: string[];
  enqueued: bigint;
  dispatched?: bigint;
  timer: NodeJS.Timeout;
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

interface Call {
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
}

interface Slot {
  readonly n: number;
  readonly worker: Worker;
  /** Model keys whose session is open (and warm) in this worker. */
  readonly keys: Set<string>;
  readonly calls: Map<number, Call>;
  running: { id: number; job: Job } | undefined;
  lastError: Error | undefined;
  /** Set once the pool terminated it on purpose (close, a stuck run). */
  retired: boolean;
}

/** Retry hint for RESOURCE_EXHAUSTED: grpc-js clients with retries honour grpc-retry-pushback-ms. */
const PUSHBACK_MS = '100';

/**
 * Worker threads that hold onnxruntime sessions, fed from one bounded queue per model version.
 * A worker runs one request at a time; an idle worker takes the next request round-robin across the
 * versions it has loaded. A worker that dies is replaced (its sessions reopened) and its in-flight
 * request fails with UNAVAILABLE; nothing waits for a dead worker.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  /** key -> artifact path of every version loaded (or loading): what a replacement worker reopens. */
  private readonly models = new Map<string, string>();
  private readonly queues = new Map<string, Job[]>();
  private nextId = 1;
  private nextSlot = 0;
  private rrOffset = 0;
  private closing = false;
  private crashes = 0;
  private readonly respawns = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkerPoolOptions) {}

  get size(): number {
    return this.options.size;
  }

  start(): void {
    for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawn());
  }

  /** Requests queued or running for a key. */
  depth(key: string): number {
    return (this.queues.get(key)?.length ?? 0) + this.slots.filter((s) => s.running?.job.key === key).length;
  }

  /**
   * Opens a session for `key` in every worker (each warms it with one run of zeros) and answers the
   * model's signature. On any failure the version is unloaded everywhere and the error rethrown.
   */
  async load(key: string, path: string): Promise<LoadedSignature> {
    if (this.closing) throw new GrpcError(Status.UNAVAILABLE, 'the gateway is shutting down');
    this.models.set(key, path);
    try {
      const replies = await Promise.all(this.slots.map((slot) => this.loadInto(slot, key, path)));
      const first = replies[0];
      if (first === undefined || first.kind !== 'loaded') throw new Error('no worker loaded the model');
      return { inputs: first.inputs, outputs: first.outputs };
    } catch (err) {
      await this.unload(key);
      throw err;
    }
  }

  /** Closes the sessions of `key` in every worker; anything still queued for it fails with UNAVAILABLE. */
  async unload(key: string): Promise<void> {
    this.models.delete(key);
    const queued = this.queues.get(key) ?? [];
    this.queues.delete(key);
    for (const job of queued) this.fail(job, new GrpcError(Status.UNAVAILABLE, `${key} was unloaded before its turn; retry`));
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.keys.delete(key);
        await this.call(slot, { kind: 'unload', id: this.nextId++, key }).catch(() => undefined);
      }),
    );
  }

  /** Queues one inference; the feeds' buffers are transferred to the worker. */
  run(key: string, feeds: WireTensor[], outputs: string[]): Promise<RunResult> {
    if (this.closing) return Promise.reject(new GrpcError(Status.UNAVAILABLE, 'the gateway is shutting down; retry on another instance'));
    if (!this.models.has(key)) return Promise.reject(new GrpcError(Status.UNAVAILABLE, `${key} is not loaded`));
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    if (queue.length >= this.options.queueLimit) {
      const full = new GrpcError(Status.RESOURCE_EXHAUSTED, `${key} has ${queue.length} requests waiting (AIO_INFER_QUEUE_LIMIT); retry after ${PUSHBACK_MS} ms with backoff`);
      full.metadata.set('grpc-retry-pushback-ms', PUSHBACK_MS);
      return Promise.reject(full);
    }
    const q = queue;
    return new Promise<RunResult>((resolve, reject) => {
      const job: Job = {
        key,
        feeds,
        outputs,
        enqueued: process.hrtime.bigint(),
        resolve,
        reject,
        timer: setTimeout(() => this.expire(job), this.options.timeoutMs),
      };
      q.push(job);
      this.pump();
    });
  }

  /** Stops taking requests, lets queued and running ones finish, then terminates every worker. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    while (this.busy()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((slot) => {
        slot.retired = true;
        return slot.worker.terminate();
      }),
    );
  }

  private busy(): boolean {
    // Jobs for keys no live worker holds can never run: they would keep close() waiting forever.
    const runnable = [...this.queues.entries()].some(([key, q]) => q.length > 0 && this.slots.some((s) => s.keys.has(key)));
    return runnable || this.slots.some((s) => s.running !== undefined);
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.workerUrl ?? WORKER_URL);
    const slot: Slot = { n: this.nextSlot++, worker, keys: new Set(), calls: new Map(), running: undefined, lastError: undefined, retired: false };
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err: Error) => {
      slot.lastError = err;
      this.options.logger.error(`inference worker ${slot.n} failed`, { 'worker.id': slot.n }, err);
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private async loadInto(slot: Slot, key: string, path: string): Promise<FromWorker> {
    const reply = await this.call(slot, { kind: 'load', id: this.nextId++, key, path });
    if (reply.kind === 'failed') throw new Error(reply.message);
    // Unloaded (or the pool closed) while this worker was still opening it.
    if (this.models.get(key) !== path || !this.slots.includes(slot)) return reply;
    slot.keys.add(key);
    this.pump();
    return reply;
  }

  private call(slot: Slot, msg: ToWorker): Promise<FromWorker> {
    return new Promise<FromWorker>((resolve, reject) => {
      slot.calls.set(msg.id, { resolve, reject });
      slot.worker.postMessage(msg);
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.running !== undefined || slot.retired) continue;
      const job = this.take(slot);
      if (job === undefined) continue;
      this.dispatch(slot, job);
    }
    if (!this.busy()) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** The next job this worker can run, round-robin over the versions it holds. */
  private take(slot: Slot): Job | undefined {
    const keys = [...this.queues.keys()];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(this.rrOffset + i) % keys.length] as string;
      const q = this.queues.get(key);
      if (q === undefined || q.length === 0 || !slot.keys.has(key)) continue;
      this.rrOffset = (this.rrOffset + i + 1) % Math.max(keys.length, 1);
      const job = q.shift();
      if (q.length === 0) this.queues.delete(key);
      return job;
    }
    return undefined;
  }

  private dispatch(slot: Slot, job: Job): void {
    const id = this.nextId++;
    job.dispatched = process.hrtime.bigint();
    slot.running = { id, job };
    const transfer = job.feeds.map((f) => f.data.buffer as ArrayBuffer);
    slot.calls.set(id, {
      resolve: (reply) => {
        slot.running = undefined;
        clearTimeout(job.timer);
        if (reply.kind === 'result') {
          this.crashes = 0;
          job.resolve({ outputs: reply.outputs, queueNs: Number((job.dispatched ?? job.enqueued) - job.enqueued), computeNs: reply.computeNs });
        } else if (reply.kind === 'failed') {
          job.reject(new GrpcError(Status.INVALID_ARGUMENT, `the model rejected the request: ${reply.message}`));
        } else {
          job.reject(new GrpcError(Status.INTERNAL, `unexpected worker reply ${reply.kind}`));
        }
        this.pump();
      },
      reject: (err) => {
        slot.running = undefined;
        clearTimeout(job.timer);
        job.reject(err);
      },
    });
    try {
      slot.worker.postMessage({ kind: 'run', id, key: job.key, feeds: job.feeds, outputs: job.outputs } satisfies ToWorker, transfer);
    } catch (err) {
      slot.calls.delete(id);
      slot.running = undefined;
      clearTimeout(job.timer);
      job.reject(new GrpcError(Status.INTERNAL, `cannot hand the request to a worker: ${err instanceof Error ? err.message : String(err)}`));
      this.pump();
    }
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    const call = slot.calls.get(msg.id);
    if (call === undefined) return; // answered already (timed out, or its worker was retired)
    slot.calls.delete(msg.id);
    call.resolve(msg);
  }

  private fail(job: Job, err: Error): void {
    clearTimeout(job.timer);
    job.reject(err);
  }

  private expire(job: Job): void {
    const q = this.queues.get(job.key);
    const at = q?.indexOf(job) ?? -1;
    const deadline = new GrpcError(Status.DEADLINE_EXCEEDED, `${job.key} did not answer within ${this.options.timeoutMs} ms (AIO_INFER_TIMEOUT_MS)`);
    if (q !== undefined && at >= 0) {
      q.splice(at, 1);
      job.reject(deadline);
      this.pump();
      return;
    }
    const slot = this.slots.find((s) => s.running?.job === job);
    if (slot === undefined) return;
    // The run is stuck inside onnxruntime: only terminating the thread frees it.
    this.options.logger.warn(`inference worker ${slot.n} exceeded the run deadline; replacing it`, { 'worker.id': slot.n, 'aio.model_key': job.key });
    slot.running = undefined;
    job.reject(deadline);
    this.retire(slot, deadline);
  }

  private onExit(slot: Slot, code: number): void {
    if (slot.retired) return;
    const reason = slot.lastError?.message ?? `exit code ${code}`;
    this.retire(slot, new GrpcError(Status.UNAVAILABLE, `the inference worker crashed (${reason}); retry`));
  }

  /** Takes a worker out of the pool, fails what it held, and starts a replacement. */
  private retire(slot: Slot, err: GrpcError): void {
    slot.retired = true;
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    for (const call of slot.calls.values()) call.reject(err);
    slot.calls.clear();
    slot.running = undefined;
    void slot.worker.terminate();
    if (this.closing) {
      this.pump();
      return;
    }
    this.options.logger.error(`inference worker ${slot.n} is gone: ${err.message}; starting a replacement`, { 'worker.id': slot.n });
    // Back off when workers keep dying (a model that crashes the runtime), so it does not spin.
    const delay = Math.min(100 * 2 ** this.crashes, 10_000) - 100;
    this.crashes++;
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      if (this.closing) return;
      const fresh = this.spawn();
      this.slots.push(fresh);
      for (const [key, path] of this.models) {
        this.loadInto(fresh, key, path).catch((e: unknown) =>
          this.options.logger.error(`replacement worker ${fresh.n} cannot reopen ${key}`, { 'worker.id': fresh.n }, e),
        );
      }
    }, delay);
    timer.unref();
    this.respawns.add(timer);
    this.pump();
  }
}
