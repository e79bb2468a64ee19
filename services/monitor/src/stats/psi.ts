/**
 * Population stability index: sum over bins of (a - e) * ln(a / e), where e and a are the reference
 * and the live share of each bin. 0 means identical; by the usual reading < 0.1 is stable, 0.1-0.2 a
 * moderate shift, > 0.2 a significant one.
 */

/** Share given to a bin that holds nothing, so ln(a / e) stays finite (the common choice, 1e-4). */
export const PSI_EPSILON = 1e-4;

/** PSI of two distributions over the same bins, given as counts (or weights). */
export function psiOfCounts(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new Error(`psi: ${expected.length} reference bins but ${actual.length} live bins`);
  const eTotal = sum(expected);
  const aTotal = sum(actual);
  if (eTotal <= 0 || aTotal <= 0) return 0;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max((expected[i] ?? 0) / eTotal, epsilon);
    const a = Math.max((actual[i] ?? 0) / aTotal, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/**
 * Index of the bin that holds `value` over ascending `edges` (n edges, n - 1 bins): bin i is
 * [edges[i], edges[i+1]), the last bin is closed, values outside the edges fall into the first or last
 * bin (the reference profile's convention, aio.profile.v1.NumericDistribution).
 */
export function binOf(edges: readonly number[], value: number): number {
  const bins = edges.length - 1;
  if (bins < 1) throw new Error('binOf: a histogram needs at least two edges');
  // Binary search for the last edge <= value.
  let lo = 0;
  let hi = bins - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((edges[mid] ?? Infinity) <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Live values (optionally weighted) counted into the reference histogram's bins. */
export function histogram(edges: readonly number[], values: readonly number[], weights?: readonly number[]): number[] {
  const counts = new Array<number>(Math.max(edges.length - 1, 0)).fill(0);
  values.forEach((v, i) => {
    const bin = binOf(edges, v);
    counts[bin] = (counts[bin] ?? 0) + (weights?.[i] ?? 1);
  });
  return counts;
}

/** PSI of live numeric values against a reference histogram (edges + counts). */
export function numericPsi(edges: readonly number[], referenceCounts: readonly number[], values: readonly number[], weights?: readonly number[]): number {
  if (referenceCounts.length !== edges.length - 1) {
    throw new Error(`numeric profile has ${edges.length} edges but ${referenceCounts.length} counts (want edges - 1)`);
  }
  return psiOfCounts(referenceCounts, histogram(edges, values, weights));
}

/**
 * PSI of live categories against reference category counts, over the union of both: a category the
 * reference never saw is a bin with the epsilon reference share, so new values raise the score.
 */
export function categoricalPsi(referenceCounts: ReadonlyMap<string, number>, values: readonly string[], weights?: readonly number[]): number {
  const live = new Map<string, number>();
  values.forEach((v, i) => live.set(v, (live.get(v) ?? 0) + (weights?.[i] ?? 1)));
  const categories = [...new Set([...referenceCounts.keys(), ...live.keys()])];
  return psiOfCounts(
    categories.map((c) => referenceCounts.get(c) ?? 0),
    categories.map((c) => live.get(c) ?? 0),
  );
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
