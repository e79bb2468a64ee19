import { invalidArgument } from '@aio/grpc';
import { PromotionAction, type RetrainPolicy } from '@aio/proto/aio/trainer/v1/trainer';
import { TrainingError } from './engine/training.error.js';
import { BUILTIN_TRAINERS, parseTrainSpec } from './engine/training.options.js';
import { CronError, parseCron } from './cron.schedule.js';
import { checkName } from './run.validator.js';

// The validation metrics the engine reports per task (see TrainResult.metrics); row counts are not gates.
const TASK_METRICS = { classification: ['accuracy', 'f1_macro', 'roc_auc'], regression: ['rmse', 'mae', 'r2'] } as const;
const LOWER_IS_BETTER = new Set(['rmse', 'mae']);
const ACTIONS = new Set<number>([PromotionAction.SET_CHALLENGER, PromotionAction.CANARY, PromotionAction.PROMOTE]);

/** A policy's own rules: known trainer and hyperparameters, a metric that trainer produces, a sane action. */
export function validateRetrainPolicy(policy: RetrainPolicy | undefined): asserts policy is RetrainPolicy {
  if (policy === undefined) throw invalidArgument('policy', 'is required');
  checkName(policy.model, 'policy.model');
  checkName(policy.dataset, 'policy.dataset');
  if (!(BUILTIN_TRAINERS as readonly string[]).includes(policy.trainer)) {
    throw invalidArgument('policy.trainer', `"${policy.trainer}" is not a known trainer; use one of ${BUILTIN_TRAINERS.join(', ')}`);
  }
  let task: keyof typeof TASK_METRICS;
  try {
    task = parseTrainSpec({ trainer: policy.trainer, hyperparameters: policy.hyperparameters }).task;
  } catch (err) {
    if (err instanceof TrainingError) throw invalidArgument('policy.hyperparameters', err.message);
    throw err;
  }
  const gate = policy.gate;
  if (gate === undefined) throw invalidArgument('policy.gate', `is required (e.g. { metric: "${TASK_METRICS[task][0]}", higher_is_better: true })`);
  const metrics: readonly string[] = TASK_METRICS[task];
  if (!metrics.includes(gate.metric)) {
    throw invalidArgument('policy.gate.metric', `"${gate.metric}" is not a metric ${policy.trainer} produces (${task}: ${metrics.join(', ')})`);
  }
  if (gate.higherIsBetter === LOWER_IS_BETTER.has(gate.metric)) {
    throw invalidArgument('policy.gate.higher_is_better', `must be ${!LOWER_IS_BETTER.has(gate.metric)} for ${gate.metric}`);
  }
  if (!Number.isFinite(gate.minImprovement) || gate.minImprovement < 0) {
    throw invalidArgument('policy.gate.min_improvement', `must be a number >= 0 in ${gate.metric}'s units (got ${gate.minImprovement})`);
  }
  if (!ACTIONS.has(policy.action)) throw invalidArgument('policy.action', 'must be PROMOTION_ACTION_SET_CHALLENGER, PROMOTION_ACTION_CANARY or PROMOTION_ACTION_PROMOTE');
  if (policy.action === PromotionAction.CANARY) {
    if (policy.canaryWeight < 1 || policy.canaryWeight > 99) throw invalidArgument('policy.canary_weight', `must be 1-99 (percent of traffic for the new version) with CANARY; got ${policy.canaryWeight}`);
  } else if (policy.canaryWeight !== 0) {
    throw invalidArgument('policy.canary_weight', 'applies only to PROMOTION_ACTION_CANARY; leave it 0');
  }
  if (policy.cron !== '') {
    try {
      parseCron(policy.cron);
    } catch (err) {
      if (err instanceof CronError) throw invalidArgument('policy.cron', `${err.message} (UTC; e.g. "0 3 * * 1")`);
      throw err;
    }
  }
}
