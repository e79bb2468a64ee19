/**
 * Two-sample Kolmogorov-Smirnov test: D = sup |F_live(x) - F_ref(x)| over the two empirical CDFs, and
 * its p-value from the asymptotic Kolmogorov distribution with Stephens' small-sample correction
 * (Numerical Recipes' `kstwo`): lambda = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D, ne = n*m / (n+m).
 * The live side may carry weights (a reservoir sample stands for more rows than it holds); then n is
 * Kish's effective sample size (sum w)^2 / sum w^2, which is the plain count when all weights are equal.
 */

export interface KsResult {
  statistic: number;
  pValue: number;
}

/** Q_KS(lambda) = P(K > lambda) = 2 * sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2). */
export function kolmogorovQ(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    // The alternating series converges slowly for small lambda; use the Jacobi-theta form of the CDF:
    // P(K <= lambda) = sqrt(2 pi) / lambda * sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 lambda^2)).
    const y = Math.exp((-Math.PI * Math.PI) / (8 * lambda * lambda));
    const cdf = (Math.sqrt(2 * Math.PI) / lambda) * (y + y ** 9 + y ** 25 + y ** 49);
    return clamp01(1 - cdf);
  }
  let q = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    q += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-16) break;
  }
  return clamp01(2 * q);
}

/**
 * KS test of live values (any order, optional weights) against an ascending reference sample.
 * Undefined when either side is empty.
 */
export function ksTest(live: readonly number[], reference: readonly number[], weights?: readonly number[]): KsResult | undefined {
  if (live.length === 0 || reference.length === 0) return undefined;
  const order = live.map((_, i) => i).sort((a, b) => (live[a] ?? 0) - (live[b] ?? 0));
  const w = (i: number): number => weights?.[i] ?? 1;
  let total = 0;
  let squares = 0;
  for (let i = 0; i < live.length; i++) {
    total += w(i);
    squares += w(i) * w(i);
  }
  if (!(total > 0)) return undefined;
  const m = reference.length;
  let i = 0;
  let j = 0;
  let cumLive = 0;
  let d = 0;
  while (i < order.length || j < m) {
    const xi = i < order.length ? (live[order[i] ?? 0] ?? Infinity) : Infinity;
    const xj = j < m ? (reference[j] ?? Infinity) : Infinity;
    const x = Math.min(xi, xj);
    // Step past every value equal to x on both sides before comparing: ties move both CDFs together.
    while (i < order.length && live[order[i] ?? 0] === x) cumLive += w(order[i++] ?? 0);
    while (j < m && reference[j] === x) j++;
    d = Math.max(d, Math.abs(cumLive / total - j / m));
  }
  const n = (total * total) / squares;
  const ne = (n * m) / (n + m);
  const sqrtNe = Math.sqrt(ne);
  return { statistic: d, pValue: kolmogorovQ((sqrtNe + 0.12 + 0.11 / sqrtNe) * d) };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
