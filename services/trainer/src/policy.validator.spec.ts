import { GrpcError } from '@aio/grpc';
import { PromotionAction, RetrainPolicySchema, type RetrainPolicy } from '@aio/proto/aio/trainer/v1/trainer';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { validateRetrainPolicy } from './policy.validator.js';

type Init = Partial<Pick<RetrainPolicy, 'model' | 'dataset' | 'trainer' | 'hyperparameters' | 'action' | 'canaryWeight' | 'onDrift' | 'cron'>> & {
  gate?: { metric: string; higherIsBetter: boolean; minImprovement?: number } | undefined;
};

const base: Init = {
  model: 'churn',
  dataset: 'customers',
  trainer: 'builtin:logistic-regression',
  gate: { metric: 'accuracy', higherIsBetter: true },
  action: PromotionAction.PROMOTE,
  onDrift: true,
};

function problem(over: Init): string {
  try {
    validateRetrainPolicy(create(RetrainPolicySchema, { ...base, ...over }));
  } catch (err) {
    if (err instanceof GrpcError) return err.message;
    throw err;
  }
  return 'valid';
}

describe('validateRetrainPolicy', () => {
  it('accepts a complete policy', () => {
    expect(problem({})).toBe('valid');
    expect(problem({ trainer: 'builtin:mlp-regressor', gate: { metric: 'rmse', higherIsBetter: false, minImprovement: 0.1 } })).toBe('valid');
    expect(problem({ action: PromotionAction.CANARY, canaryWeight: 10 })).toBe('valid');
  });

  it('accepts a cron schedule and names what is wrong with a bad one', () => {
    expect(problem({ cron: '0 3 * * 1' })).toBe('valid');
    expect(problem({ cron: '0 25 * * *' })).toMatch(/^policy\.cron: hour "25": values must be within 0-23/);
  });

  it('names the field and the rule', () => {
    expect(problem({ trainer: 'builtin:forest' })).toMatch(/policy\.trainer.*not a known trainer/);
    expect(problem({ hyperparameters: { epochs: 'x' } })).toMatch(/policy\.hyperparameters.*epochs/);
    expect(problem({ gate: { metric: 'rmse', higherIsBetter: false } })).toMatch(/policy\.gate\.metric.*classification: accuracy, f1_macro, roc_auc/);
    expect(problem({ gate: { metric: 'accuracy', higherIsBetter: false } })).toMatch(/higher_is_better.*must be true/);
    expect(problem({ gate: { metric: 'accuracy', higherIsBetter: true, minImprovement: -1 } })).toMatch(/min_improvement/);
    expect(problem({ gate: undefined })).toMatch(/policy\.gate.*required/);
    expect(problem({ action: PromotionAction.UNSPECIFIED })).toMatch(/policy\.action/);
    expect(problem({ action: PromotionAction.CANARY, canaryWeight: 0 })).toMatch(/canary_weight.*1-99/);
    expect(problem({ action: PromotionAction.CANARY, canaryWeight: 100 })).toMatch(/canary_weight.*1-99/);
    expect(problem({ canaryWeight: 5 })).toMatch(/only to PROMOTION_ACTION_CANARY/);
    expect(problem({ model: 'Bad Name' })).toMatch(/policy\.model/);
  });

  it('requires a policy', () => {
    expect(() => validateRetrainPolicy(undefined as RetrainPolicy | undefined)).toThrow(/policy/);
  });
});
