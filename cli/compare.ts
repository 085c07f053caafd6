/**
 * `gvtsim compare`: one scenario under several hypervisor backends, side by side (per-VM
 * share, fps, latency, traps, and throughput relative to the first backend).
 * @module
 */

import { WorldError } from "../core/world.ts";
import type { Results } from "../core/metrics/results.ts";
import { loadForRun, paramWarnings, simulate } from "./run.ts";
import { formatNs, formatPct, table } from "./table.ts";
import { planOutputs, writeAtomic } from "./output.ts";

const enc = new TextEncoder();

/** Version of the JSON `compare --json` writes. */
export const COMPARE_SCHEMA = "gvtsim.compare/1";

/** What `compare --json` writes: each backend's full results, in the order given. */
export interface CompareJson {
  /** {@link COMPARE_SCHEMA}. */
  schema: string;
  /** Scenario file as given. */
  file: string;
  /** Backends compared, in order. */
  hypervisors: string[];
  /** One entry per backend. */
  runs: { hypervisor: string; results: Results }[];
}

/**
 * Runs the scenario under each backend and prints one table (on stderr when `json` is `-`,
 * which puts the JSON on stdout); exit 0, or 2 on bad input.
 */
export async function compareHypervisors(
  path: string,
  hypervisors: string[],
  o: {
    seed?: number;
    until?: number;
    defines?: readonly string[];
    json?: string;
    out?: (s: string) => void;
    err?: (s: string) => void;
  } = {},
): Promise<number> {
  const out = o.out ?? ((s: string) => void Deno.stdout.writeSync(enc.encode(s)));
  const err = o.err ?? ((s: string) => void Deno.stderr.writeSync(enc.encode(s)));
  if (hypervisors.length === 0) {
    err("compare: --hypervisors needs at least one backend\n");
    return 2;
  }
  const { scenario, sources } = loadForRun(path, o.seed, err, false, [], o.defines);
  if (!scenario) return 2;
  if (o.json !== undefined) {
    const bad = planOutputs([{ flag: "--json", path: o.json, stdoutOk: true }], [
      ...sources.keys(),
    ]);
    if (bad) {
      err(`error: ${bad.message}\n`);
      return 2;
    }
  }
  const runs: { hv: string; r: Results }[] = [];
  for (const hv of hypervisors) {
    const res = await simulate(scenario, { seed: o.seed, until: o.until, hypervisor: hv });
    if (res instanceof WorldError) {
      err(`${path}: error: ${hv}: ${res.message}\n`);
      return 2;
    }
    for (const w of paramWarnings(res.world)) err(`${path}: ${w}\n`);
    runs.push({ hv, r: res.results });
  }
  // a backend by its name (a plugin's path only when two share a name)
  const names = runs.map((x) => x.r.hypervisor.name);
  for (const x of runs) {
    const name = x.r.hypervisor.name;
    x.hv = names.filter((n) => n === name).length > 1 ? `${name} (${x.hv})` : name;
  }
  (o.json === "-" ? err : out)(compareTable(runs));
  if (o.json !== undefined) {
    const doc: CompareJson = {
      schema: COMPARE_SCHEMA,
      file: path,
      hypervisors,
      runs: runs.map(({ hv, r }) => ({ hypervisor: hv, results: r })),
    };
    const text = JSON.stringify(doc, null, 2) + "\n";
    if (o.json === "-") out(text);
    else writeAtomic(o.json, text);
  }
  return 0;
}

/** The side-by-side table: one row per (VM, backend). */
export function compareTable(runs: { hv: string; r: Results }[]): string {
  const head = [
    "vm",
    "hypervisor",
    "state",
    "rcs share",
    "fps",
    "batch/s",
    "vs first",
    "lat p50",
    "lat p99",
    "mmio traps",
    "trap time/batch",
    "hv time/batch",
    "msi",
    "msi cost",
    "pt-wp",
  ];
  const rows: string[][] = [];
  const first = runs[0].r;
  for (const vm of first.vms) {
    for (const { hv, r } of runs) {
      const v = r.vms.find((x) => x.name === vm.name)!;
      const base = vm.throughput;
      const trapNs = v.counters["guest.trap_time_ns"] ?? 0;
      rows.push([
        vm.name,
        hv,
        v.state,
        formatPct(v.engines.rcs.share),
        v.fps.toFixed(1),
        v.throughput.toFixed(0),
        base > 0 ? formatPct(v.throughput / base) : "-",
        formatNs(v.latency.p50),
        formatNs(v.latency.p99),
        String(v.traps.mmio),
        v.completed > 0 ? formatNs(trapNs / v.completed) : "-",
        v.completed > 0 ? formatNs((v.counters["hv.ns"] ?? 0) / v.completed) : "-",
        String(v.counters["msi.injected"] ?? 0),
        formatNs(v.counters["hv.msi_ns"] ?? 0),
        String(v.traps.pagetrack),
      ]);
    }
  }
  const errs = runs.map(({ hv, r }) =>
    `${hv}: ${r.hypervisor.errors.length} plugin errors, native ops: ${
      r.hypervisor.nativeOps.join(" ") || "none"
    }`
  );
  return table(head, rows) + "\n\n" + errs.join("\n") + "\n";
}
