import type { Gate } from '@aio/proto/aio/trainer/v1/trainer';

/** The champion a candidate is compared with: its version and the metrics the registry holds for it. */
export interface Champion {
  version: number;
  metrics: Readonly<Record<string, number>>;
}

export interface GateDecision {
  passed: boolean;
  metric: string;
  candidate: number;
  /** 0 when there is no champion (see hasChampion). */
  champion: number;
  hasChampion: boolean;
  championVersion: number;
  reason: string;
}

const fmt = (v: number): string => String(Number(v.toPrecision(6)));

/**
 * Decides whether a candidate version beats the champion on the gate's metric. No champion: passes
 * (the first version of a model has nothing to beat). Otherwise the candidate must be strictly better
 * (larger or smaller, per higher_is_better) by at least min_improvement; a tie never passes, so an
 * equally good retrain does not churn the aliases. A metric missing on either side fails: nothing was
 * measured, so nothing is promoted.
 */
export function decideGate(gate: Pick<Gate, 'metric' | 'higherIsBetter' | 'minImprovement'>, candidateVersion: number, candidate: Readonly<Record<string, number>>, champion: Champion | undefined): GateDecision {
  const metric = gate.metric;
  const value = candidate[metric];
  const base = { metric, candidate: value ?? 0, champion: 0, hasChampion: champion !== undefined, championVersion: champion?.version ?? 0 };
  if (value === undefined || !Number.isFinite(value)) {
    return { ...base, passed: false, reason: `v${candidateVersion} has no "${metric}" metric (the trainer did not produce it for this data); nothing to compare, so it is not promoted` };
  }
  if (champion === undefined) {
    return { ...base, passed: true, reason: `no champion yet: v${candidateVersion} (${metric} ${fmt(value)}) passes` };
  }
  const theirs = champion.metrics[metric];
  if (theirs === undefined || !Number.isFinite(theirs)) {
    return { ...base, passed: false, reason: `champion v${champion.version} has no "${metric}" metric to compare with; move the alias by hand or change the policy's gate metric` };
  }
  const improvement = gate.higherIsBetter ? value - theirs : theirs - value;
  const direction = gate.higherIsBetter ? 'higher' : 'lower';
  const compared = `${metric} ${fmt(value)} (v${candidateVersion}) vs ${fmt(theirs)} (champion v${champion.version}, ${direction} is better)`;
  const needed = gate.minImprovement > 0 ? `at least ${fmt(gate.minImprovement)}` : 'any';
  const passed = improvement > 0 && improvement >= gate.minImprovement;
  const verdict = passed
    ? `improves by ${fmt(improvement)}`
    : improvement > 0
      ? `improves by only ${fmt(improvement)}, below the required ${fmt(gate.minImprovement)}`
      : improvement === 0
        ? 'is no better than the champion'
        : `is worse than the champion by ${fmt(-improvement)}`;
  return { ...base, champion: theirs, passed, reason: `${compared}: ${verdict} (${needed} improvement required)` };
}
