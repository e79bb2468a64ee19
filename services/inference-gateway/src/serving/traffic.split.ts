/** A served version and its share of the model's traffic. */
export interface Route {
  readonly version: number;
  readonly weight: number;
  /** True when the deployment's traffic split (a canary) chose it, false for the pinned or alias version. */
  readonly canary: boolean;
}

/**
 * Weighted choice: route i is picked with probability weight_i / sum(weights). Routes of weight 0
 * are never picked; `routes` holds at least one route of positive weight.
 */
export function chooseRoute(routes: readonly Route[], random: () => number): Route {
  const total = routes.reduce((sum, r) => sum + r.weight, 0);
  let ticket = random() * total;
  for (const r of routes) {
    if (r.weight <= 0) continue;
    if (ticket < r.weight) return r;
    ticket -= r.weight;
  }
  // Floating-point rounding can leave the ticket a hair past the last route.
  const last = routes.findLast((r) => r.weight > 0);
  if (last === undefined) throw new Error('no route has a positive weight');
  return last;
}
