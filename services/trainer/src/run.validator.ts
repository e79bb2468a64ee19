import { invalidArgument } from '@aio/grpc';
import { RunState, type SubmitRunRequest } from '@aio/proto/aio/trainer/v1/trainer';

// Model and dataset names: the registry's and ingestion's alphabet (they end up in topic keys and URLs).
export const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const KNOWN_STATES = new Set<number>(Object.values(RunState).filter((v): v is number => typeof v === 'number'));

export function checkName(value: string, field: string): void {
  if (value === '') throw invalidArgument(field, 'is required');
  if (!NAME.test(value)) throw invalidArgument(field, `"${value}" must be 1-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit`);
}

export function checkRunId(id: string): void {
  if (id === '') throw invalidArgument('id', 'is required');
  if (id.length > 128) throw invalidArgument('id', 'must be at most 128 characters');
}

export function checkRunState(state: RunState): void {
  if (!KNOWN_STATES.has(state)) throw invalidArgument('state', `${state} is not a RunState`);
}

/** The request's own rules; whether the dataset exists is the service's question. */
export function validateSubmitRun(request: SubmitRunRequest, externalTrainers: readonly string[] = []): void {
  checkName(request.model, 'model');
  checkName(request.dataset, 'dataset');
  if (request.trainer === '') throw invalidArgument('trainer', 'is required (e.g. "builtin:logistic-regression")');
  if (request.trainer.startsWith('external:')) {
    const name = request.trainer.slice('external:'.length);
    if (!externalTrainers.includes(name)) {
      const known = externalTrainers.length === 0 ? 'none are configured (TRAINER_EXTERNAL_COMMANDS)' : `known: ${externalTrainers.map((n) => `external:${n}`).join(', ')}`;
      throw invalidArgument('trainer', `"${request.trainer}" is not a configured external trainer; ${known}`);
    }
  }
  for (const key of Object.keys(request.hyperparameters)) {
    if (key === '') throw invalidArgument('hyperparameters', 'keys must not be empty');
  }
}
