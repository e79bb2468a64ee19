import { AlertSeverity } from '@aio/proto/aio/monitor/v1/events';
import { ModelHealthSchema } from '@aio/proto/aio/monitor/v1/monitor';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { MonitorSettings } from '../monitor.settings.js';
import { decideRules, describeDrift } from './rules.js';

const settings = new MonitorSettings(300_000, 1000, 10, 10, { psi: 0.2, ksPValue: 0.01, minSamples: 200 }, 600_000, 0.05, 500, 20, 600_000, 15_000);
const health = (init: { requestCount: bigint; errorRate?: number; p99Ms?: number }) =>
  create(ModelHealthSchema, {
    model: 'm',
    version: 2,
    requestCount: init.requestCount,
    errorRate: init.errorRate ?? 0,
    latency: { p99Ms: init.p99Ms ?? 0 },
    drift: [
      { feature: 'x', method: 'psi', score: 0.41, threshold: 0.2, drifted: true, sampleCount: 300n },
      { feature: 'x', method: 'ks', score: 0.38, threshold: 0.01, pValue: 1.2e-9, drifted: true, sampleCount: 300n },
      { feature: 'y', method: 'psi', score: 0.05, threshold: 0.2, drifted: false, sampleCount: 300n },
    ],
  });

describe('rules', () => {
  it('reports the drifted scores', () => {
    const { drifted } = decideRules(health({ requestCount: 300n }), settings);
    expect(drifted.map((d) => `${d.feature}/${d.method}`)).toEqual(['x/psi', 'x/ks']);
    expect(describeDrift(drifted)).toBe('x psi=0.410>0.2 n=300; x ks=0.380 p=1.20e-9<0.01 n=300');
  });

  it('alerts on error rate and p99 latency with enough requests, critical at twice the threshold', () => {
    const { alerts } = decideRules(health({ requestCount: 100n, errorRate: 0.07, p99Ms: 1200 }), settings);
    expect(alerts.map((a) => [a.rule, a.severity, a.value, a.threshold])).toEqual([
      ['error-rate', AlertSeverity.WARNING, 0.07, 0.05],
      ['p99-latency', AlertSeverity.CRITICAL, 1200, 500],
    ]);
    expect(alerts[0]?.message).toMatch(/m v2: 7\.0% of 100 requests failed/);
  });

  it('stays quiet below the thresholds or the minimum request count', () => {
    expect(decideRules(health({ requestCount: 100n, errorRate: 0.05, p99Ms: 500 }), settings).alerts).toEqual([]);
    expect(decideRules(health({ requestCount: 19n, errorRate: 1, p99Ms: 9000 }), settings).alerts).toEqual([]);
  });
});
