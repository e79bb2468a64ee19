import { describe, expect, it } from 'vitest';
import { decideGate } from './evaluation.gate.js';

const accuracy = { metric: 'accuracy', higherIsBetter: true, minImprovement: 0 };
const rmse = { metric: 'rmse', higherIsBetter: false, minImprovement: 0 };

describe('decideGate', () => {
  it('passes when there is no champion', () => {
    const d = decideGate(accuracy, 1, { accuracy: 0.7 }, undefined);
    expect(d).toMatchObject({ passed: true, hasChampion: false, candidate: 0.7, championVersion: 0 });
    expect(d.reason).toMatch(/no champion/);
  });

  it('passes a candidate better than the champion', () => {
    const d = decideGate(accuracy, 3, { accuracy: 0.95 }, { version: 2, metrics: { accuracy: 0.9 } });
    expect(d).toMatchObject({ passed: true, hasChampion: true, candidate: 0.95, champion: 0.9, championVersion: 2 });
    expect(d.reason).toMatch(/accuracy 0\.95 \(v3\) vs 0\.9 \(champion v2/);
  });

  it('fails a worse candidate, saying by how much', () => {
    const d = decideGate(accuracy, 3, { accuracy: 0.8 }, { version: 2, metrics: { accuracy: 0.9 } });
    expect(d.passed).toBe(false);
    expect(d.reason).toMatch(/worse than the champion by 0\.1/);
  });

  it('fails a tie: an equally good retrain does not move aliases', () => {
    const d = decideGate(accuracy, 3, { accuracy: 0.9 }, { version: 2, metrics: { accuracy: 0.9 } });
    expect(d.passed).toBe(false);
    expect(d.reason).toMatch(/no better/);
  });

  it('fails an improvement below min_improvement and passes one at or above it', () => {
    const gate = { ...accuracy, minImprovement: 0.05 };
    const below = decideGate(gate, 3, { accuracy: 0.93 }, { version: 2, metrics: { accuracy: 0.9 } });
    expect(below.passed).toBe(false);
    expect(below.reason).toMatch(/only 0\.03, below the required 0\.05/);
    expect(decideGate(gate, 3, { accuracy: 0.96 }, { version: 2, metrics: { accuracy: 0.9 } }).passed).toBe(true);
  });

  it('treats lower as better for metrics like rmse', () => {
    expect(decideGate(rmse, 3, { rmse: 1.5 }, { version: 2, metrics: { rmse: 2 } }).passed).toBe(true);
    const worse = decideGate(rmse, 3, { rmse: 2.5 }, { version: 2, metrics: { rmse: 2 } });
    expect(worse.passed).toBe(false);
    expect(worse.reason).toMatch(/lower is better/);
    expect(decideGate({ ...rmse, minImprovement: 1 }, 3, { rmse: 1.5 }, { version: 2, metrics: { rmse: 2 } }).passed).toBe(false);
  });

  it('fails when either side lacks the metric', () => {
    expect(decideGate(accuracy, 3, { rmse: 1 }, undefined)).toMatchObject({ passed: false, reason: expect.stringMatching(/has no "accuracy" metric/) as unknown });
    expect(decideGate(accuracy, 3, { accuracy: 0.9 }, { version: 1, metrics: {} })).toMatchObject({
      passed: false,
      reason: expect.stringMatching(/champion v1 has no "accuracy"/) as unknown,
    });
  });
});
