/** The terminal summary of a run: per-VM table, hypervisor and scheduler lines, expectations. */

import type { Results } from "../core/metrics/results.ts";
import { formatNs, formatPct, table } from "./table.ts";
import { showValue } from "../core/metrics/expect.ts";
import { migrationTable, reportTables } from "./report_tables.ts";

/** Options of {@link renderSummary}. */
export interface SummaryOptions {
  /** ANSI colours (NO_COLOR respected by the caller). */
  color?: boolean;
  /** Print only the failed expectations. */
  onlyFailures?: boolean;
  /** Extra tables the scenario's `report` section asked for. */
  tables?: readonly string[];
  /** Extra per-VM metrics the scenario's `report` section asked for. */
  metrics?: readonly string[];
}

const paint = (
  on: boolean | undefined,
  code: number,
  s: string,
) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Renders the summary. */
export function renderSummary(r: Results, o: SummaryOptions = {}): string {
  const lines: string[] = [];
  const fail = r.expectations.filter((e) => !e.pass);
  if (!o.onlyFailures) {
    lines.push(
      `scenario ${r.scenario} (${r.file}), seed ${r.seed}, simulated ${formatNs(r.simulatedNs)}, ` +
        `hypervisor ${r.hypervisor.name}, scheduler ${r.scheduler.policy}`,
      "",
    );
    const head = [
      "vm",
      "type",
      "state",
      "wt",
      "rcs",
      "bcs",
      "vcs",
      "vecs",
      "fps",
      "batch/s",
      "lat p50",
      "lat p99",
      "mmio",
      "gtt",
      "pt-wp",
      "scanned",
      "shadow pg",
    ];
    const rows = r.vms.map((v) => [
      v.name,
      v.type,
      v.state,
      String(v.weight),
      formatPct(v.engines.rcs.share),
      formatPct(v.engines.bcs.share),
      formatPct(v.engines.vcs.share),
      formatPct(v.engines.vecs.share),
      v.fps.toFixed(1),
      v.throughput.toFixed(0),
      formatNs(v.latency.p50),
      formatNs(v.latency.p99),
      String(v.traps.mmio),
      String(v.traps.gtt),
      String(v.traps.pagetrack),
      String(sumPrefix(v.counters, "scan.cmds.")),
      String(v.counters["ppgtt.spt_alloc"] ?? 0),
    ]);
    lines.push(table(head, rows), "");
    const extra = reportTables(r, o.tables ?? [], o.metrics ?? []);
    if (extra) lines.push(extra);
    if (r.migrations?.length) lines.push(migrationTable(r));
    for (const v of r.vms) {
      if (v.stateReason) lines.push(`${v.name}: ${v.state}: ${v.stateReason}`);
      if (v.nativePct !== undefined) {
        lines.push(`${v.name}: ${v.nativePct.toFixed(1)}% of native throughput`);
      }
    }
    const frames = r.vms.reduce((a, v) => a + v.frames, 0);
    const hostLines = r.hosts
      ? [
        ...r.hosts.map((h) => gpuLine(` (host ${h.name})`, h.engines, h.commands, h.msis)),
        `guests: ${frames} frames flipped on all hosts`,
        ...r.hosts.map((h) => schedulerLine(` (host ${h.name})`, h.switches, h.drainWaitNs)),
      ]
      : [
        gpuLine(
          "",
          r.gpu.engines,
          r.gpu.counters.commands ?? 0,
          r.gpu.counters.msis ?? 0,
          `, ${frames} guest frames flipped`,
        ),
        schedulerLine("", r.scheduler.switches, r.scheduler.drainWaitNs),
      ];
    lines.push(
      ...hostLines,
      `isolation: ${
        r.isolation.checked ? `${r.isolation.violations} violations` : "not checked"
      }; ` +
        `plugin errors ${r.hypervisor.errors.length}, faults injected ${r.hypervisor.faultsInjected}`,
    );
    for (const h of r.hosts ?? []) { // its GPU's use is on its gpu line above
      lines.push(
        `host ${h.name} (${h.gpu}, ${h.hypervisor}): vms ${
          h.vms.join(" ") || "-"
        }; ${h.violations} violations`,
      );
    }
    for (const e of r.hypervisor.errors.slice(0, 5)) {
      lines.push(`  plugin ${e.plugin} op ${e.op} (vm ${e.vm}): ${e.message}`);
    }
    const c = r.counters;
    if (c["gscale.copies"] !== undefined) { // gScale mode only
      lines.push(
        `gscale: ${c["gscale.copies"]} GTT slot loads, ${c["gscale.entries_copied"]} entries ` +
          `copied (${formatNs(c["gscale.copy_ns"])}), ${c["gscale.ladder_maps"]} ladder ` +
          `mappings, ${c["gscale.fence_lends"]} fence loans`,
      );
    }
  }
  if (r.expectations.length) {
    if (!o.onlyFailures) lines.push("");
    for (const e of r.expectations) {
      if (o.onlyFailures && e.pass) continue;
      const tag = e.pass ? paint(o.color, 32, "PASS") : paint(o.color, 31, "FAIL");
      lines.push(
        `${tag} ${e.file}:${e.line}: expect ${e.text}  (actual ${
          typeof e.actual === "number" ? showValue(e.actual, e.unit) : e.actual
        }, expected ${e.expected})`,
      );
    }
    lines.push(
      `${r.expectations.length - fail.length} of ${r.expectations.length} expectations passed`,
    );
  }
  return lines.join("\n") + "\n";
}

/** `gpu: rcs 50.0%, ...; N commands executed, M interrupts (MSI)` and what follows. */
function gpuLine(
  host: string,
  engines: Results["gpu"]["engines"],
  commands: number,
  msis: number,
  tail = "",
): string {
  const util = Object.entries(engines).map(([n, e]) => `${n} ${formatPct(e.utilization)}`)
    .join(", ");
  return `gpu${host}: ${util}; ${commands} commands executed, ${msis} interrupts (MSI)${tail}`;
}

/** `scheduler: N vGPU switches, T waiting for engines to drain`. */
function schedulerLine(host: string, switches: number, drainWaitNs: number): string {
  return `scheduler${host}: ${switches} vGPU switches, ${
    formatNs(drainWaitNs)
  } waiting for engines to drain`;
}

function sumPrefix(rec: Record<string, number>, prefix: string): number {
  let s = 0;
  for (const [k, v] of Object.entries(rec)) if (k.startsWith(prefix)) s += v;
  return s;
}
