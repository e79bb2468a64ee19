// The in-memory form every built-in trainer produces: standardisation, a stack of dense layers (ReLU
// between them) and a head. `predict` and the exported ONNX graph run the same float32 parameters
// through the same operations, so their outputs agree to float32 rounding.
import { ModelBuilder } from '@aio/onnx';
import { encodeRows, type DataRecord, type FeatureEncoding } from './dataset.encoding.js';
import { affine, argMaxRows, fromRows, sigmoid, softmaxRows, zeros, type Matrix } from './matrix.js';
import { standardize, type Standardizer } from './standardizer.js';

export type Task = 'regression' | 'classification';

/** y = x · w + b with w row-major [inputs, outputs]; ReLU after it when `relu`. */
export interface DenseLayer {
  readonly inputs: number;
  readonly outputs: number;
  readonly w: Float32Array;
  readonly b: Float32Array;
  readonly relu: boolean;
}

/**
 * What turns the last layer into predictions: the value itself (regression, one output), a sigmoid
 * over one logit (binary classification), or a softmax over one logit per class.
 */
export type ModelHead = 'identity' | 'sigmoid' | 'softmax';

export type Prediction =
  | { readonly task: 'regression'; readonly values: Float64Array }
  | {
      readonly task: 'classification';
      /** Row-major [rows, classes.length]. */
      readonly probabilities: Float64Array;
      /** Index into `classes` per row. */
      readonly labels: Int32Array;
    };

export interface BuiltinModelInfo {
  /** e.g. "builtin:logistic-regression". */
  readonly trainer: string;
  readonly task: Task;
  readonly encoding: FeatureEncoding;
  /** Class names in label-index order; empty for regression. */
  readonly classes: readonly string[];
}

// Names of the exported graph's values, the contract with the inference gateway.
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';
export const ONNX_PROBABILITIES = 'probabilities';
export const ONNX_LABEL = 'label';

export class BuiltinModel {
  constructor(
    readonly info: BuiltinModelInfo,
    readonly standardizer: Standardizer,
    readonly layers: readonly DenseLayer[],
    readonly head: ModelHead,
  ) {
    const width = info.encoding.columns.length;
    if (layers[0]?.inputs !== width) throw new RangeError(`first layer takes ${layers[0]?.inputs} inputs, the encoding has ${width} columns`);
    layers.forEach((l, i) => {
      const next = layers[i + 1];
      if (next && next.inputs !== l.outputs) throw new RangeError(`layer ${i + 1} takes ${next.inputs} inputs, layer ${i} gives ${l.outputs}`);
    });
  }

  /** Columns of the model input, in order. */
  get inputWidth(): number {
    return this.info.encoding.columns.length;
  }

  /**
   * Predictions for encoded rows (the `input` tensor's values). Values are rounded to float32 first,
   * as the ONNX model receives them.
   */
  predict(rows: Matrix | readonly (readonly number[])[]): Prediction {
    const x = 'data' in rows ? rows : fromRows(rows, this.inputWidth);
    if (x.cols !== this.inputWidth) throw new RangeError(`input has ${x.cols} columns, the model takes ${this.inputWidth}`);
    return this.fromLastLayer(this.forward({ rows: x.rows, cols: x.cols, data: Float64Array.from(Float32Array.from(x.data)) }));
  }

  /** Predictions for raw records (encoded first with the training encoding). */
  predictRecords(records: readonly DataRecord[]): Prediction {
    return this.predict(encodeRows(this.info.encoding, records));
  }

  /** The last layer's output (logits for classification) for float64 inputs; used by training too. */
  forward(x: Matrix): Matrix {
    let h = standardize(this.standardizer, x);
    for (const layer of this.layers) {
      h = affine(h, layer.w, layer.b, layer.outputs);
      if (layer.relu) for (let i = 0; i < h.data.length; i++) if ((h.data[i] as number) < 0) h.data[i] = 0;
    }
    return h;
  }

  private fromLastLayer(z: Matrix): Prediction {
    switch (this.head) {
      case 'identity':
        return { task: 'regression', values: Float64Array.from({ length: z.rows }, (_, r) => z.data[r * z.cols] as number) };
      case 'sigmoid': {
        const p = zeros(z.rows, 2);
        for (let r = 0; r < z.rows; r++) {
          const s = sigmoid(z.data[r] as number);
          p.data[r * 2] = 1 - s;
          p.data[r * 2 + 1] = s;
        }
        return { task: 'classification', probabilities: p.data, labels: argMaxRows(p) };
      }
      case 'softmax': {
        const p = softmaxRows(z);
        return { task: 'classification', probabilities: p.data, labels: argMaxRows(p) };
      }
    }
  }

  /**
   * The model as an .onnx file (opset 17): `input` FP32 [N, F] -> Sub(mean) -> Div(std) -> Gemm
   * (+Relu) per layer -> `output` FP32 [N, 1] for regression, or `probabilities` FP32 [N, C] and
   * `label` INT64 [N] for classification. Metadata: aio.trainer, aio.task, aio.input_columns and
   * aio.classes (JSON arrays).
   */
  toOnnx(): Uint8Array {
    const { trainer, task, encoding, classes } = this.info;
    const width = this.inputWidth;
    const b = new ModelBuilder({ graphName: trainer.replace(/[^a-zA-Z0-9_]/g, '_') })
      .meta('aio.trainer', trainer)
      .meta('aio.task', task)
      .meta('aio.input_columns', JSON.stringify(encoding.columns.map((c) => c.name)))
      .meta('aio.classes', JSON.stringify(classes));
    const x = b.input(ONNX_INPUT, 'float32', ['N', width]);
    let h = b.div(b.sub(x, b.initializer('mean', this.standardizer.mean, [width])), b.initializer('std', this.standardizer.std, [width]));
    this.layers.forEach((layer, i) => {
      h = b.gemm(h, b.initializer(`W${i}`, layer.w, [layer.inputs, layer.outputs]), b.initializer(`B${i}`, layer.b, [layer.outputs]));
      if (layer.relu) h = b.relu(h);
    });
    switch (this.head) {
      case 'identity':
        b.output(ONNX_OUTPUT, 'float32', ['N', 1], h);
        break;
      case 'sigmoid': {
        const p = b.sigmoid(h);
        const q = b.sub(b.initializer('one', Float32Array.of(1), [1]), p);
        b.concat([q, p], 1, ONNX_PROBABILITIES);
        break;
      }
      case 'softmax':
        b.softmax(h, 1, ONNX_PROBABILITIES);
        break;
    }
    if (this.head !== 'identity') {
      b.output(ONNX_PROBABILITIES, 'float32', ['N', classes.length]);
      b.argMax(ONNX_PROBABILITIES, { axis: 1, keepdims: false }, ONNX_LABEL);
      b.output(ONNX_LABEL, 'int64', ['N']);
    }
    return b.toBytes();
  }
}
