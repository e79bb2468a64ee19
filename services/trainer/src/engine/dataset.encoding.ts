// Turns records (as ingested: JSON values by field name) into the numeric matrix the models and their
// ONNX graphs take. Numeric and boolean features are one column each; a categorical feature becomes one
// 0/1 column per category. The encoding is recorded so a client can build the same `input` tensor.
import { FieldType, type DatasetSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { zeros, type Matrix } from './matrix.js';
import { TrainingError } from './training.error.js';

export type FeatureType = 'numeric' | 'bool' | 'categorical';

export interface FeatureDef {
  readonly name: string;
  readonly type: FeatureType;
  /** Categorical only: the categories, in column order. Default: the distinct values seen, sorted. */
  readonly categories?: readonly string[];
}

/** One record: field name -> value (number, boolean, string; null/undefined/"" = missing). */
export type DataRecord = Readonly<Record<string, unknown>>;

/** The dataset a trainer learns from. */
export interface TrainingData {
  readonly features: readonly FeatureDef[];
  /** Field holding the label (numbers for regression; any value for classification). */
  readonly label: string;
  readonly rows: readonly DataRecord[];
}

/** One column of the model input. */
export interface EncodedColumn {
  /** `feature` for numeric and boolean features, `feature=category` for one-hot columns. */
  readonly name: string;
  readonly feature: string;
  /** Set on one-hot columns. */
  readonly category?: string;
  /** Value used when the feature is missing: the training mean for numeric/boolean, 0 for one-hot. */
  readonly fill: number;
}

export interface FeatureEncoding {
  /** Features with categories resolved. */
  readonly features: readonly FeatureDef[];
  readonly columns: readonly EncodedColumn[];
}

export function isMissing(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

/** The value of a numeric/boolean feature, or undefined when missing; throws on anything else. */
export function numericValue(v: unknown, feature: FeatureDef, row: number): number | undefined {
  if (isMissing(v)) return undefined;
  if (feature.type === 'bool') {
    if (v === true || v === 1 || v === 'true') return 1;
    if (v === false || v === 0 || v === 'false') return 0;
    throw new TrainingError(`row ${row}: feature "${feature.name}" is ${JSON.stringify(v)}, not a boolean`);
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : typeof v === 'bigint' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new TrainingError(`row ${row}: feature "${feature.name}" is ${JSON.stringify(String(v))}, not a finite number`);
  return n;
}

export function categoryOf(v: unknown): string | undefined {
  return isMissing(v) ? undefined : String(v);
}

/**
 * Resolves categories (from `allRows` when not given) and missing-value fills (means over `fitRows`,
 * the training split, so validation data does not leak into the model).
 */
export function fitEncoding(features: readonly FeatureDef[], allRows: readonly DataRecord[], fitRows: readonly DataRecord[]): FeatureEncoding {
  if (features.length === 0) throw new TrainingError('the dataset has no features to train on');
  const seen = new Set<string>();
  const resolved: FeatureDef[] = [];
  const columns: EncodedColumn[] = [];
  for (const f of features) {
    if (seen.has(f.name)) throw new TrainingError(`feature "${f.name}" is listed twice`);
    seen.add(f.name);
    if (f.type === 'categorical') {
      const categories = f.categories ?? [...new Set(allRows.map((r) => categoryOf(r[f.name])).filter((c) => c !== undefined))].sort();
      if (categories.length === 0) throw new TrainingError(`categorical feature "${f.name}" has no values in the dataset and no categories`);
      resolved.push({ name: f.name, type: 'categorical', categories });
      for (const c of categories) columns.push({ name: `${f.name}=${c}`, feature: f.name, category: c, fill: 0 });
    } else {
      let sum = 0;
      let n = 0;
      fitRows.forEach((r, i) => {
        const v = numericValue(r[f.name], f, i);
        if (v !== undefined) {
          sum += v;
          n++;
        }
      });
      resolved.push({ name: f.name, type: f.type });
      columns.push({ name: f.name, feature: f.name, fill: n === 0 ? 0 : sum / n });
    }
  }
  return { features: resolved, columns };
}

/** The model input for `rows`: one row per record, one column per encoded column. */
export function encodeRows(encoding: FeatureEncoding, rows: readonly DataRecord[]): Matrix {
  const m = zeros(rows.length, encoding.columns.length);
  rows.forEach((record, r) => {
    let c = 0;
    for (const f of encoding.features) {
      if (f.type === 'categorical') {
        const categories = f.categories ?? [];
        const value = categoryOf(record[f.name]);
        const hot = value === undefined ? -1 : categories.indexOf(value);
        if (hot >= 0) m.data[r * m.cols + c + hot] = 1;
        c += categories.length;
      } else {
        m.data[r * m.cols + c] = numericValue(record[f.name], f, r) ?? (encoding.columns[c] as EncodedColumn).fill;
        c++;
      }
    }
  });
  return m;
}

/**
 * Features of an ingestion dataset schema: FLOAT and INT are numeric, BOOL boolean, CATEGORY (and
 * STRING with allowed values) categorical; free-text STRING fields, the key field and the label are
 * left out.
 */
export function featuresFromSchema(schema: DatasetSchema): FeatureDef[] {
  const out: FeatureDef[] = [];
  for (const field of schema.fields) {
    if (field.name === schema.labelField || field.name === schema.keyField) continue;
    switch (field.type) {
      case FieldType.FLOAT:
      case FieldType.INT:
        out.push({ name: field.name, type: 'numeric' });
        break;
      case FieldType.BOOL:
        out.push({ name: field.name, type: 'bool' });
        break;
      case FieldType.CATEGORY:
        out.push({ name: field.name, type: 'categorical', ...(field.allowedValues.length > 0 ? { categories: [...field.allowedValues] } : {}) });
        break;
      case FieldType.STRING:
        if (field.allowedValues.length > 0) out.push({ name: field.name, type: 'categorical', categories: [...field.allowedValues] });
        break;
      case FieldType.UNSPECIFIED:
        break;
    }
  }
  return out;
}
