import { Worker } from 'node:worker_threads';
import { GrpcError, Status } from '@aio/grpc';
import type { Logger } from '@aio/telemetry';
import { concatRequests, splitRows, transferable } from './tensor.batch.js';
import type { FromWorker, RunOutcome, ToWorker, WireMeta, WireTensor } from './worker.messages.js';

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
  /** Rows of the session.run this request was part of (Triton's batch size): its own rows when it ran alone. */
  batchSize: number;
  /** True for one request per session run (the first of its batch): what counts executions. */
  execution: boolean;
}

/**
 * How requests of one model version are batched and queued. Batches are formed only from requests
 * that agree on every dimension but the first (the batch axis) and ask for the same outputs.
 */
export interface BatchPolicy {
  /** Most rows (sum of the requests' first dimensions) in one run; 1 = no batching. */
  maxBatchSize: number;
  /** Longest the oldest request waits for companions before an incomplete batch runs. */
  maxQueueDelayMicros: number;
  /** Batch sizes (rows) that run as soon as they are formed, without waiting out the delay. */
  preferredBatchSizes: readonly number[];
  /** Requests waiting for this version before RESOURCE_EXHAUSTED. */
  maxQueueSize: number;
}

export interface RunOptions {
  /** The caller's deadline: the request leaves the queue (or its answer is abandoned) when it passes. */
  deadline?: Date | undefined;
  /**
   * The caller went away: the request leaves the queue. Registers a listener for the reason (at once if
   * the call has ended already) and returns its remover; a gRPC CallContext's onCancel fits.
   */
  onCancel?: ((listener: (reason: Error) => void) => () => void) | undefined;
}

export interface LoadedSignature {
  inputs: WireMeta[];
  outputs: WireMeta[];
}

export interface Job {
  key: string;
  feeds: WireTensor[];
  outputs: string[];
  /** Requests with the same group can share a batch; undefined = this request always runs alone. */
  group: string | undefined;
  /** The request's first dimension (its share of a batch). */
  rows: number;
  enqueued: bigint;
  dispatched?: bigint;
  /** Fires at the caller's deadline or the queue timeout, whichever is first. */
  timer: NodeJS.Timeout;
  settled: boolean;
  /** Removes the cancellation listener. */
  offCancel: (() => void) | undefined;
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

/** Requests handed to a worker as one message (one session.run when they batch). */
interface Run {
  id: number;
  key: string;
  jobs: Job[];
  /** AIO_INFER_TIMEOUT_MS after dispatch: a worker still running then is stuck and replaced. */
  timer: NodeJS.Timeout;
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
  running: Run | undefined;
  lastError: Error | undefined;
  /** Set once the pool terminated it on purpose (close, a stuck run). */
  retired: boolean;
}

/** Retry hint for RESOURCE_EXHAUSTED: grpc-js clients with retries honour grpc-retry-pushback-ms. */
export const PUSHBACK_MS = 100;

const NO_BATCHING: Omit<BatchPolicy, 'maxQueueSize'> = { maxBatchSize: 1, maxQueueDelayMicros: 0, preferredBatchSizes: [] };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The batch group of a request: requests of equal group have the same inputs (names, types and every
 * dimension but the first) and ask for the same outputs, so they can be concatenated along dimension
 * 0. Undefined (never batched) when the inputs disagree on the first dimension or have none.
 */
export function batchGroup(feeds: readonly WireTensor[], outputs: readonly string[]): { group: string | undefined; rows: number } {
  const rows = feeds[0]?.dims[0];
  if (rows === undefined || feeds.some((f) => f.dims[0] !== rows)) return { group: undefined, rows: 1 };
  let group = outputs.join(',');
  for (const f of feeds) group += `|${f.name}:${f.type}:${f.dims.slice(1).join('x')}`;
  return { group, rows };
}

/**
 * Worker threads that hold onnxruntime sessions, fed from one bounded queue per model version.
 * A worker runs one batch at a time; an idle worker takes the next batch round-robin across the
 * versions it has loaded. A batch is what is queued for a version when the worker frees up (up to
 * the version's max batch size), or, with a queue delay, what arrived until the oldest request waited
 * that long or a preferred size formed. A worker that dies is replaced (its sessions reopened) and
 * its in-flight requests fail with UNAVAILABLE; nothing waits for a dead worker.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  /** key -> artifact path of every version loaded (or loading): what a replacement worker reopens. */
  private readonly models = new Map<string, string>();
  private readonly policies = new Map<string, BatchPolicy>();
  /** Waiting requests per loaded version; a drained queue stays until unload (no Map churn per batch, see dispatch). */
  private readonly queues = new Map<string, Job[]>();
  private nextId = 1;
  private nextSlot = 0;
  private rrOffset = 0;
  private closing = false;
  private crashes = 0;
  private readonly respawns = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];
  /** The pump scheduled for when a waiting batch's queue delay runs out. */
  private delayTimer: { at: bigint; cancel: () => void } | undefined;
  private pumpScheduled = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  get size(): number {
    return this.options.size;
  }

  start(): void {
    for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawn());
  }

  /** Requests queued or running for a key. */
  depth(key: string): number {
    let n = this.queues.get(key)?.length ?? 0;
    for (const s of this.slots) if (s.running?.key === key) n += s.running.jobs.length;
    return n;
  }

  /** The batching and queue limit of a version (default: no batching, AIO_INFER_QUEUE_LIMIT). */
  policy(key: string): BatchPolicy {
    return this.policies.get(key) ?? { ...NO_BATCHING, maxQueueSize: this.options.queueLimit };
  }

  setPolicy(key: string, policy: BatchPolicy): void {
    this.policies.set(key, policy);
    this.pump();
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
    this.policies.delete(key);
    const queued = this.queues.get(key) ?? [];
    this.queues.delete(key);
    for (const job of queued) this.settle(job, new GrpcError(Status.UNAVAILABLE, `${key} was unloaded before its turn; retry`));
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.keys.delete(key);
        await this.call(slot, { kind: 'unload', id: this.nextId++, key }).catch(() => undefined);
      }),
    );
  }

  /** Queues one inference; the feeds are copied into the batch (or a buffer of their own) for the worker, never changed. */
  run(key: string, feeds: WireTensor[], outputs: string[], options: RunOptions = {}): Promise<RunResult> {
    if (this.closing) return Promise.reject(new GrpcError(Status.UNAVAILABLE, 'the gateway is shutting down; retry on another instance'));
    if (!this.models.has(key)) return Promise.reject(new GrpcError(Status.UNAVAILABLE, `${key} is not loaded`));
    const policy = this.policy(key);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    if (queue.length >= policy.maxQueueSize) {
      const full = new GrpcError(Status.RESOURCE_EXHAUSTED, `${key} has ${queue.length} requests waiting, its queue limit (the deployment's batching.max_queue_size, else AIO_INFER_QUEUE_LIMIT); retry after ${PUSHBACK_MS} ms with backoff`);
      full.metadata.set('grpc-retry-pushback-ms', String(PUSHBACK_MS));
      return Promise.reject(full);
    }
    const untilDeadline = options.deadline === undefined ? Infinity : options.deadline.getTime() - Date.now();
    if (untilDeadline <= 0) return Promise.reject(this.deadlineError(key, true));
    const { group, rows } = policy.maxBatchSize > 1 ? batchGroup(feeds, outputs) : { group: undefined, rows: 1 };
    const q = queue;
    return new Promise<RunResult>((resolve, reject) => {
      const byCaller = untilDeadline < this.options.timeoutMs;
      const job: Job = {
        key,
        feeds,
        outputs,
        group,
        rows,
        enqueued: process.hrtime.bigint(),
        settled: false,
        offCancel: undefined,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(job, byCaller), Math.min(untilDeadline, this.options.timeoutMs)),
      };
      q.push(job);
      // After the push: a call cancelled already runs the listener at once, which takes the job out again.
      if (options.onCancel !== undefined) {
        const off = options.onCancel((reason) => this.abandon(job, reason));
        if (job.settled) off();
        else job.offCancel = off;
      }
      if (!job.settled) this.pumpSoon();
    });
  }

  /**
   * Pumps once the current I/O callbacks are done: every request that arrived in the same event-loop
   * turn (the transport hands over all the requests of one socket read together) is queued by then, so they
   * can share a batch and a message to the worker instead of a message each. Costs no added latency.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Stops taking requests, lets queued and running ones finish, then terminates every worker. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    while (this.busy()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.delayTimer?.cancel();
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
    const now = process.hrtime.bigint();
    let wakeAt: bigint | undefined;
    for (const slot of this.slots) {
      if (slot.running !== undefined || slot.retired) continue;
      const next = this.take(slot, now);
      if (next.wakeAt !== undefined && (wakeAt === undefined || next.wakeAt < wakeAt)) wakeAt = next.wakeAt;
      if (next.jobs !== undefined) this.dispatch(slot, next.jobs);
    }
    if (wakeAt !== undefined) this.wakeAt(wakeAt);
    // Only close() waits for idle: the hot path does not scan the queues for it.
    if (this.idleWaiters.length > 0 && !this.busy()) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  /** Pumps again when a batch waiting for companions has waited its queue delay. */
  private wakeAt(at: bigint): void {
    if (this.delayTimer !== undefined) {
      if (this.delayTimer.at <= at) return;
      this.delayTimer.cancel();
    }
    const wake = (): void => {
      this.delayTimer = undefined;
      this.pump();
    };
    const how = waitStep(Number(at - process.hrtime.bigint()) / 1e6);
    if (how.timeoutMs !== undefined) {
      const timer = setTimeout(wake, how.timeoutMs);
      this.delayTimer = { at, cancel: () => clearTimeout(timer) };
    } else {
      const immediate = setImmediate(wake);
      this.delayTimer = { at, cancel: () => clearImmediate(immediate) };
    }
  }

  /** The next batch this worker can run, round-robin over the versions it holds. */
  private take(slot: Slot, now: bigint): { jobs?: Job[]; wakeAt?: bigint } {
    const keys = [...this.queues.keys()];
    let wakeAt: bigint | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(this.rrOffset + i) % keys.length] as string;
      const q = this.queues.get(key);
      if (q === undefined || q.length === 0 || !slot.keys.has(key)) continue;
      const formed = formBatch(q, this.policy(key), now);
      if (formed.jobs === undefined) {
        if (formed.wakeAt !== undefined && (wakeAt === undefined || formed.wakeAt < wakeAt)) wakeAt = formed.wakeAt;
        continue;
      }
      this.rrOffset = (this.rrOffset + i + 1) % Math.max(keys.length, 1);
      return { jobs: formed.jobs };
    }
    return wakeAt === undefined ? {} : { wakeAt };
  }

  private dispatch(slot: Slot, jobs: Job[]): void {
    const id = this.nextId++;
    const key = (jobs[0] as Job).key;
    const dispatched = process.hrtime.bigint();
    for (const job of jobs) job.dispatched = dispatched;
    const run: Run = { id, key, jobs, timer: setTimeout(() => this.stuck(slot, run), this.options.timeoutMs) };
    // The reply is matched by slot.running (onMessage), not through slot.calls: a Map set and deleted per
    // batch chains its retired hash tables, and the finished batches in them, into the old generation
    // (libs/grpc/src/h2/stream.table.ts says how).
    slot.running = run;
    const outputs = (jobs[0] as Job).outputs;
    try {
      // One buffer per input crosses to the worker, whatever the batch's size (structured clone costs per
      // object), transferred: the batch's own, or a request's own copy when it runs alone.
      const feeds = jobs.length === 1 ? transferable((jobs[0] as Job).feeds) : concatRequests(jobs.map((j) => j.feeds));
      const rows = jobs.map((j) => j.rows);
      slot.worker.postMessage({ kind: 'run', id, key, feeds, rows, outputs } satisfies ToWorker, feeds.map((f) => f.data.buffer as ArrayBuffer));
    } catch (err) {
      this.failRunning(slot, new GrpcError(Status.INTERNAL, `cannot hand the request to a worker: ${message(err)}`));
      this.pump();
    }
  }

  /** Frees the worker for the next batch: the run it held (if any), its stuck-timer cleared. */
  private release(slot: Slot): Run | undefined {
    const run = slot.running;
    if (run === undefined) return undefined;
    slot.running = undefined;
    clearTimeout(run.timer);
    return run;
  }

  /** Fails the batch a worker is running, if any, and frees the worker for the next one. */
  private failRunning(slot: Slot, err: Error): void {
    for (const job of this.release(slot)?.jobs ?? []) this.settle(job, err);
  }

  /** Answers each request of a run from the worker's reply. */
  private finish(run: Run, reply: FromWorker): void {
    if (reply.kind !== 'result') {
      const err = reply.kind === 'failed' ? new GrpcError(Status.INTERNAL, `the inference worker failed: ${reply.message}`) : new GrpcError(Status.INTERNAL, `unexpected worker reply ${reply.kind}`);
      for (const job of run.jobs) this.settle(job, err);
      return;
    }
    this.crashes = 0;
    const batchRows = run.jobs.reduce((n, j) => n + j.rows, 0);
    const ran = reply.ran;
    const batched = 'batch' in ran;
    // A batch's outputs are split back by rows as views: each request's answer shares the batch's buffer.
    const outcomes: (RunOutcome | undefined)[] = batched
      ? (splitRows(ran.batch, run.jobs.map((j) => j.rows))?.map((outputs) => ({ ok: true as const, outputs })) ?? [])
      : ran.results;
    run.jobs.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) return this.settle(job, new GrpcError(Status.INTERNAL, 'the inference worker answered fewer requests than it ran'));
      if (!outcome.ok) return this.settle(job, new GrpcError(Status.INVALID_ARGUMENT, `the model rejected the request: ${outcome.message}`));
      const queueNs = Number((job.dispatched ?? job.enqueued) - job.enqueued);
      this.settle(job, undefined, { outputs: outcome.outputs, queueNs, computeNs: reply.computeNs, batchSize: batched ? batchRows : job.rows, execution: i === 0 || !batched });
    });
  }

  /** Resolves or rejects a job exactly once and drops its timer and abort listener. */
  private settle(job: Job, err: Error | undefined, result?: RunResult): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    job.offCancel?.();
    if (err !== undefined) job.reject(err);
    else job.resolve(result as RunResult);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    const run = slot.running;
    if (run !== undefined && run.id === msg.id) {
      this.release(slot);
      this.finish(run, msg);
      this.pump();
      return;
    }
    const call = slot.calls.get(msg.id);
    if (call === undefined) return; // answered already (its worker was retired)
    slot.calls.delete(msg.id);
    call.resolve(msg);
  }

  private deadlineError(key: string, byCaller: boolean): GrpcError {
    return byCaller
      ? new GrpcError(Status.DEADLINE_EXCEEDED, `${key} could not answer before the call's deadline`)
      : new GrpcError(Status.DEADLINE_EXCEEDED, `${key} did not answer within ${this.options.timeoutMs} ms (AIO_INFER_TIMEOUT_MS)`);
  }

  /** The job's deadline passed: it leaves the queue; a running one is answered now and its result dropped. */
  private expire(job: Job, byCaller: boolean): void {
    this.abandon(job, this.deadlineError(job.key, byCaller));
  }

  private abandon(job: Job, err: Error): void {
    const q = this.queues.get(job.key);
    const at = q?.indexOf(job) ?? -1;
    if (q !== undefined && at >= 0) q.splice(at, 1);
    this.settle(job, err);
    if (at >= 0) this.pump();
  }

  /** A run outlived AIO_INFER_TIMEOUT_MS inside onnxruntime: only terminating the thread frees it. */
  private stuck(slot: Slot, run: Run): void {
    if (slot.running !== run) return;
    this.options.logger.warn(`inference worker ${slot.n} exceeded the run deadline; replacing it`, { 'worker.id': slot.n, 'aio.model_key': run.key });
    this.retire(slot, this.deadlineError(run.key, false));
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
    this.failRunning(slot, err);
    for (const call of slot.calls.values()) call.reject(err);
    slot.calls.clear();
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

/**
 * How to wait `remainingMs` of a batch's queue delay. Timers count whole milliseconds and fire up to a
 * millisecond late (a 0.2 ms timeout waits 1-2 ms, ten times a 200 µs max_queue_delay), so a timer
 * covers only the whole milliseconds but one; the rest is waited in event-loop turns (setImmediate,
 * which polls I/O without blocking, so companions arriving meanwhile join the batch). Spinning is
 * bounded by ~2 ms per wait, and only while a worker is idle and a batch is forming.
 */
export function waitStep(remainingMs: number): { timeoutMs?: number } {
  return remainingMs >= 2 ? { timeoutMs: Math.floor(remainingMs) - 1 } : {};
}

/**
 * Takes the next batch off a version's queue: the oldest request and the requests of its group after
 * it, up to the max batch size in rows. An incomplete batch waits while the oldest request is within
 * the queue delay, unless its size is a preferred one; a batch over a preferred size is cut to the
 * largest preferred size it covers. Pure (but for removing the taken jobs), so it is tested alone.
 */
export function formBatch(q: Job[], policy: BatchPolicy, now: bigint): { jobs?: Job[]; wakeAt?: bigint } {
  const head = q[0];
  if (head === undefined) return {};
  if (policy.maxBatchSize <= 1 || head.group === undefined) {
    q.shift();
    return { jobs: [head] };
  }
  const picked: number[] = [0];
  let rows = head.rows;
  const sizes: number[] = [rows];
  for (let i = 1; i < q.length && rows < policy.maxBatchSize; i++) {
    const job = q[i] as Job;
    if (job.group !== head.group || rows + job.rows > policy.maxBatchSize) continue;
    picked.push(i);
    rows += job.rows;
    sizes.push(rows);
  }
  const preferred = policy.preferredBatchSizes;
  if (rows < policy.maxBatchSize && !preferred.includes(rows) && policy.maxQueueDelayMicros > 0) {
    const wakeAt = head.enqueued + BigInt(policy.maxQueueDelayMicros) * 1000n;
    if (now < wakeAt) return { wakeAt };
  }
  // Cut to the largest preferred size the picked requests add up to, when there is one.
  let count = picked.length;
  if (preferred.length > 0 && !preferred.includes(rows)) {
    for (let n = sizes.length - 1; n >= 0; n--) {
      if (preferred.includes(sizes[n] as number)) {
        count = n + 1;
        break;
      }
    }
  }
  // Usually the batch is the head of the queue (one group): cut it off without rebuilding the queue.
  if (picked[count - 1] === count - 1) return { jobs: q.splice(0, count) };
  const take = new Set(picked.slice(0, count));
  const jobs = picked.slice(0, count).map((i) => q[i] as Job);
  let w = 0;
  for (let i = 0; i < q.length; i++) if (!take.has(i)) q[w++] = q[i] as Job;
  q.length = w;
  return { jobs };
}
