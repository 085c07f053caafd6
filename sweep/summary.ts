/**
 * Statistics per grid point, from a sweep's database: for each metric (per VM, and `*` for
 * the whole run: run metrics and the VMs combined), mean, standard deviation and 95%
 * confidence interval across the point's runs (its seeds); and summary.csv, their table.
 */

import type { RunRow, SweepDb } from "./db.ts";
import { combined, RUN_METRICS, VM_METRICS } from "./metrics.ts";
import { type Stat, summarize } from "./stats.ts";

/** The VM name of whole-run rows. */
export const ALL_VMS = "*";

/** One metric's statistics at one grid point. */
export interface MetricStat {
  /** VM name, or {@link ALL_VMS}. */
  vm: string;
  /** Metric name. */
  metric: string;
  /** Its unit. */
  unit: string;
  /** Statistics over the point's runs. */
  stat: Stat;
}

/** A grid point's statistics. */
export interface PointSummary {
  /** Grid point index. */
  point: number;
  /** Every parameter's value at this point. */
  params: Record<string, string>;
  /** Runs recorded at this point (with or without error). */
  runs: number;
  /** Runs that could not run. */
  errors: number;
  /** Per metric (whole-run rows first, then per VM in declaration order). */
  stats: MetricStat[];
}

/** Statistics of every grid point recorded in `db`, in point order. */
export function summarizePoints(db: SweepDb): PointSummary[] {
  const paramNames = db.stored.params.map((p) => p.name);
  const byPoint = new Map<number, RunRow[]>();
  for (const r of db.runs()) {
    const p = Number(r.point);
    if (!byPoint.has(p)) byPoint.set(p, []);
    byPoint.get(p)!.push(r);
  }
  const vmsByRun = new Map<number, RunRow[]>();
  for (const v of db.vms()) {
    const run = Number(v.run);
    if (!vmsByRun.has(run)) vmsByRun.set(run, []);
    vmsByRun.get(run)!.push(v);
  }
  const out: PointSummary[] = [];
  for (const [point, runs] of [...byPoint].sort((a, b) => a[0] - b[0])) {
    const ok = runs.filter((r) => r.error === null);
    const params: Record<string, string> = {};
    for (const n of paramNames) params[n] = String(runs[0][n] ?? "");
    const stats: MetricStat[] = [];
    const add = (vm: string, metric: string, unit: string, xs: (number | null)[]) => {
      const stat = summarize(xs.filter((x): x is number => x !== null));
      if (stat) stats.push({ vm, metric, unit, stat });
    };
    for (const m of RUN_METRICS) add(ALL_VMS, m.name, m.unit, ok.map((r) => num(r[m.name])));
    for (const m of VM_METRICS) {
      add(
        ALL_VMS,
        m.name,
        m.unit,
        ok.map((r) => combined(m, (vmsByRun.get(Number(r.run)) ?? []).map((v) => num(v[m.name])))),
      );
    }
    const vmNames: string[] = [];
    for (const r of ok) {
      for (const v of vmsByRun.get(Number(r.run)) ?? []) {
        if (!vmNames.includes(String(v.vm))) vmNames.push(String(v.vm));
      }
    }
    for (const vm of vmNames) {
      for (const m of VM_METRICS) {
        const xs = ok.map((r) => {
          const row = (vmsByRun.get(Number(r.run)) ?? []).find((v) => v.vm === vm);
          return row ? num(row[m.name]) : null;
        });
        add(vm, m.name, m.unit, xs);
      }
    }
    out.push({ point, params, runs: runs.length, errors: runs.length - ok.length, stats });
  }
  return out;
}

function num(v: string | number | null | undefined): number | null {
  return typeof v === "number" ? v : null;
}

/** summary.csv: one row per (grid point, VM or `*`, metric). */
export function summaryCsv(db: SweepDb, points: readonly PointSummary[]): string {
  const names = db.stored.params.map((p) => p.name);
  const head = [
    "point",
    ...names,
    "vm",
    "metric",
    "unit",
    "n",
    "mean",
    "sd",
    "ci95_low",
    "ci95_high",
  ];
  const lines = [head.map(csvCell).join(",")];
  for (const p of points) {
    for (const s of p.stats) {
      lines.push(
        [
          p.point,
          ...names.map((n) => p.params[n]),
          s.vm,
          s.metric,
          s.unit,
          s.stat.n,
          s.stat.mean,
          s.stat.sd,
          s.stat.ciLow,
          s.stat.ciHigh,
        ].map(csvCell).join(","),
      );
    }
  }
  return lines.join("\n") + "\n";
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
