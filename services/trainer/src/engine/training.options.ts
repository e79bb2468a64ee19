// The trainer name and string hyperparameters of a run (SubmitRunRequest.trainer / .hyperparameters),
// parsed and checked into typed options. Every bad or unknown key is reported at once.
import { TrainingError } from './training.error.js';

export const BUILTIN_TRAINERS = ['builtin:linear-regression', 'builtin:logistic-regression', 'builtin:mlp-classifier', 'builtin:mlp-regressor'] as const;
export type BuiltinTrainer = (typeof BUILTIN_TRAINERS)[number];

/** What to train: a trainer name and its hyperparameters as strings (as a run stores them). */
export interface TrainSpec {
  readonly trainer: string;
  readonly hyperparameters?: Readonly<Record<string, string>>;
}

export interface TrainingOptions {
  readonly trainer: BuiltinTrainer;
  readonly task: 'regression' | 'classification';
  readonly seed: number;
  readonly validationFraction: number;
  readonly l2: number;
  readonly epochs: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly hiddenLayers: readonly number[];
}

type Parser = (raw: string) => number | number[];

function num(min: number, max: number, integer: boolean): Parser {
  return (raw) => {
    const v = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`"${raw}" is not a number`);
    if (integer && !Number.isInteger(v)) throw new Error(`"${raw}" is not an integer`);
    if (v < min || v > max) throw new Error(`${v} is outside [${min}, ${max}]`);
    return v;
  };
}

const layers: Parser = (raw) => {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length < 1 || parts.length > 2) throw new Error(`"${raw}" must be one or two comma-separated layer sizes, e.g. "32" or "32,16"`);
  return parts.map((p) => num(1, 1024, true)(p) as number);
};

interface Param {
  readonly parse: Parser;
  readonly defaults: Partial<Record<BuiltinTrainer, number | number[]>> & { readonly all?: number | number[] };
  readonly help: string;
}

const PARAMS: Record<string, Param> = {
  seed: { parse: num(0, 2 ** 32 - 1, true), defaults: { all: 42 }, help: 'integer seed of the split and the initial weights' },
  validation_fraction: { parse: num(0.05, 0.5, false), defaults: { all: 0.2 }, help: 'share of rows held out for the metrics' },
  l2: {
    parse: num(0, 100, false),
    defaults: { all: 1e-4 },
    help: 'L2 penalty on the weights',
  },
  epochs: {
    parse: num(1, 100_000, true),
    defaults: { 'builtin:logistic-regression': 300, 'builtin:mlp-classifier': 200, 'builtin:mlp-regressor': 200 },
    help: 'passes over the training rows',
  },
  learning_rate: {
    parse: num(1e-6, 10, false),
    defaults: { 'builtin:logistic-regression': 0.1, 'builtin:mlp-classifier': 0.01, 'builtin:mlp-regressor': 0.01 },
    help: 'Adam step size',
  },
  batch_size: {
    parse: num(1, 65_536, true),
    defaults: { 'builtin:mlp-classifier': 32, 'builtin:mlp-regressor': 32 },
    help: 'rows per Adam step',
  },
  hidden_layers: {
    parse: layers,
    defaults: { 'builtin:mlp-classifier': [32], 'builtin:mlp-regressor': [32] },
    help: 'units per hidden layer, e.g. "32" or "32,16"',
  },
};

function defaultOf(p: Param, trainer: BuiltinTrainer): number | number[] | undefined {
  return p.defaults[trainer] ?? p.defaults.all;
}

/** The hyperparameters a trainer accepts, with their defaults (for READMEs and error messages). */
export function hyperparametersOf(trainer: BuiltinTrainer): Record<string, string> {
  return Object.fromEntries(
    Object.entries(PARAMS)
      .filter(([, p]) => defaultOf(p, trainer) !== undefined)
      .map(([k, p]) => [k, `${String(defaultOf(p, trainer))} (${p.help})`]),
  );
}

export function parseTrainSpec(spec: TrainSpec): TrainingOptions {
  if (!(BUILTIN_TRAINERS as readonly string[]).includes(spec.trainer)) {
    throw new TrainingError(`trainer "${spec.trainer}" is not a built-in trainer; use one of ${BUILTIN_TRAINERS.join(', ')}`);
  }
  const trainer = spec.trainer as BuiltinTrainer;
  const problems: string[] = [];
  const values = new Map<string, number | number[]>();
  for (const [key, raw] of Object.entries(spec.hyperparameters ?? {})) {
    const p = PARAMS[key];
    if (!p || defaultOf(p, trainer) === undefined) {
      problems.push(`"${key}" is not a hyperparameter of ${trainer} (it takes ${Object.keys(hyperparametersOf(trainer)).join(', ')})`);
      continue;
    }
    try {
      values.set(key, p.parse(raw));
    } catch (err) {
      problems.push(`${key}: ${(err as Error).message} (${p.help})`);
    }
  }
  if (problems.length > 0) throw new TrainingError(`bad hyperparameters for ${trainer}: ${problems.join('; ')}`);
  const get = (key: string): number | number[] => values.get(key) ?? defaultOf(PARAMS[key] as Param, trainer) ?? 0;
  const scalar = (key: string): number => get(key) as number;
  const hidden = get('hidden_layers');
  return {
    trainer,
    task: trainer === 'builtin:linear-regression' || trainer === 'builtin:mlp-regressor' ? 'regression' : 'classification',
    seed: scalar('seed'),
    validationFraction: scalar('validation_fraction'),
    l2: scalar('l2'),
    epochs: scalar('epochs'),
    learningRate: scalar('learning_rate'),
    batchSize: scalar('batch_size'),
    hiddenLayers: Array.isArray(hidden) ? hidden : [],
  };
}
