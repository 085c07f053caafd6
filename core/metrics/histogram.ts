/**
 * A log-linear histogram of non-negative values (nanoseconds) in fixed memory, for latency
 * quantiles over any number of samples: values below 2^(bits+1) have a bucket each, and every
 * power of two above is split into 2^bits buckets of equal width (the layout of HdrHistogram).
 * A quantile is the middle of the bucket holding the nearest-rank sample, clamped to the
 * smallest and largest value recorded, so it lies within 2^-(bits+1) of the exact
 * nearest-rank value (0.39% with 7 bits, 3.1% with 4). Values of 2^maxExp and more share the
 * last bucket.
 */
export class LogHistogram {
  /** Samples per bucket. */
  readonly counts: Uint32Array;
  /** Samples recorded. */
  count = 0;
  /** Smallest value recorded (Infinity when empty). */
  min: number = Infinity;
  /** Largest value recorded. */
  max = 0;

  /**
   * An empty histogram.
   * @param bits sub-bucket bits: 2^bits buckets per power of two
   * @param maxExp values from 2^maxExp on share the last bucket
   */
  constructor(readonly bits: number, readonly maxExp: number) {
    this.counts = new Uint32Array((maxExp - bits + 1) << bits);
  }

  /** The bucket of value `v`. */
  index(v: number): number {
    const x = v > 0 ? Math.floor(v) : 0;
    const b = this.bits;
    if (x < 2 << b) return x;
    let k = x < 2 ** 32 ? 31 - Math.clz32(x) : Math.floor(Math.log2(x));
    if (2 ** k > x) k--;
    else if (2 ** (k + 1) <= x) k++;
    if (k >= this.maxExp) return this.counts.length - 1;
    const sub = Math.floor(x / 2 ** (k - b)) - (1 << b);
    return (2 << b) + ((k - b - 1) << b) + sub;
  }

  /** The middle of bucket `i` (its lower bound when one value wide). */
  middle(i: number): number {
    const b = this.bits;
    if (i < 2 << b) return i;
    const j = i - (2 << b);
    const shift = (j >> b) + 1;
    const lo = ((1 << b) + (j & ((1 << b) - 1))) * 2 ** shift;
    return lo + 2 ** shift / 2;
  }

  /** Records `n` samples of value `v`. */
  add(v: number, n = 1): void {
    this.counts[this.index(v)] += n;
    this.count += n;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Adds every sample of `h` (same layout). */
  merge(h: LogHistogram): void {
    const c = this.counts, d = h.counts;
    for (let i = 0; i < c.length; i++) c[i] += d[i];
    this.count += h.count;
    if (h.min < this.min) this.min = h.min;
    if (h.max > this.max) this.max = h.max;
  }

  /** The p-th percentile (0..100, nearest rank) within the stated error; 0 when empty. */
  quantile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    if (rank >= this.count) return this.max;
    const c = this.counts;
    let seen = 0;
    for (let i = 0; i < c.length; i++) {
      seen += c[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, this.middle(i)));
    }
    return this.max;
  }
}
