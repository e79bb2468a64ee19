import type { InferenceRecord } from '@aio/proto/aio/gateway/v1/inference_log';
import type { Feedback } from '@aio/proto/aio/monitor/v1/feedback';
import type { ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import type { Value } from '@bufbuild/protobuf/wkt';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { PREDICTION_FEATURE } from '../health/drift.js';
import { MonitorSettings, WINDOW_BUCKETS } from '../monitor.settings.js';
import { emptyQuality, SlidingWindow, type QualityCounts } from '../stats/sliding.window.js';
import { rowsOfRecord, TensorDecodeError, type Cell, type ObservedRow } from './tensor.decode.js';

/** One model version's live window. */
export interface VersionState {
  model: string;
  version: number;
  window: SlidingWindow<ObservedRow>;
  /** Monitor clock of the last observation. */
  lastSeen: number;
  /** Why this version's inputs could not be read, once (so the log says it once, not per record). */
  decodeProblem: string | undefined;
}

interface PendingPrediction {
  model: string;
  version: number;
  predictions: Cell[];
}

export type FeedbackOutcome = 'joined' | 'unmatched' | 'unusable';

export interface InferenceOutcome {
  state: VersionState;
  /** False when the record was older than the window. */
  counted: boolean;
  /** Set the first time a version's inputs fail to decode. */
  newDecodeProblem: string | undefined;
}

/** Profile lookup without I/O (undefined / null: not known). */
export type ProfileLookup = (model: string, version: number) => ReferenceProfile | null | undefined;

/**
 * The monitor's memory: one sliding window per model version (at most MONITOR_MAX_VERSIONS, least
 * recently served forgotten first) and the recent predictions by request id that feedback labels join
 * (at most MONITOR_MAX_PENDING_LABELS, oldest forgotten first). No I/O.
 */
export class TrafficState {
  private readonly versions = new Map<string, VersionState>();
  private readonly pending = new Map<string, PendingPrediction[]>();
  private pendingCount = 0;

  constructor(
    private readonly settings: MonitorSettings,
    private readonly profileOf: ProfileLookup,
    private readonly onEvict: (state: VersionState) => void = () => undefined,
    private readonly random: () => number = Math.random,
  ) {}

  recordInference(record: InferenceRecord, now: number): InferenceOutcome {
    if (record.model === '') throw new Error(`inference record ${record.requestId || '(no request id)'} names no model`);
    const state = this.stateOf(record.model, record.version, now);
    let rows: ObservedRow[] = [];
    let newDecodeProblem: string | undefined;
    try {
      rows = rowsOfRecord(record);
    } catch (err) {
      if (!(err instanceof TensorDecodeError)) throw err;
      if (state.decodeProblem === undefined) newDecodeProblem = err.message;
      state.decodeProblem = err.message;
    }
    const time = record.timestamp === undefined ? now : timestampMs(record.timestamp);
    const ok = record.status === '' || record.status === 'OK';
    const counted = state.window.addRequest(now, time, record.latencyMs, ok, rows);
    state.lastSeen = now;
    const predictions = rows.flatMap((r) => (r.prediction === undefined ? [] : [r.prediction]));
    if (counted && record.requestId !== '' && predictions.length > 0 && predictions.length === rows.length) {
      this.remember(record.requestId, { model: record.model, version: record.version, predictions });
    }
    return { state, counted, newDecodeProblem };
  }

  /**
   * Joins a label to the predictions logged under its request id (each version that answered it: a
   * shadow and its primary both get it). A list label joins row by row; a single label needs a
   * single-row request. Each request is joined once.
   */
  recordFeedback(feedback: Feedback, now: number): FeedbackOutcome {
    const entries = this.pending.get(feedback.requestId);
    if (entries === undefined) return 'unmatched';
    const labels = labelsOf(feedback.label);
    let joined = false;
    for (const entry of entries) {
      if (feedback.model !== '' && feedback.model !== entry.model) continue;
      if (labels.length !== entry.predictions.length) continue;
      const outcome = this.score(entry, labels);
      if (outcome === undefined) continue;
      this.stateOf(entry.model, entry.version, now).window.addQuality(now, now, outcome);
      joined = true;
    }
    if (!joined) return 'unusable';
    this.pending.delete(feedback.requestId);
    this.pendingCount -= entries.length;
    return 'joined';
  }

  /** The live state of a version (undefined when it served nothing the monitor still remembers). */
  get(model: string, version: number): VersionState | undefined {
    return this.versions.get(`${model}:${version}`);
  }

  /** Every remembered version of a model, ascending. */
  versionsOf(model: string): VersionState[] {
    return [...this.versions.values()].filter((s) => s.model === model).sort((a, b) => a.version - b.version);
  }

  all(): VersionState[] {
    return [...this.versions.values()];
  }

  get pendingLabels(): number {
    return this.pendingCount;
  }

  private score(entry: PendingPrediction, labels: readonly (string | number)[]): QualityCounts | undefined {
    const prediction = this.profileOf(entry.model, entry.version)?.features.find((f) => f.name === PREDICTION_FEATURE)?.distribution.case;
    const classification = prediction === 'categorical' || (prediction !== 'numeric' && typeof entry.predictions[0] === 'string');
    const q = emptyQuality();
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i];
      const predicted = entry.predictions[i];
      if (label === undefined || predicted === undefined) return undefined;
      if (classification) {
        q.classified += 1;
        if (String(label) === String(predicted)) q.correct += 1;
      } else {
        const y = Number(label);
        const p = Number(predicted);
        if (!Number.isFinite(y) || !Number.isFinite(p)) return undefined;
        q.regressed += 1;
        q.squaredError += (p - y) ** 2;
        q.absoluteError += Math.abs(p - y);
      }
    }
    return q;
  }

  private remember(requestId: string, prediction: PendingPrediction): void {
    const entries = this.pending.get(requestId);
    if (entries === undefined) this.pending.set(requestId, [prediction]);
    else entries.push(prediction);
    this.pendingCount += 1;
    while (this.pendingCount > this.settings.maxPendingLabels) {
      const oldest = this.pending.entries().next();
      if (oldest.done === true) break;
      this.pending.delete(oldest.value[0]);
      this.pendingCount -= oldest.value[1].length;
    }
  }

  private stateOf(model: string, version: number, now: number): VersionState {
    const key = `${model}:${version}`;
    let state = this.versions.get(key);
    if (state !== undefined) {
      // Map order is the LRU order: move to the back.
      this.versions.delete(key);
      this.versions.set(key, state);
      return state;
    }
    state = {
      model,
      version,
      window: new SlidingWindow<ObservedRow>({ windowMs: this.settings.windowMs, buckets: WINDOW_BUCKETS, maxSamples: this.settings.maxSamples, random: this.random }),
      lastSeen: now,
      decodeProblem: undefined,
    };
    this.versions.set(key, state);
    while (this.versions.size > this.settings.maxVersions) {
      const oldest = this.versions.values().next();
      if (oldest.done === true) break;
      this.versions.delete(`${oldest.value.model}:${oldest.value.version}`);
      this.onEvict(oldest.value);
    }
    return state;
  }
}

/**
 * A label as text or number: strings as they are, numbers as numbers, booleans as "1" / "0" (how a
 * BOOL output reads as a prediction), a list as one label per row. Anything else labels nothing.
 */
export function labelsOf(value: Value | undefined): (string | number)[] {
  const kind = value?.kind;
  switch (kind?.case) {
    case 'stringValue':
      return [kind.value];
    case 'numberValue':
      return [kind.value];
    case 'boolValue':
      return [kind.value ? '1' : '0'];
    case 'listValue':
      return kind.value.values.flatMap((v) => (v.kind.case === 'listValue' ? [] : labelsOf(v)));
    case 'nullValue':
    case 'structValue':
    case undefined:
      return [];
  }
}
