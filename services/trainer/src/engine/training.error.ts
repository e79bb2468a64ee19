/**
 * A training request or dataset the engine cannot train on. The message names the hyperparameter,
 * feature, row or label and what to change; the run orchestration reports it as the run's error.
 */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
}
