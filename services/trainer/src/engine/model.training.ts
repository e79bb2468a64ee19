// The engine's one entry point: trains a built-in model on an in-memory dataset and returns the model,
// its validation metrics, the reference profile of the training rows and the ONNX bytes. Pure: no I/O,
// deterministic for a given seed. The run orchestration (SubmitRun) is expected to load the dataset
// version, call trainModel, upload `onnx` and register the version with `metrics` and `profile`.
import type { ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { BuiltinModel, type BuiltinModelInfo, type Prediction } from './builtin.model.js';
import { encodeRows, fitEncoding, isMissing, type DataRecord, type FeatureEncoding, type TrainingData } from './dataset.encoding.js';
import { splitRows } from './dataset.split.js';
import { trainLinearRegression } from './linear.trainer.js';
import { trainLogisticRegression } from './logistic.trainer.js';
import { takeRows } from './matrix.js';
import { accuracy, f1Macro, mae, r2, rmse, rocAuc, rocAucOvr } from './metrics.js';
import { trainMlp } from './mlp.trainer.js';
import { referenceProfile } from './reference.profile.js';
import { fitStandardizer } from './standardizer.js';
import { TrainingError } from './training.error.js';
import { parseTrainSpec, type TrainingOptions, type TrainSpec } from './training.options.js';

/** Fewest labelled rows the engine trains on (a few for each side of the split). */
export const MIN_ROWS = 5;

export interface TrainResult {
  readonly model: BuiltinModel;
  /**
   * Validation metrics: accuracy, f1_macro, roc_auc (binary; one-vs-rest macro for more classes) or
   * rmse, mae, r2; roc_auc and r2 are absent when undefined (one class / constant target). Plus
   * train_rows, validation_rows and dropped_rows (rows without a label).
   */
  readonly metrics: Record<string, number>;
  /** Distributions of the training rows' features and of the model's predictions on them. */
  readonly profile: ReferenceProfile;
  /** The .onnx file (see BuiltinModel.toOnnx for the graph's interface). */
  readonly onnx: Uint8Array;
  /** How records become the model's `input` columns. */
  readonly encoding: FeatureEncoding;
  readonly options: TrainingOptions;
}

function compareClasses(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na - nb || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function trainModel(spec: TrainSpec, data: TrainingData): TrainResult {
  const options = parseTrainSpec(spec);
  if (data.features.some((f) => f.name === data.label)) throw new TrainingError(`the label "${data.label}" is also listed as a feature`);
  const rows: DataRecord[] = data.rows.filter((r) => !isMissing(r[data.label]));
  const dropped = data.rows.length - rows.length;
  if (rows.length < MIN_ROWS) {
    throw new TrainingError(`${options.trainer} needs at least ${MIN_ROWS} rows with a "${data.label}" label; the dataset has ${rows.length}`);
  }

  let classes: string[] = [];
  let labels: Int32Array | undefined;
  let targets: Float64Array | undefined;
  if (options.task === 'classification') {
    const names = rows.map((r) => String(r[data.label] as string | number | boolean));
    classes = [...new Set(names)].sort(compareClasses);
    if (classes.length < 2) throw new TrainingError(`label "${data.label}" has only the class ${JSON.stringify(classes[0])}; classification needs at least two`);
    const index = new Map(classes.map((c, i) => [c, i]));
    labels = Int32Array.from(names, (n) => index.get(n) as number);
  } else {
    targets = Float64Array.from(rows, (r, i) => {
      const v = r[data.label];
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
      if (!Number.isFinite(n)) throw new TrainingError(`row ${i}: label "${data.label}" is ${JSON.stringify(v)}, not a number (regression needs numeric labels)`);
      return n;
    });
  }

  const split = splitRows(rows.length, options.validationFraction, options.seed, labels);
  if (split.train.length < 2 || split.validation.length < 1) {
    throw new TrainingError(`${rows.length} rows split into ${split.train.length} training and ${split.validation.length} validation rows; add rows or raise validation_fraction`);
  }
  const trainRows = split.train.map((i) => rows[i] as DataRecord);
  const encoding = fitEncoding(data.features, rows, trainRows);
  const x = encodeRows(encoding, rows);
  const xTrain = takeRows(x, split.train);
  const xValidation = takeRows(x, split.validation);
  const standardizer = fitStandardizer(xTrain);
  const info: BuiltinModelInfo = { trainer: options.trainer, task: options.task, encoding, classes };
  const pick = <T extends Int32Array | Float64Array>(all: T, idx: readonly number[]): T => {
    const out = new (all.constructor as new (n: number) => T)(idx.length);
    idx.forEach((i, k) => (out[k] = all[i] as number));
    return out;
  };

  let model: BuiltinModel;
  switch (options.trainer) {
    case 'builtin:linear-regression':
      model = trainLinearRegression(info, standardizer, xTrain, pick(targets as Float64Array, split.train), options);
      break;
    case 'builtin:logistic-regression':
      model = trainLogisticRegression(info, standardizer, xTrain, pick(labels as Int32Array, split.train), options);
      break;
    case 'builtin:mlp-classifier':
      model = trainMlp(info, standardizer, xTrain, pick(labels as Int32Array, split.train), options);
      break;
    case 'builtin:mlp-regressor':
      model = trainMlp(info, standardizer, xTrain, pick(targets as Float64Array, split.train), options);
      break;
  }

  const validation = model.predict(xValidation);
  const metrics: Record<string, number> = evaluate(validation, labels ? pick(labels, split.validation) : pick(targets as Float64Array, split.validation), classes.length);
  metrics.train_rows = split.train.length;
  metrics.validation_rows = split.validation.length;
  metrics.dropped_rows = dropped;

  const onTrain = model.predict(xTrain);
  const profile = referenceProfile(
    encoding.features,
    trainRows,
    onTrain.task === 'regression' ? { kind: 'numeric', values: onTrain.values } : { kind: 'categorical', values: Array.from(onTrain.labels, (l) => classes[l] as string) },
  );
  return { model, metrics, profile, onnx: model.toOnnx(), encoding, options };
}

/** Metrics of predictions against the true labels (class indices) or targets. */
export function evaluate(prediction: Prediction, truth: ArrayLike<number>, classes: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (prediction.task === 'regression') {
    out.rmse = rmse(truth, prediction.values);
    out.mae = mae(truth, prediction.values);
    const r = r2(truth, prediction.values);
    if (r !== undefined) out.r2 = r;
    return out;
  }
  out.accuracy = accuracy(truth, prediction.labels);
  out.f1_macro = f1Macro(truth, prediction.labels);
  const auc =
    classes === 2
      ? rocAuc(truth, Float64Array.from({ length: truth.length }, (_, i) => prediction.probabilities[i * 2 + 1] as number))
      : rocAucOvr(truth, prediction.probabilities, classes);
  if (auc !== undefined) out.roc_auc = auc;
  return out;
}
