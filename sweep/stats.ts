/** Statistics across the seeds of a grid point: mean, standard deviation, 95% confidence. */

/**
 * Two-sided 95% quantiles of Student's t distribution, t(0.975, df), for df = 1..30
 * (standard tables); larger df use the normal approximation with a 1/df correction.
 */
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/** t(0.975, df): the factor of the standard error in a 95% confidence interval. */
export function t975(df: number): number {
  if (df < 1) return NaN;
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df);
}

/** Summary of one metric over the runs of a grid point. */
export interface Stat {
  /** Runs with a value. */
  n: number;
  /** Mean. */
  mean: number;
  /** Sample standard deviation (0 for one run). */
  sd: number;
  /** Lower end of the 95% confidence interval of the mean (= mean for one run). */
  ciLow: number;
  /** Upper end of the 95% confidence interval of the mean. */
  ciHigh: number;
}

/** Mean, sample standard deviation and the t-based 95% CI of the mean; undefined when empty. */
export function summarize(values: readonly number[]): Stat | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { n, mean, sd: 0, ciLow: mean, ciHigh: mean };
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const half = t975(n - 1) * sd / Math.sqrt(n);
  return { n, mean, sd, ciLow: mean - half, ciHigh: mean + half };
}
