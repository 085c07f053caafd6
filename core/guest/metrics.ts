/**
 * Guest-side metrics of one VM: what its i915 driver observed (batches submitted and
 * completed per engine, submission latency, frames flipped, interrupts handled, traps).
 */

import { ENGINE_NAMES } from "../scenario.ts";
import { NUM_ENGINES } from "../hw/regs.ts";
import { CompletionHistory, PointHistory } from "../metrics/history.ts";
import { LogHistogram } from "../metrics/histogram.ts";

/** Up to this many samples, percentiles are exact; beyond, they come from the histogram. */
export const EXACT_LATENCY_SAMPLES = 1 << 14;
/** Sub-bucket bits of the latency histogram: percentiles within 2^-8 (0.39%) beyond the exact ones. */
export const LATENCY_BITS = 7;

/**
 * Latency recorder in fixed memory: count, sum, min, max, a log-linear histogram of every
 * sample ({@link LogHistogram}, {@link LATENCY_BITS}) and the first
 * {@link EXACT_LATENCY_SAMPLES} samples. Percentiles are exact (nearest rank) while the count
 * is at most that; after, they come from the histogram, within 0.39% of the exact value.
 */
export class LatencyStats {
  /** Samples recorded. */
  count = 0;
  /** Sum of samples (ns). */
  sum = 0;
  /** Smallest sample (ns), Infinity when empty. */
  min: number = Infinity;
  /** Largest sample (ns). */
  max = 0;
  /** Every sample (ns), bucketed. */
  readonly histogram: LogHistogram = new LogHistogram(LATENCY_BITS, 48);
  private samples = new Float64Array(256);
  private kept = 0;

  /** Records one sample (ns). */
  record(ns: number): void {
    this.count++;
    this.sum += ns;
    if (ns < this.min) this.min = ns;
    if (ns > this.max) this.max = ns;
    this.histogram.add(ns);
    if (this.kept < EXACT_LATENCY_SAMPLES) {
      if (this.kept === this.samples.length) {
        const s = new Float64Array(this.samples.length * 2);
        s.set(this.samples);
        this.samples = s;
      }
      this.samples[this.kept++] = ns;
    }
  }

  /** Mean (ns), 0 when empty. */
  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** The p-th percentile (0..100, nearest rank; see {@link LatencyStats}), 0 when empty. */
  percentile(p: number): number {
    return this.quantiles([p])[0];
  }

  /** Several percentiles (0..100, nearest rank) with one sort; zeros when empty. */
  quantiles(ps: readonly number[]): number[] {
    if (this.kept === 0) return ps.map(() => 0);
    if (this.count > this.kept) return ps.map((p) => this.histogram.quantile(p));
    const s = this.samples.slice(0, this.kept).sort();
    return ps.map((p) =>
      s[Math.min(this.kept - 1, Math.max(0, Math.ceil((p / 100) * this.kept) - 1))]
    );
  }
}

/** What one guest driver counted. */
export class GuestMetrics {
  /** Batches submitted per engine. */
  readonly submitted: Float64Array = new Float64Array(NUM_ENGINES);
  /** Batches completed per engine. */
  readonly completed: Float64Array = new Float64Array(NUM_ENGINES);
  /** Submission latency (submit to completion interrupt handled) per engine. */
  readonly latency: LatencyStats[] = Array.from({ length: NUM_ENGINES }, () => new LatencyStats());
  /** Submission latency over all engines. */
  readonly latencyAll: LatencyStats = new LatencyStats();
  /** Every completion the driver observed as a (time, latency) pair (ns), for windows. */
  readonly completions: CompletionHistory = new CompletionHistory();
  /** Time of every frame shown (ns), for windows. */
  readonly frameTimes: PointHistory = new PointHistory();
  /** ELSP submissions (4 dword writes each) per engine. */
  readonly elspSubmits: Float64Array = new Float64Array(NUM_ENGINES);
  /** Flips requested. */
  flipsRequested = 0;
  /** Frames: flips completed at a vblank. */
  frames = 0;
  /** Vblank interrupts seen. */
  vblanks = 0;
  /** MSIs received. */
  msis = 0;
  /** Interrupt handler runs. */
  irqs = 0;
  /** CSB entries consumed. */
  csbEvents = 0;
  /** Guest MMIO reads / writes issued (all trapped). */
  mmioReads = 0;
  /** Guest MMIO writes issued. */
  mmioWrites = 0;
  /** GGTT entries written through the GTT window. */
  ggttWrites = 0;
  /** PPGTT entries written (page-table memory writes). */
  ppgttWrites = 0;
  /** Pages mapped / unmapped by workload `map` / `unmap`. */
  pagesMapped = 0;
  /** Pages unmapped. */
  pagesUnmapped = 0;
  /** 2 MiB pages mapped by `map N huge pages`. */
  hugePagesMapped = 0;
  /** 2 MiB pages unmapped. */
  hugePagesUnmapped = 0;
  /** Misbehaviour actions performed. */
  misbehaviours = 0;
  /** Guest time spent in trapped accesses (ns, gate costs). */
  trapTime = 0;
  /** Device resets seen. */
  resets = 0;
  /** Boot duration (ns). */
  bootTime = 0;
}

/**
 * Flattens guest metrics into a record for results (`"batches.rcs": 12`,
 * `"latency.p99_ns": 81000`, ...). Engines with no submissions are omitted.
 */
export function guestMetricsRecord(m: GuestMetrics): Record<string, number> {
  const r: Record<string, number> = {};
  let sub = 0, done = 0;
  for (let e = 0; e < NUM_ENGINES; e++) {
    sub += m.submitted[e];
    done += m.completed[e];
    if (m.submitted[e] === 0) continue;
    const k = ENGINE_NAMES[e];
    r[`batches.${k}`] = m.submitted[e];
    r[`completed.${k}`] = m.completed[e];
    r[`latency.${k}.mean_ns`] = Math.round(m.latency[e].mean);
    r[`latency.${k}.p99_ns`] = m.latency[e].percentile(99);
  }
  r["batches"] = sub;
  r["completed"] = done;
  r["latency.mean_ns"] = Math.round(m.latencyAll.mean);
  r["latency.p50_ns"] = m.latencyAll.percentile(50);
  r["latency.p99_ns"] = m.latencyAll.percentile(99);
  r["latency.max_ns"] = m.latencyAll.max;
  r["frames"] = m.frames;
  r["flips"] = m.flipsRequested;
  r["vblanks"] = m.vblanks;
  r["msis"] = m.msis;
  r["irqs"] = m.irqs;
  r["csb_events"] = m.csbEvents;
  r["mmio_reads"] = m.mmioReads;
  r["mmio_writes"] = m.mmioWrites;
  r["ggtt_writes"] = m.ggttWrites;
  r["ppgtt_writes"] = m.ppgttWrites;
  r["pages_mapped"] = m.pagesMapped;
  r["pages_unmapped"] = m.pagesUnmapped;
  r["huge_pages_mapped"] = m.hugePagesMapped;
  r["huge_pages_unmapped"] = m.hugePagesUnmapped;
  r["misbehaviours"] = m.misbehaviours;
  r["trap_time_ns"] = Math.round(m.trapTime);
  r["boot_ns"] = m.bootTime;
  r["resets"] = m.resets;
  return r;
}
