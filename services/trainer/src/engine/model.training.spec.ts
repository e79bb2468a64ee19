// Each built-in trainer on seeded synthetic data: metrics above sane thresholds, and the exported ONNX
// model run by onnxruntime gives the in-memory model's predictions.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readModel } from '@aio/onnx';
import { ONNX_INPUT, ONNX_LABEL, ONNX_OUTPUT, ONNX_PROBABILITIES, type Prediction } from './builtin.model.js';
import { encodeRows, type DataRecord, type FeatureDef, type TrainingData } from './dataset.encoding.js';
import { trainModel, type TrainResult } from './model.training.js';
import { Rng } from './random.js';
import { TrainingError } from './training.error.js';

/** y = 3 x1 - 2 x2 + effect(region) + N(0, 0.1²) */
function regressionData(n: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const effect: Record<string, number> = { north: 1, south: -1, west: 0.5 };
  const regions = Object.keys(effect);
  const rows: DataRecord[] = Array.from({ length: n }, () => {
    const x1 = rng.normal() * 2 + 5;
    const x2 = rng.normal() * 0.5 - 1;
    const region = regions[Math.floor(rng.next() * regions.length)] as string;
    return { x1, x2, region, y: 3 * x1 - 2 * x2 + (effect[region] as number) + rng.normal() * 0.1 };
  });
  return {
    features: [
      { name: 'x1', type: 'numeric' },
      { name: 'x2', type: 'numeric' },
      { name: 'region', type: 'categorical' },
    ],
    label: 'y',
    rows,
  };
}

/** Gaussian blobs in two dimensions, one per class, labelled by name. */
function blobs(centers: readonly (readonly [number, number])[], names: readonly string[], perClass: number, spread: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const rows: DataRecord[] = [];
  for (let i = 0; i < perClass; i++) {
    centers.forEach(([cx, cy], c) => rows.push({ a: cx + rng.normal() * spread, b: cy + rng.normal() * spread, species: names[c] }));
  }
  const features: FeatureDef[] = [
    { name: 'a', type: 'numeric' },
    { name: 'b', type: 'numeric' },
  ];
  return { features, label: 'species', rows };
}

const TWO_BLOBS = blobs(
  [
    [-1, -1],
    [1.5, 1.5],
  ],
  ['no', 'yes'],
  200,
  1,
  11,
);
const THREE_BLOBS = blobs(
  [
    [0, 0],
    [4, 0],
    [0, 4],
  ],
  ['setosa', 'versicolor', 'virginica'],
  150,
  0.8,
  12,
);
const REGRESSION = regressionData(400, 13);

/** Runs the exported model on the encoded rows and checks it against the in-memory predictions. */
async function expectOnnxMatches(result: TrainResult, data: TrainingData): Promise<void> {
  const x = encodeRows(result.encoding, data.rows);
  const mine: Prediction = result.model.predict(x);
  const session = await InferenceSession.create(result.onnx);
  try {
    expect(session.inputNames).toEqual([ONNX_INPUT]);
    const out = await session.run({ [ONNX_INPUT]: new Tensor('float32', Float32Array.from(x.data), [x.rows, x.cols]) });
    if (mine.task === 'regression') {
      expect(session.outputNames).toEqual([ONNX_OUTPUT]);
      const values = out[ONNX_OUTPUT];
      expect(values?.dims).toEqual([x.rows, 1]);
      expect(maxAbsDiff(values?.data as Float32Array, mine.values)).toBeLessThan(1e-4);
    } else {
      expect(session.outputNames).toEqual([ONNX_PROBABILITIES, ONNX_LABEL]);
      const probabilities = out[ONNX_PROBABILITIES];
      const label = out[ONNX_LABEL];
      expect(probabilities?.dims).toEqual([x.rows, result.model.info.classes.length]);
      expect(label?.type).toBe('int64');
      expect(label?.dims).toEqual([x.rows]);
      expect(maxAbsDiff(probabilities?.data as Float32Array, mine.probabilities)).toBeLessThan(1e-4);
      expect(Array.from(label?.data as BigInt64Array, Number)).toEqual(Array.from(mine.labels));
    }
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('builtin:linear-regression', () => {
  const result = trainModel({ trainer: 'builtin:linear-regression' }, REGRESSION);

  it('recovers y = 3 x1 - 2 x2 + region effect', () => {
    expect(result.metrics.r2).toBeGreaterThan(0.99);
    expect(result.metrics.rmse).toBeLessThan(0.2);
    expect(result.metrics.mae).toBeLessThan(0.2);
    expect(result.metrics).toMatchObject({ train_rows: 320, validation_rows: 80, dropped_rows: 0 });
    // predictions for the raw records: x1 = 1, x2 = 0 in the north -> 3 + 1
    const p = result.model.predictRecords([{ x1: 1, x2: 0, region: 'north' }]);
    expect(p.task === 'regression' && p.values[0]).toBeCloseTo(4, 0);
  });

  it('exports an ONNX model that predicts the same values', async () => {
    await expectOnnxMatches(result, REGRESSION);
  });

  it('carries standardisation as Sub/Div nodes and the encoding in the metadata', () => {
    const model = readModel(result.onnx);
    expect(model.graph?.node.map((n) => n.opType)).toEqual(['Sub', 'Div', 'Gemm', 'Identity']);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta['aio.input_columns'] as string)).toEqual(['x1', 'x2', 'region=north', 'region=south', 'region=west']);
    expect(meta['aio.task']).toBe('regression');
  });

  it('profiles the training rows and the predictions', () => {
    expect(result.profile.features.map((f) => f.name)).toEqual(['x1', 'x2', 'region', 'prediction']);
    const x1 = result.profile.features[0];
    expect(x1?.count).toBe(320n);
    expect(x1?.distribution.case === 'numeric' && x1.distribution.value.counts.length).toBe(10);
    expect(x1?.distribution.case === 'numeric' && x1.distribution.value.mean).toBeCloseTo(5, 0);
  });

  it('is deterministic: the same seed gives the same bytes, another seed another split', () => {
    expect(trainModel({ trainer: 'builtin:linear-regression' }, REGRESSION).onnx).toEqual(result.onnx);
    const other = trainModel({ trainer: 'builtin:linear-regression', hyperparameters: { seed: '7' } }, REGRESSION);
    expect(other.metrics.rmse).not.toBe(result.metrics.rmse);
  });
});

describe('builtin:logistic-regression', () => {
  it('separates two blobs with a sigmoid and exports matching probabilities and labels', async () => {
    const result = trainModel({ trainer: 'builtin:logistic-regression' }, TWO_BLOBS);
    expect(result.model.info.classes).toEqual(['no', 'yes']);
    expect(result.metrics.accuracy).toBeGreaterThan(0.9);
    expect(result.metrics.f1_macro).toBeGreaterThan(0.9);
    expect(result.metrics.roc_auc).toBeGreaterThan(0.95);
    expect(readModel(result.onnx).graph?.node.map((n) => n.opType)).toContain('Sigmoid');
    await expectOnnxMatches(result, TWO_BLOBS);
    const prediction = result.profile.features.find((f) => f.name === 'prediction');
    expect(prediction?.distribution.case).toBe('categorical');
  });

  it('separates three blobs with a softmax and exports matching probabilities and labels', async () => {
    const result = trainModel({ trainer: 'builtin:logistic-regression' }, THREE_BLOBS);
    expect(result.model.info.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(result.metrics.accuracy).toBeGreaterThan(0.93);
    expect(result.metrics.f1_macro).toBeGreaterThan(0.93);
    expect(result.metrics.roc_auc).toBeGreaterThan(0.98);
    expect(readModel(result.onnx).graph?.node.map((n) => n.opType)).toContain('Softmax');
    await expectOnnxMatches(result, THREE_BLOBS);
  });
});

describe('builtin:mlp-classifier and builtin:mlp-regressor', () => {
  it('classifies three blobs with two hidden layers', async () => {
    const result = trainModel({ trainer: 'builtin:mlp-classifier', hyperparameters: { hidden_layers: '16,8', epochs: '60' } }, THREE_BLOBS);
    expect(result.metrics.accuracy).toBeGreaterThan(0.93);
    expect(result.metrics.roc_auc).toBeGreaterThan(0.98);
    expect(readModel(result.onnx).graph?.node.filter((n) => n.opType === 'Relu')).toHaveLength(2);
    await expectOnnxMatches(result, THREE_BLOBS);
  });

  it('classifies two blobs (softmax over two classes)', async () => {
    const result = trainModel({ trainer: 'builtin:mlp-classifier', hyperparameters: { epochs: '40' } }, TWO_BLOBS);
    expect(result.metrics.accuracy).toBeGreaterThan(0.9);
    expect(result.metrics.roc_auc).toBeGreaterThan(0.95);
    await expectOnnxMatches(result, TWO_BLOBS);
  });

  it('fits the regression target in label units', async () => {
    const result = trainModel({ trainer: 'builtin:mlp-regressor', hyperparameters: { epochs: '150', hidden_layers: '16' } }, REGRESSION);
    expect(result.metrics.r2).toBeGreaterThan(0.97);
    await expectOnnxMatches(result, REGRESSION);
  });
});

describe('trainModel errors', () => {
  it('drops rows without a label and counts them', () => {
    const data = { ...REGRESSION, rows: [...REGRESSION.rows.slice(0, 50), { x1: 1, x2: 2, region: 'north' }, { x1: 1, x2: 2, region: 'north', y: null }] };
    expect(trainModel({ trainer: 'builtin:linear-regression' }, data).metrics.dropped_rows).toBe(2);
  });

  it('says what is wrong with the data', () => {
    const few = { ...TWO_BLOBS, rows: TWO_BLOBS.rows.slice(0, 4) };
    expect(() => trainModel({ trainer: 'builtin:logistic-regression' }, few)).toThrow(/needs at least 5 rows with a "species" label; the dataset has 4/);
    const oneClass = { ...TWO_BLOBS, rows: TWO_BLOBS.rows.filter((r) => r.species === 'no') };
    expect(() => trainModel({ trainer: 'builtin:logistic-regression' }, oneClass)).toThrow(/has only the class "no"; classification needs at least two/);
    const text = { ...REGRESSION, rows: REGRESSION.rows.map((r, i) => (i === 3 ? { ...r, y: 'high' } : r)) };
    expect(() => trainModel({ trainer: 'builtin:linear-regression' }, text)).toThrow(/row 3: label "y" is "high", not a number/);
    expect(() => trainModel({ trainer: 'builtin:linear-regression' }, { ...REGRESSION, label: 'x1' })).toThrow(TrainingError);
  });
});
