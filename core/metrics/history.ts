/**
 * Time-resolved records in fixed memory, for measurement windows over long runs: each
 * workload's execution span on an engine, each completion the guest observed with its latency,
 * each frame shown. The {@link HISTORY_EXACT} most recent entries are kept exactly; older ones
 * are folded into at most {@link HISTORY_BINS} time bins (1 ms wide at first; when a fold
 * reaches past the last bin, neighbouring bins merge and the width doubles). A window is
 * therefore exact as long as it does not reach back before the oldest entry kept; before that,
 * a bin partly inside the window contributes its busy time in proportion to the part inside
 * (so an edge is off by at most one bin's busy time), its completions and frames wholly when
 * its middle lies inside (off by at most one bin's count per edge), and folded latencies come
 * from 16 buckets per power of two (quantiles within 3.1%). The last bin ends where the folded
 * entries end, so a window over kept entries only never counts a bin. docs/outputs.md states
 * the same.
 */

import { LogHistogram } from "./histogram.ts";

/** Entries of one history kept exactly. */
export const HISTORY_EXACT = 1 << 15;
/** Time bins for the older entries. */
export const HISTORY_BINS = 256;
/** The first bin width (ns); it doubles as the run grows. */
export const HISTORY_FIRST_BIN_NS = 1_000_000;
/** Sub-bucket bits of the per-bin latency histograms (quantiles within 2^-5 = 3.1%). */
export const BIN_LATENCY_BITS = 4;
/** Latencies from 2^40 ns (18 minutes) on share the last bucket. */
const LATENCY_MAX_EXP = 40;

/** What windows read of a history: pairs (a, b) kept exactly, and the bins of older ones. */
abstract class History {
  /** Exact entries as pairs in a ring: oldest at `head`. */
  protected raw: Float64Array = new Float64Array(128);
  /** Index of the oldest pair. */
  protected head = 0;
  /** Pairs kept. */
  size = 0;
  /** Entries recorded in all. */
  total = 0;
  /** Width of a bin (ns). */
  binNs: number = HISTORY_FIRST_BIN_NS;
  /** Per bin: busy time (spans) or entries (points) folded into it; null until a fold. */
  protected bins: Float64Array | null = null;
  /** The folded entries lie before this time (ns): the last bin ends here at most. */
  foldEnd = 0;

  /** Appends an entry; the oldest exact one is folded into the bins when the ring is full. */
  protected put(a: number, b: number): void {
    this.total++;
    let cap = this.raw.length >> 1;
    if (this.size === cap && cap < HISTORY_EXACT) {
      const grown = new Float64Array(this.raw.length * 2);
      for (let i = 0; i < this.size; i++) {
        const j = ((this.head + i) % cap) * 2;
        grown[2 * i] = this.raw[j];
        grown[2 * i + 1] = this.raw[j + 1];
      }
      this.raw = grown;
      this.head = 0;
      cap *= 2;
    }
    if (this.size === cap) {
      const j = this.head * 2;
      this.fold(this.raw[j], this.raw[j + 1]);
      this.head = (this.head + 1) % cap;
      this.size--;
    }
    const k = ((this.head + this.size) % cap) * 2;
    this.raw[k] = a;
    this.raw[k + 1] = b;
    this.size++;
  }

  /** First entry of the i-th exact pair (0: oldest). */
  protected a(i: number): number {
    return this.raw[((this.head + i) % (this.raw.length >> 1)) * 2];
  }

  /** Second entry of the i-th exact pair. */
  protected b(i: number): number {
    return this.raw[((this.head + i) % (this.raw.length >> 1)) * 2 + 1];
  }

  /** Folds an entry evicted from the exact ring into the bins. */
  protected abstract fold(a: number, b: number): void;

  /** The bin of time `t`, widening the bins until it exists. */
  protected bin(t: number): number {
    if (this.bins === null) this.bins = new Float64Array(HISTORY_BINS);
    while (t >= HISTORY_BINS * this.binNs) this.coarsen();
    return Math.floor(t / this.binNs);
  }

  /** Merges neighbouring bins: twice the width, half as many. */
  protected coarsen(): void {
    const s = this.bins!;
    for (let i = 0; i < HISTORY_BINS / 2; i++) s[i] = s[2 * i] + s[2 * i + 1];
    s.fill(0, HISTORY_BINS / 2);
    this.binNs *= 2;
  }

  /** End of bin `i`: its width, or the end of the folded entries in the last one. */
  protected binEnd(i: number): number {
    return Math.min((i + 1) * this.binNs, this.foldEnd);
  }

  /** Whether bin `i` counts wholly in [from, to): its middle (up to {@link foldEnd}) lies inside. */
  protected counts(i: number, from: number, to: number): boolean {
    const mid = (i * this.binNs + this.binEnd(i)) / 2;
    return mid >= from && mid < to;
  }

  /** Bins that may overlap [from, to). */
  protected binSpan(from: number, to: number): [number, number] {
    const w = this.binNs;
    return [
      Math.max(0, Math.floor(from / w)),
      Math.min(HISTORY_BINS, Math.ceil(Math.min(to, this.foldEnd) / w)),
    ];
  }
}

/** Busy spans (start, end) of one engine: the time they overlap a window. */
export class SpanHistory extends History {
  /** Records a span [start, end). */
  push(start: number, end: number): void {
    this.put(start, end);
  }

  /** {@inheritDoc History.fold} */
  protected fold(start: number, end: number): void {
    if (end > this.foldEnd) this.foldEnd = end;
    for (let t = start; t < end;) {
      const i = this.bin(t);
      const stop = Math.min(end, (i + 1) * this.binNs);
      this.bins![i] += stop - t;
      t = stop;
    }
  }

  /** Time the spans overlap [from, to) (ns). */
  overlap(from: number, to: number): number {
    let t = 0;
    for (let i = 0; i < this.size; i++) {
      const a = Math.max(this.a(i), from), b = Math.min(this.b(i), to);
      if (b > a) t += b - a;
    }
    const s = this.bins;
    if (s === null) return t;
    const w = this.binNs;
    const first = Math.max(0, Math.floor(from / w)),
      last = Math.min(HISTORY_BINS, Math.ceil(to / w));
    for (let i = first; i < last; i++) {
      if (s[i] === 0) continue;
      const inside = Math.min(to, (i + 1) * w) - Math.max(from, i * w);
      if (inside > 0) t += s[i] * (inside / w);
    }
    return t;
  }
}

/** Instants (frames shown): how many fall in a window. */
export class PointHistory extends History {
  /** Records an instant. */
  push(t: number): void {
    this.put(t, 0);
  }

  /** {@inheritDoc History.fold} */
  protected fold(t: number): void {
    if (t + 1 > this.foldEnd) this.foldEnd = t + 1;
    const i = this.bin(t);
    this.bins![i]++;
  }

  /** Instants in [from, to). */
  count(from: number, to: number): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      const t = this.a(i);
      if (t >= from && t < to) n++;
    }
    const s = this.bins;
    if (s === null) return n;
    const [lo, hi] = this.binSpan(from, to);
    for (let i = lo; i < hi; i++) if (this.counts(i, from, to)) n += s[i];
    return n;
  }
}

/** The completions in a window: their latencies exactly, or partly from bins. */
export interface CompletionSet {
  /** Latencies (ns) of the exact entries inside. */
  exact: number[];
  /** The folded completions inside, or null when none. */
  folded: LogHistogram | null;
  /** Sum of the folded latencies (ns). */
  foldedSum: number;
}

/** Completions as (time, latency) pairs: counts and latency distributions over windows. */
export class CompletionHistory extends History {
  /** Per bin: the latencies folded into it (null until one is). */
  private hists: (LogHistogram | null)[] = [];
  /** Per bin: the sum of the latencies folded into it (ns). */
  private sums: Float64Array | null = null;

  /** Records a completion at `t` with latency `latency` (ns). */
  push(t: number, latency: number): void {
    this.put(t, latency);
  }

  /** {@inheritDoc History.fold} */
  protected fold(t: number, latency: number): void {
    if (t + 1 > this.foldEnd) this.foldEnd = t + 1;
    const i = this.bin(t);
    if (this.sums === null) this.sums = new Float64Array(HISTORY_BINS);
    this.bins![i]++;
    this.sums[i] += latency;
    (this.hists[i] ??= new LogHistogram(BIN_LATENCY_BITS, LATENCY_MAX_EXP)).add(latency);
  }

  /** {@inheritDoc History.coarsen} */
  protected override coarsen(): void {
    super.coarsen();
    const h = this.hists, s = this.sums;
    for (let i = 0; i < HISTORY_BINS / 2; i++) {
      const x = h[2 * i] ?? null, y = h[2 * i + 1] ?? null;
      if (x !== null && y !== null) x.merge(y);
      h[i] = x ?? y;
      if (s) s[i] = s[2 * i] + s[2 * i + 1];
    }
    h.length = HISTORY_BINS / 2;
    s?.fill(0, HISTORY_BINS / 2);
  }

  /** The completions in [from, to). */
  within(from: number, to: number): CompletionSet {
    const exact: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const t = this.a(i);
      if (t >= from && t < to) exact.push(this.b(i));
    }
    let folded: LogHistogram | null = null, foldedSum = 0;
    if (this.bins !== null) {
      const [lo, hi] = this.binSpan(from, to);
      for (let i = lo; i < hi; i++) {
        const h = this.hists[i];
        if (!h || !this.counts(i, from, to)) continue;
        (folded ??= new LogHistogram(BIN_LATENCY_BITS, LATENCY_MAX_EXP)).merge(h);
        foldedSum += this.sums![i];
      }
    }
    return { exact, folded, foldedSum };
  }
}
