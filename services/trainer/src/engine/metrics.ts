// Evaluation metrics: pure functions over true and predicted values. Class labels are indices.

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`metric inputs differ in length: ${a.length} vs ${b.length}`);
  if (a.length === 0) throw new RangeError('metric inputs are empty');
}

/** Share of exact matches. */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++;
  return hit / yTrue.length;
}

/**
 * Unweighted mean of per-class F1 over the classes present in yTrue or yPred (scikit-learn's
 * `f1_score(average="macro")`); a class with no true positives scores 0.
 */
export function f1Macro(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  const tp = new Map<number, number>();
  const fp = new Map<number, number>();
  const fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number): void => {
    m.set(k, (m.get(k) ?? 0) + 1);
  };
  const labels = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i] as number;
    const p = yPred[i] as number;
    labels.add(t);
    labels.add(p);
    if (t === p) inc(tp, t);
    else {
      inc(fp, p);
      inc(fn, t);
    }
  }
  let sum = 0;
  for (const c of labels) {
    const t = tp.get(c) ?? 0;
    const denom = 2 * t + (fp.get(c) ?? 0) + (fn.get(c) ?? 0);
    sum += denom === 0 ? 0 : (2 * t) / denom;
  }
  return sum / labels.size;
}

/**
 * Area under the ROC curve for a binary problem (positives = 1), by the rank statistic with average
 * ranks for tied scores. Undefined when only one class is present.
 */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  checkLengths(yTrue, scores);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (yTrue[order[k] as number] === 1) {
        positives++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * One-vs-rest macro ROC AUC: `probabilities` is row-major [n, classes]; classes absent from yTrue (or
 * present in every row) are left out of the mean. Undefined when no class qualifies.
 */
export function rocAucOvr(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): number | undefined {
  if (probabilities.length !== yTrue.length * classes) {
    throw new RangeError(`probabilities hold ${probabilities.length} values, expected ${yTrue.length} x ${classes}`);
  }
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < classes; c++) {
    const t = Array.from(yTrue, (y) => (y === c ? 1 : 0));
    const s = Array.from({ length: yTrue.length }, (_, i) => probabilities[i * classes + c] as number);
    const auc = rocAuc(t, s);
    if (auc !== undefined) {
      sum += auc;
      counted++;
    }
  }
  return counted === 0 ? undefined : sum / counted;
}

/** Root mean squared error. */
export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
  return Math.sqrt(s / yTrue.length);
}

/** Mean absolute error. */
export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs((yTrue[i] as number) - (yPred[i] as number));
  return s / yTrue.length;
}

/** Coefficient of determination, 1 - SS_res / SS_tot. Undefined when yTrue is constant. */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number | undefined {
  checkLengths(yTrue, yPred);
  let mean = 0;
  for (let i = 0; i < yTrue.length; i++) mean += yTrue[i] as number;
  mean /= yTrue.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < yTrue.length; i++) {
    ssRes += ((yTrue[i] as number) - (yPred[i] as number)) ** 2;
    ssTot += ((yTrue[i] as number) - mean) ** 2;
  }
  return ssTot === 0 ? undefined : 1 - ssRes / ssTot;
}
