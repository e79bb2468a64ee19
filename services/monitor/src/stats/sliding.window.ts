import { Reservoir } from './reservoir.js';

/** Label outcomes joined in a window: classification (correct / classified) and regression errors. */
export interface QualityCounts {
  classified: number;
  correct: number;
  regressed: number;
  squaredError: number;
  absoluteError: number;
}

export function emptyQuality(): QualityCounts {
  return { classified: 0, correct: 0, regressed: 0, squaredError: 0, absoluteError: 0 };
}

export function addQuality(into: QualityCounts, from: QualityCounts): QualityCounts {
  into.classified += from.classified;
  into.correct += from.correct;
  into.regressed += from.regressed;
  into.squaredError += from.squaredError;
  into.absoluteError += from.absoluteError;
  return into;
}

/** accuracy = correct / classified; rmse = sqrt(sum e^2 / n), mae = sum |e| / n; only the ones with labels. */
export function qualityMetrics(q: QualityCounts): Record<string, number> {
  const out: Record<string, number> = {};
  if (q.classified > 0) out['accuracy'] = q.correct / q.classified;
  if (q.regressed > 0) {
    out['rmse'] = Math.sqrt(q.squaredError / q.regressed);
    out['mae'] = q.absoluteError / q.regressed;
  }
  return out;
}

interface Bucket<R> {
  /** floor(time / bucketMs): which slice of time this bucket holds. */
  index: number;
  requests: number;
  errors: number;
  quality: QualityCounts;
  latency: Reservoir<number>;
  rows: Reservoir<R>;
}

export interface SlidingWindowOptions {
  /** The longest window that can be asked for; older observations are forgotten. */
  windowMs: number;
  /** Time slices the window is cut into; queries are exact to one slice. */
  buckets: number;
  /** Latency samples and rows kept over the whole window (each slice keeps its share). */
  maxSamples: number;
  random?: () => number;
}

/** What a window holds between `start` and `end`. Samples come with weights: the rows each one stands for. */
export interface WindowView<R> {
  start: number;
  end: number;
  requests: number;
  errors: number;
  quality: QualityCounts;
  latencies: number[];
  latencyWeights: number[];
  rows: R[];
  rowWeights: number[];
}

/**
 * Observations of one model version over a sliding time window, in bounded memory: the window is cut
 * into `buckets` slices held in a ring. Each slice counts requests, errors and label outcomes exactly
 * and keeps a uniform reservoir of latencies and rows (maxSamples / buckets each). Reservoir samples
 * are weighted by how many observations they stand for, so percentiles and drift over a window are
 * estimates from a uniform sample of it (exact while no slice overflows).
 */
export class SlidingWindow<R> {
  readonly bucketMs: number;
  private readonly ring: (Bucket<R> | undefined)[];
  private readonly perBucket: number;
  private readonly random: () => number;

  constructor(readonly options: SlidingWindowOptions) {
    const { windowMs, buckets, maxSamples } = options;
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1 || !Number.isInteger(maxSamples) || maxSamples < 1) {
      throw new Error(`sliding window needs windowMs > 0, buckets >= 1, maxSamples >= 1 (got ${windowMs}, ${buckets}, ${maxSamples})`);
    }
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
    this.ring = new Array<Bucket<R> | undefined>(buckets).fill(undefined);
    this.perBucket = Math.max(1, Math.ceil(maxSamples / buckets));
    this.random = options.random ?? Math.random;
  }

  /** One request at `time` (clamped to `now`; false when it is already older than the window). */
  addRequest(now: number, time: number, latencyMs: number, ok: boolean, rows: readonly R[]): boolean {
    const bucket = this.bucketFor(now, time);
    if (bucket === undefined) return false;
    bucket.requests += 1;
    if (!ok) bucket.errors += 1;
    if (Number.isFinite(latencyMs) && latencyMs >= 0) bucket.latency.add(latencyMs);
    for (const row of rows) bucket.rows.add(row);
    return true;
  }

  addQuality(now: number, time: number, outcome: QualityCounts): boolean {
    const bucket = this.bucketFor(now, time);
    if (bucket === undefined) return false;
    addQuality(bucket.quality, outcome);
    return true;
  }

  /** The last `windowMs` (at most the configured window) ending at `now`. */
  view(now: number, windowMs: number): WindowView<R> {
    const span = Math.min(windowMs, this.options.windowMs);
    const out: WindowView<R> = {
      start: now - span,
      end: now,
      requests: 0,
      errors: 0,
      quality: emptyQuality(),
      latencies: [],
      latencyWeights: [],
      rows: [],
      rowWeights: [],
    };
    const newest = this.indexOf(now);
    // Slices that overlap [now - span, now]; the oldest may reach up to one slice further back.
    const oldest = Math.max(this.indexOf(now - span), newest - this.ring.length + 1);
    for (let index = oldest; index <= newest; index++) {
      const bucket = this.ring[this.slotOf(index)];
      if (bucket === undefined || bucket.index !== index) continue;
      out.requests += bucket.requests;
      out.errors += bucket.errors;
      addQuality(out.quality, bucket.quality);
      const lw = bucket.latency.weight;
      for (const l of bucket.latency.items) {
        out.latencies.push(l);
        out.latencyWeights.push(lw);
      }
      const rw = bucket.rows.weight;
      for (const r of bucket.rows.items) {
        out.rows.push(r);
        out.rowWeights.push(rw);
      }
    }
    return out;
  }

  /** True when nothing in the ring is recent enough to be in the window ending at `now`. */
  isEmpty(now: number): boolean {
    const oldest = this.indexOf(now) - this.ring.length + 1;
    return this.ring.every((b) => b === undefined || b.index < oldest);
  }

  private slotOf(index: number): number {
    return ((index % this.ring.length) + this.ring.length) % this.ring.length;
  }

  private indexOf(time: number): number {
    return Math.floor(time / this.bucketMs);
  }

  private bucketFor(now: number, time: number): Bucket<R> | undefined {
    const newest = this.indexOf(now);
    // A clock ahead of ours (the gateway's) must not open slices in the future.
    const index = Math.min(this.indexOf(time), newest);
    if (index <= newest - this.ring.length) return undefined;
    const slot = this.slotOf(index);
    const current = this.ring[slot];
    if (current !== undefined && current.index === index) return current;
    if (current !== undefined && current.index > index) return undefined;
    const fresh: Bucket<R> = {
      index,
      requests: 0,
      errors: 0,
      quality: emptyQuality(),
      latency: new Reservoir<number>(this.perBucket, this.random),
      rows: new Reservoir<R>(this.perBucket, this.random),
    };
    this.ring[slot] = fresh;
    return fresh;
  }
}
