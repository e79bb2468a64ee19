// Adam (Kingma & Ba) over a fixed list of parameter arrays, updated in place.
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;

  constructor(
    private readonly params: readonly Float64Array[],
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** One step with `grads` (same shapes as the parameters). */
  step(grads: readonly Float64Array[]): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    this.params.forEach((p, k) => {
      const g = grads[k] as Float64Array;
      const m = this.m[k] as Float64Array;
      const v = this.v[k] as Float64Array;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        m[i] = this.beta1 * (m[i] as number) + (1 - this.beta1) * gi;
        v[i] = this.beta2 * (v[i] as number) + (1 - this.beta2) * gi * gi;
        p[i] = (p[i] as number) - (this.learningRate * ((m[i] as number) / c1)) / (Math.sqrt((v[i] as number) / c2) + this.epsilon);
      }
    });
  }
}
