import { FeedbackSchema } from '@aio/proto/aio/monitor/v1/feedback';
import { InferenceRecordSchema, LoggedTensorSchema } from '@aio/proto/aio/gateway/v1/inference_log';
import { ReferenceProfileSchema } from '@aio/proto/aio/profile/v1/profile';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs, ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { MonitorSettings } from '../monitor.settings.js';
import { labelsOf, TrafficState } from './traffic.state.js';

const settings = (maxVersions = 10, maxPendingLabels = 100) =>
  new MonitorSettings(60_000, 600, maxVersions, maxPendingLabels, { psi: 0.2, ksPValue: 0.01, minSamples: 1 }, 0, 0.05, 1000, 1, 0, 1000);
const now = 1_000_000_000;

function fp32(name: string, shape: number[], values: number[]) {
  const raw = new Uint8Array(values.length * 4);
  values.forEach((x, i) => new DataView(raw.buffer).setFloat32(i * 4, x, true));
  return create(LoggedTensorSchema, { name, datatype: 'FP32', shape: shape.map(BigInt), raw });
}
function int64(name: string, values: number[]) {
  const raw = new Uint8Array(values.length * 8);
  values.forEach((x, i) => new DataView(raw.buffer).setBigInt64(i * 8, BigInt(x), true));
  return create(LoggedTensorSchema, { name, datatype: 'INT64', shape: [BigInt(values.length)], raw });
}
const record = (requestId: string, version: number, output: ReturnType<typeof fp32>, status = 'OK', latencyMs = 5) =>
  create(InferenceRecordSchema, {
    requestId,
    model: 'm',
    version,
    inputs: [fp32('input', [1, 2], [1, 2])],
    outputs: status === 'OK' ? [output] : [],
    status,
    latencyMs,
    timestamp: timestampFromMs(now),
  });
const label = (v: Value['kind']) => create(ValueSchema, { kind: v });
const feedback = (requestId: string, kind: Value['kind']) => create(FeedbackSchema, { requestId, model: 'm', label: label(kind) });

describe('traffic state', () => {
  it('counts requests and errors per version and joins class labels into accuracy', () => {
    const s = new TrafficState(settings(), () => undefined);
    s.recordInference(record('r1', 1, int64('label', [1])), now);
    s.recordInference(record('r2', 1, int64('label', [0])), now);
    s.recordInference(record('r3', 1, int64('label', [0]), 'INTERNAL'), now);
    expect(s.recordFeedback(feedback('r1', { case: 'numberValue', value: 1 }), now)).toBe('joined');
    expect(s.recordFeedback(feedback('r2', { case: 'stringValue', value: '1' }), now)).toBe('joined');
    // Joined once; a failed request has no prediction to join.
    expect(s.recordFeedback(feedback('r1', { case: 'numberValue', value: 1 }), now)).toBe('unmatched');
    expect(s.recordFeedback(feedback('r3', { case: 'numberValue', value: 1 }), now)).toBe('unmatched');
    const view = s.get('m', 1)?.window.view(now, 60_000);
    expect(view).toMatchObject({ requests: 3, errors: 1, quality: { classified: 2, correct: 1 } });
  });

  it('joins numeric labels as regression errors unless the profile says the prediction is categorical', () => {
    const s = new TrafficState(settings(), () => undefined);
    s.recordInference(record('a', 1, fp32('y', [1], [2.5])), now);
    expect(s.recordFeedback(feedback('a', { case: 'numberValue', value: 1.5 }), now)).toBe('joined');
    expect(s.get('m', 1)?.window.view(now, 60_000).quality).toMatchObject({ regressed: 1, squaredError: 1, absoluteError: 1 });

    const categorical = create(ReferenceProfileSchema, { features: [{ name: 'prediction', distribution: { case: 'categorical', value: { counts: { '2': 1n } } } }] });
    const c = new TrafficState(settings(), () => categorical);
    c.recordInference(record('b', 1, fp32('y', [1], [2])), now);
    expect(c.recordFeedback(feedback('b', { case: 'numberValue', value: 2 }), now)).toBe('joined');
    expect(c.get('m', 1)?.window.view(now, 60_000).quality).toMatchObject({ classified: 1, correct: 1 });
  });

  it('gives a label to every version that answered the request (primary and shadow)', () => {
    const s = new TrafficState(settings(), () => undefined);
    s.recordInference(record('r', 1, int64('label', [1])), now);
    s.recordInference(record('r', 2, int64('label', [0])), now);
    expect(s.recordFeedback(feedback('r', { case: 'numberValue', value: 1 }), now)).toBe('joined');
    expect(s.get('m', 1)?.window.view(now, 60_000).quality.correct).toBe(1);
    expect(s.get('m', 2)?.window.view(now, 60_000).quality).toMatchObject({ classified: 1, correct: 0 });
  });

  it('bounds versions and pending labels, oldest first', () => {
    const evicted: number[] = [];
    const s = new TrafficState(settings(2, 2), () => undefined, (st) => evicted.push(st.version));
    for (const v of [1, 2, 3]) s.recordInference(record(`r${v}`, v, int64('label', [1])), now);
    expect(evicted).toEqual([1]);
    expect(s.versionsOf('m').map((st) => st.version)).toEqual([2, 3]);
    expect(s.pendingLabels).toBe(2);
    expect(s.recordFeedback(feedback('r1', { case: 'numberValue', value: 1 }), now)).toBe('unmatched');
  });

  it('still counts a request whose inputs cannot be decoded, and says why once', () => {
    const s = new TrafficState(settings(), () => undefined);
    const bad = create(InferenceRecordSchema, { model: 'm', version: 1, inputs: [create(LoggedTensorSchema, { name: 'x', datatype: 'FP32', shape: [2n], raw: new Uint8Array(3) })], status: 'OK' });
    expect(s.recordInference(bad, now).newDecodeProblem).toMatch(/3 raw bytes for 2 FP32 elements/);
    expect(s.recordInference(bad, now).newDecodeProblem).toBeUndefined();
    expect(s.get('m', 1)?.window.view(now, 60_000).requests).toBe(2);
    expect(() => s.recordInference(create(InferenceRecordSchema, {}), now)).toThrow(/names no model/);
  });

  it('reads labels from protobuf values', () => {
    expect(labelsOf(label({ case: 'boolValue', value: true }))).toEqual(['1']);
    const list = create(ValueSchema, { kind: { case: 'listValue', value: { values: [label({ case: 'numberValue', value: 2 }), label({ case: 'stringValue', value: 'x' })] } } });
    expect(labelsOf(list)).toEqual([2, 'x']);
    expect(labelsOf(undefined)).toEqual([]);
  });
});
