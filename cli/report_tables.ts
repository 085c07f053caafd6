/**
 * The extra terminal tables a scenario asks for with `report { tables ...; metrics ... }`:
 * one table per name (engines, traps, scheduler, scanner, shadow, irq) and a metrics table
 * with one column per requested metric. The main per-VM table and the expectations are
 * always printed by cli/summary.ts.
 */

import type { Results, VmResult } from "../core/metrics/results.ts";
import { ENGINE_NAMES } from "../core/scenario.ts";
import { formatNs, formatPct, table } from "./table.ts";

type Column = [head: string, cell: (v: VmResult) => string];

const n = (key: string): Column[1] => (v) => String(v.counters[key] ?? 0);
const sumOf = (v: VmResult, prefix: string) =>
  Object.entries(v.counters).reduce((a, [k, x]) => (k.startsWith(prefix) ? a + x : a), 0);

/** Column sets of each table name. */
const TABLES: Record<string, Column[]> = {
  engines: ENGINE_NAMES.flatMap((e): Column[] => [
    [`${e} busy`, (v) => formatNs(v.engines[e].busyNs)],
    [`${e} share`, (v) => formatPct(v.engines[e].share)],
  ]),
  traps: [
    ["mmio", (v) => String(v.traps.mmio ?? 0)],
    ["gtt", (v) => String(v.traps.gtt ?? 0)],
    ["page-track", (v) => String(v.traps.pagetrack ?? 0)],
    ["cfg", (v) => String(v.traps.cfg ?? 0)],
    ["total", (v) => String(v.traps.total ?? 0)],
    ["elsp", n("mmio.elsp")],
    ["irq regs", n("mmio.irq")],
    ["guest trap time", (v) => formatNs(v.counters["guest.trap_time_ns"] ?? 0)],
    ["backend time", (v) => formatNs(v.counters["hv.ns"] ?? 0)],
  ],
  scheduler: [
    ["weight", (v) => String(v.weight)],
    ["scheduled in", n("sched.scheduled_in")],
    ["held", (v) => formatNs(v.counters["sched.ns"] ?? 0)],
    ["rcs share", (v) => formatPct(v.engines.rcs.share)],
    ["regs switched", n("sched.regs_switched")],
    ["TLB flushes", n("sched.tlb_invalidations")],
  ],
  scanner: [
    ["cmds", (v) => String(sumOf(v, "scan.cmds."))],
    ["dwords", (v) => String(sumOf(v, "scan.dwords."))],
    ["batches shadowed", n("scan.batches_shadowed")],
    ["violations", (v) => String(sumOf(v, "scan.violation."))],
    ["workloads", n("workloads.created")],
    ["dropped", n("workloads.dropped")],
  ],
  shadow: [
    ["ggtt writes", n("ggtt.writes")],
    ["dropped", n("ggtt.dropped")],
    ["scratch", n("ggtt.scratch")],
    ["dma maps", n("dma.map")],
    ["spt alloc", n("ppgtt.spt_alloc")],
    ["spt free", n("ppgtt.spt_free")],
    ["wp traps", n("ppgtt.wp_traps")],
    ["post-shadow", n("ppgtt.post_shadow_entries")],
    ["oos attach", n("oos.attach")],
    ["oos sync", n("oos.sync")],
  ],
  irq: [
    ["raised", n("irq.raised")],
    ["masked", n("irq.masked")],
    ["msi injected", n("msi.injected")],
    ["msi dropped", n("msi.dropped")],
    ["vblanks", n("display.vblanks")],
    ["flips done", n("display.flips_done")],
  ],
};

/** One column per `report { metrics ... }` name: result functions or quoted counter names. */
function metricColumns(metrics: readonly string[]): Column[] {
  return metrics.flatMap((m): Column[] => {
    switch (m) {
      case "fps":
        return [["fps", (v) => v.fps.toFixed(1)]];
      case "frames":
        return [["frames", (v) => String(v.frames)]];
      case "share":
        return [["rcs share", (v) => formatPct(v.engines.rcs.share)]];
      case "busy":
        return [["rcs busy", (v) => formatNs(v.engines.rcs.busyNs)]];
      case "latency":
        return [
          ["lat p50", (v) => formatNs(v.latency.p50)],
          ["lat p90", (v) => formatNs(v.latency.p90)],
          ["lat p99", (v) => formatNs(v.latency.p99)],
          ["lat max", (v) => formatNs(v.latency.max)],
        ];
      case "throughput":
        return [["batch/s", (v) => v.throughput.toFixed(1)]];
      case "traps":
        return [["traps", (v) => String(v.traps.total ?? 0)]];
      case "native_pct":
        return [[
          "% native",
          (v) => (v.nativePct === undefined ? "-" : `${v.nativePct.toFixed(1)}%`),
        ]];
      default:
        return [[m, n(m)]]; // a counter by name
    }
  });
}

function render(title: string, r: Results, cols: Column[]): string {
  return `${title}\n${
    table(["vm", ...cols.map((c) => c[0])], r.vms.map((v) => [v.name, ...cols.map((c) => c[1](v))]))
  }`;
}

/** KiB, MiB or GiB of `pages` 4 KiB pages. */
function pagesSize(pages: number): string {
  const kib = pages * 4;
  return kib >= 1024 * 1024
    ? `${(kib / 1048576).toFixed(1)} GiB`
    : kib >= 1024
    ? `${(kib / 1024).toFixed(1)} MiB`
    : `${kib} KiB`;
}

/** The header and rows of the migration table (one row per live migration). */
export function migrationRows(r: Results): { head: string[]; rows: string[][] } {
  const head = [
    "vm",
    "from",
    "to",
    "outcome",
    "rounds",
    "pre-copy",
    "stop-copy",
    "gpu pages",
    "gpu resent",
    "hashing",
    "state",
    "downtime",
    "total",
  ];
  const rows = (r.migrations ?? []).map((m) => [
    m.vm,
    m.from,
    m.to,
    m.outcome,
    String(m.rounds.length),
    pagesSize(m.precopyPages),
    pagesSize(m.stopPages),
    String(m.gpuPages),
    String(m.gpuResent),
    m.hashing ? "on" : "off",
    pagesSize(Math.ceil(m.stateBytes / 4096)),
    m.outcome === "done" ? formatNs(m.downtimeNs) : "-",
    m.end >= 0 ? formatNs(m.end - m.start) : "-",
  ]);
  return { head, rows };
}

/** The live migrations as a terminal table, with the reasons of failed ones below it. */
export function migrationTable(r: Results): string {
  const { head, rows } = migrationRows(r);
  const notes = (r.migrations ?? []).filter((m) => m.reason).map((m) =>
    `${m.vm} -> ${m.to}: ${m.reason}`
  );
  return ["migration", rows.length ? table(head, rows) : "(no live migration)", ...notes].join(
    "\n",
  ) + "\n";
}

/** The tables and metrics a scenario's `report` section selected, in its order. */
export function reportTables(
  r: Results,
  tables: readonly string[],
  metrics: readonly string[],
): string {
  const out: string[] = [];
  for (const t of tables) {
    if (TABLES[t]) out.push(render(t, r, TABLES[t]));
    else if (t === "migration" && !r.migrations?.length) out.push(migrationTable(r).trimEnd());
  }
  if (metrics.length > 0) out.push(render("metrics", r, metricColumns(metrics)));
  return out.length ? out.join("\n\n") + "\n" : "";
}
