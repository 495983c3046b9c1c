/**
 * An exponentially weighted mean and variance (West's incremental form): a baseline that follows a series
 * without keeping its history. A cycle in which the series had nothing counts as a zero, applied lazily when
 * the series is next seen, so an idle series costs nothing per cycle.
 */

export class Ewma {
  mean = 0;
  variance = 0;

  constructor(private readonly alpha: number) {}

  /** `weight` above alpha early on (1/n for the n-th cycle) makes the first cycles a plain mean, not a slow climb from 0. */
  update(x: number, weight = this.alpha): void {
    const w = Math.max(this.alpha, weight);
    const diff = x - this.mean;
    const incr = w * diff;
    this.mean += incr;
    this.variance = (1 - w) * (this.variance + diff * incr);
  }

  /** `cycles` zero observations (capped: after a few hundred the baseline is zero to double precision). */
  decay(cycles: number): void {
    for (let i = Math.min(cycles, 400); i > 0; i--) this.update(0);
  }

  get sd(): number {
    return Math.sqrt(this.variance);
  }
}
