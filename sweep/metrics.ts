/**
 * The metrics a sweep records, in one table each: per VM (a column of the `vms` table, with
 * how the VMs of a run combine into one number) and per run (a column of the `runs` table).
 * The database schema, summary.csv and the report are all built from these two tables.
 */

import type { Results, VmResult } from "../core/metrics/results.ts";
import { ENGINE_NAMES } from "../core/scenario.ts";

/** One per-VM metric. */
export interface VmMetric {
  /** Column and metric name. */
  name: string;
  /** Unit, for axis titles and the CSV (`ns`, `fraction`, `fps` ...). */
  unit: string;
  /** The value for one VM (null when it does not apply, e.g. no native baseline). */
  get(vm: VmResult): number | null;
  /** How a run's VMs combine into the run's value (`*` rows): mean, sum or max. */
  combine: "mean" | "sum" | "max";
  /** Drawn in the report's metric-vs-parameter charts. */
  chart?: boolean;
}

/** One per-run metric. */
export interface RunMetric {
  /** Column and metric name. */
  name: string;
  /** Unit. */
  unit: string;
  /** The value for a run. */
  get(r: Results): number;
  /** Drawn in the report's metric-vs-parameter charts. */
  chart?: boolean;
}

const latency = (p: "mean" | "p50" | "p90" | "p99" | "max", chart = false): VmMetric => ({
  name: `latency_${p}_ns`,
  unit: "ns",
  get: (v) => v.latency.count > 0 ? v.latency[p] : null,
  combine: p === "max" ? "max" : "mean",
  chart,
});

/** Per-VM metrics (the `vms` table's value columns, in order). */
export const VM_METRICS: readonly VmMetric[] = [
  { name: "fps", unit: "fps", get: (v) => v.fps, combine: "sum", chart: true },
  { name: "frames", unit: "frames", get: (v) => v.frames, combine: "sum" },
  {
    name: "throughput",
    unit: "batches/s",
    get: (v) => v.throughput,
    combine: "sum",
    chart: true,
  },
  { name: "submitted", unit: "batches", get: (v) => v.submitted, combine: "sum" },
  { name: "completed", unit: "batches", get: (v) => v.completed, combine: "sum" },
  ...ENGINE_NAMES.map((e): VmMetric => ({
    name: `${e}_share`,
    unit: "fraction",
    get: (v) => v.engines[e]?.share ?? 0,
    combine: "sum",
    chart: e === "rcs",
  })),
  latency("mean"),
  latency("p50", true),
  latency("p90"),
  latency("p99", true),
  latency("max"),
  { name: "latency_count", unit: "samples", get: (v) => v.latency.count, combine: "sum" },
  ...["mmio", "gtt", "pagetrack", "cfg", "total"].map((k): VmMetric => ({
    name: `traps_${k}`,
    unit: "traps",
    get: (v) => v.traps[k] ?? 0,
    combine: "sum",
  })),
  { name: "native_pct", unit: "%", get: (v) => v.nativePct ?? null, combine: "mean" },
];

/** Per-run metrics (columns of the `runs` table after the parameters). */
export const RUN_METRICS: readonly RunMetric[] = [
  { name: "simulated_ns", unit: "ns", get: (r) => r.simulatedNs },
  { name: "switches", unit: "switches", get: (r) => r.scheduler.switches, chart: true },
  { name: "drain_wait_ns", unit: "ns", get: (r) => r.scheduler.drainWaitNs },
  { name: "violations", unit: "violations", get: (r) => r.isolation.violations },
  { name: "plugin_errors", unit: "errors", get: (r) => r.hypervisor.errors.length },
  {
    name: "expects_passed",
    unit: "expectations",
    get: (r) => r.expectations.filter((e) => e.pass).length,
  },
  {
    name: "expects_failed",
    unit: "expectations",
    get: (r) => r.expectations.filter((e) => !e.pass).length,
  },
];

/** A run's value of a per-VM metric over all its VMs (the metric's `combine`); null if none. */
export function combined(m: VmMetric, vms: readonly (number | null)[]): number | null {
  const xs = vms.filter((x): x is number => x !== null);
  if (xs.length === 0) return null;
  if (m.combine === "max") return Math.max(...xs);
  const sum = xs.reduce((a, b) => a + b, 0);
  return m.combine === "sum" ? sum : sum / xs.length;
}

/** Percentiles at which a run's latency distribution is kept per VM (for the CDF charts). */
export const CDF_PERCENTILES: readonly number[] = [
  0,
  1,
  5,
  10,
  20,
  30,
  40,
  50,
  60,
  70,
  80,
  90,
  95,
  99,
  99.9,
  100,
];
