import { describe, expect, it } from 'vitest';
import { hyperparametersOf, parseTrainSpec } from './training.options.js';

describe('parseTrainSpec', () => {
  it('fills defaults per trainer', () => {
    expect(parseTrainSpec({ trainer: 'builtin:mlp-classifier' })).toMatchObject({
      task: 'classification',
      seed: 42,
      validationFraction: 0.2,
      epochs: 200,
      batchSize: 32,
      hiddenLayers: [32],
    });
    expect(parseTrainSpec({ trainer: 'builtin:linear-regression', hyperparameters: { l2: '0.5', seed: '3' } })).toMatchObject({
      task: 'regression',
      l2: 0.5,
      seed: 3,
    });
    expect(parseTrainSpec({ trainer: 'builtin:mlp-regressor', hyperparameters: { hidden_layers: '16, 8' } }).hiddenLayers).toEqual([16, 8]);
    expect(Object.keys(hyperparametersOf('builtin:linear-regression'))).toEqual(['seed', 'validation_fraction', 'l2']);
  });

  it('names an unknown trainer and lists the built-in ones', () => {
    expect(() => parseTrainSpec({ trainer: 'builtin:xgboost' })).toThrow(
      /trainer "builtin:xgboost" is not a built-in trainer; use one of builtin:linear-regression, builtin:logistic-regression/,
    );
  });

  it('reports every bad or unknown hyperparameter at once', () => {
    let message = '';
    try {
      parseTrainSpec({ trainer: 'builtin:linear-regression', hyperparameters: { epochs: '5', seed: '-1', validation_fraction: 'half' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('"epochs" is not a hyperparameter of builtin:linear-regression (it takes seed, validation_fraction, l2)');
    expect(message).toContain('seed: -1 is outside [0, 4294967295]');
    expect(message).toContain('validation_fraction: "half" is not a number');
    expect(() => parseTrainSpec({ trainer: 'builtin:mlp-classifier', hyperparameters: { hidden_layers: '8,8,8' } })).toThrow(/one or two comma-separated/);
  });
});
