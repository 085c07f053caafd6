/**
 * `run --csv PATH`: a run's per-VM metrics and the time series behind the report's charts
 * as RFC 4180 CSV (CRLF line ends, fields quoted only when they hold a comma, quote, CR or
 * LF, quotes doubled). Numbers are written as JavaScript prints them; a missing value is an
 * empty field. Column order is fixed (documented in docs/outputs.md).
 */

import type { Results } from "../core/metrics/results.ts";
import { ENGINE_NAMES } from "../core/scenario.ts";

/** Trap kinds that always get a column, in this order; other kinds follow sorted, then total. */
export const TRAP_KINDS: readonly string[] = ["mmio", "gtt", "pagetrack", "cfg"];

/** One field, quoted per RFC 4180 when it needs to be. */
export function csvField(v: string | number | undefined): string {
  if (v === undefined) return "";
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Rows to CSV text: CRLF after every record, including the last. */
export function csvText(rows: readonly (readonly (string | number | undefined)[])[]): string {
  return rows.map((r) => r.map(csvField).join(",") + "\r\n").join("");
}

/** The trap-kind columns for a run: {@link TRAP_KINDS}, other kinds seen (sorted), total. */
export function trapKinds(results: Results): string[] {
  const extra = new Set<string>();
  for (const vm of results.vms) {
    for (const k of Object.keys(vm.traps)) {
      if (k !== "total" && !TRAP_KINDS.includes(k)) extra.add(k);
    }
  }
  return [...TRAP_KINDS, ...[...extra].sort(), "total"];
}

/**
 * Per-VM metrics, one row per VM in declaration order: name, type, hypervisor, state,
 * state_reason, weight, share_<engine> for rcs/bcs/vcs/vecs, fps, frames, submitted,
 * completed, throughput, latency_{p50,p90,p99,max}_ns, traps_<kind> per trap kind and
 * traps_total, native_pct (empty when not computed).
 */
export function vmCsv(results: Results): string {
  const kinds = trapKinds(results);
  const head = [
    "name",
    "type",
    "hypervisor",
    "state",
    "state_reason",
    "weight",
    ...ENGINE_NAMES.map((e) => `share_${e}`),
    "fps",
    "frames",
    "submitted",
    "completed",
    "throughput",
    "latency_p50_ns",
    "latency_p90_ns",
    "latency_p99_ns",
    "latency_max_ns",
    ...kinds.map((k) => `traps_${k}`),
    "native_pct",
  ];
  const rows = results.vms.map((vm) => [
    vm.name,
    vm.type,
    vm.hypervisor,
    vm.state,
    vm.stateReason ?? "",
    vm.weight,
    ...ENGINE_NAMES.map((e) => vm.engines[e]?.share),
    vm.fps,
    vm.frames,
    vm.submitted,
    vm.completed,
    vm.throughput,
    vm.latency.p50,
    vm.latency.p90,
    vm.latency.p99,
    vm.latency.max,
    ...kinds.map((k) => vm.traps[k] ?? 0),
    vm.nativePct,
  ]);
  return csvText([head, ...rows]);
}

/** Names of the VMs with a series, declaration order first, then any others sorted. */
export function seriesVms(results: Results): string[] {
  const names = results.vms.map((v) => v.name);
  const known = new Set(names);
  const extra = new Set<string>();
  for (const k of [...Object.keys(results.series.share), ...Object.keys(results.series.queue)]) {
    if (!known.has(k)) extra.add(k);
  }
  return [...names, ...[...extra].sort()];
}

/**
 * The sampled series, one row per sample: t_ms, then for each VM (declaration order)
 * `<vm>_share` (render-engine share 0..1 in the period ending at t) and `<vm>_queue`
 * (queued workloads at t).
 */
export function seriesCsv(results: Results): string {
  const { t, share, queue } = results.series;
  const vms = seriesVms(results);
  const head = ["t_ms", ...vms.flatMap((v) => [`${v}_share`, `${v}_queue`])];
  const rows = t.map((ns, i) => [
    ns / 1e6,
    ...vms.flatMap((v) => [share[v]?.[i], queue[v]?.[i]]),
  ]);
  return csvText([head, ...rows]);
}

/** Where the series CSV goes for `--csv PATH`: `x.csv` -> `x.series.csv`, else `PATH.series.csv`. */
export function seriesCsvPath(path: string): string {
  return path.toLowerCase().endsWith(".csv")
    ? `${path.slice(0, -4)}.series.csv`
    : `${path}.series.csv`;
}

/** The files `run --csv PATH` writes: the per-VM table at PATH, the series beside it. */
export function csvOutputs(path: string, results: Results): { path: string; text: string }[] {
  return [
    { path, text: vmCsv(results) },
    { path: seriesCsvPath(path), text: seriesCsv(results) },
  ];
}
