/**
 * Weighted quantile by the inverse empirical CDF: the smallest value whose cumulative weight reaches
 * q * total weight. With equal weights this is the nearest-rank percentile (p50 of 1..100 is 50).
 * 0 for an empty input.
 */
export function weightedQuantile(values: readonly number[], weights: readonly number[] | undefined, q: number): number {
  return weightedQuantiles(values, weights, [q])[0] ?? 0;
}

/** Several quantiles with one sort. */
export function weightedQuantiles(values: readonly number[], weights: readonly number[] | undefined, qs: readonly number[]): number[] {
  if (values.length === 0) return qs.map(() => 0);
  const order = values.map((_, i) => i).sort((a, b) => (values[a] ?? 0) - (values[b] ?? 0));
  let total = 0;
  for (let i = 0; i < values.length; i++) total += weights?.[i] ?? 1;
  return qs.map((q) => {
    const target = Math.min(Math.max(q, 0), 1) * total;
    let cum = 0;
    for (const i of order) {
      cum += weights?.[i] ?? 1;
      // A small tolerance keeps q * total from missing an exact rank by a rounding error.
      if (cum >= target - 1e-9 * total) return values[i] ?? 0;
    }
    return values[order[order.length - 1] ?? 0] ?? 0;
  });
}
