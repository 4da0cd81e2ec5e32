// Distribution statistics for the loadtest: quantiles (linear interpolation between closest ranks,
// as numpy's default) and the summary every metric is reported with.

export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly median: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Quantile `q` in [0, 1] of an ascending array; NaN when empty. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const mean = xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : NaN;
  return {
    count: xs.length,
    mean,
    median: quantileSorted(xs, 0.5),
    p90: quantileSorted(xs, 0.9),
    p95: quantileSorted(xs, 0.95),
    p99: quantileSorted(xs, 0.99),
    min: xs.length ? xs[0]! : NaN,
    max: xs.length ? xs[xs.length - 1]! : NaN,
  };
}
