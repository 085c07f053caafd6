/**
 * The conformance kit: checks any hypervisor backend against the mediator's contract, rule by
 * rule ({@link KIT_CHECKS}, core/mpt/kit_checks.ts), through the real loader and the real
 * {@link MptGate}, on fresh rigs with a stand-in for the GVT-g core (core/mpt/kit_rig.ts).
 * Every check builds its own rigs (a new backend instance each) so one failure cannot mask
 * another; a failure names the op, the rule, and the values seen. The kit never branches on
 * which backend it tests.
 *
 * The same kit runs under `gvtsim plugin test` and under a plugin's own `deno test` (the
 * scaffold's test calls `runPluginKit` from the SDK entry, which adds the whole-system stage).
 * A second stage (short scenario runs) plugs in through {@link ConformanceOptions.extraChecks}.
 */

import { errorMessage } from "./loader.ts";
import type { NativeOps } from "./gate.ts";
import { MPT_OP_NAMES } from "./gate.ts";
import {
  CONFORMANCE_LAYOUT,
  type KitRig,
  LoadFailed,
  makeRig,
  type RigOptions,
} from "./kit_rig.ts";
import { CheckFailed, KIT_CHECKS } from "./kit_checks.ts";

export type { NativeOps } from "./gate.ts";
export { CONFORMANCE_LAYOUT };

/** Schema name of the kit's JSON report (`gvtsim plugin test --json`). */
export const CONFORMANCE_SCHEMA = "gvtsim.conformance/1";

/** One check's outcome. */
export interface CheckResult {
  /** The MPT op (or area, e.g. "costs") the check exercises. */
  op: string;
  /** The rule checked. */
  check: string;
  /** True if the backend honours the rule. */
  ok: boolean;
  /** Why it failed (values seen vs expected); empty when it passed. */
  reason: string;
}

/** What a run exercised: calls per op over every rig (and run), and the paths taken. */
export interface Coverage {
  /** Calls per MPT op (every op, 0 if never called). */
  ops: Record<string, number>;
  /** Ops never called. */
  notCalled: string[];
  /** Access shapes and paths the kit exercised (e.g. "bar0 write 8B", "dma 2M mapped"). */
  paths: string[];
}

/** The result of {@link runConformance}. */
export interface ConformanceReport {
  /** Always {@link CONFORMANCE_SCHEMA}. */
  schema: string;
  /** The plugin spec as given. */
  plugin: string;
  /** Loader label (`file (name)`), or the spec when loading failed. */
  label: string;
  /** False if the plugin could not be loaded (then `checks` is empty). */
  loaded: boolean;
  /** The loader's problems, one per line, when `loaded` is false. */
  loadError: string;
  /** Every check, in order. */
  checks: CheckResult[];
  /** Checks passed. */
  passed: number;
  /** Checks failed. */
  failed: number;
  /** Optional ops the backend implements natively vs those the gate covers generically. */
  nativeOps: NativeOps;
  /** What the run exercised. */
  coverage: Coverage;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Base for relative plugin paths (default: the current directory). */
  base?: string | URL;
  /** Backend parameters passed to the factory (as a scenario would). */
  params?: Readonly<Record<string, number | string | boolean>>;
  /**
   * More checks to run after the op-by-op ones (e.g. short scenario runs under the world
   * runner, with the same backend `params`); `calls` adds to the coverage. An exception
   * becomes one failed check named `extraChecks`.
   */
  extraChecks?: (
    spec: string | URL,
    calls: Record<string, number>,
    params: Readonly<Record<string, number | string | boolean>>,
  ) => Promise<CheckResult[]>;
}

/**
 * Runs the conformance kit on one plugin (built-in name, path or file URL). Never throws:
 * a plugin that cannot be loaded gives a report with `loaded: false`.
 */
export async function runConformance(
  pluginSpec: string | URL,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const specText = String(pluginSpec);
  const calls: Record<string, number> = {};
  for (const op of MPT_OP_NAMES) calls[op] = 0;
  const report: ConformanceReport = {
    schema: CONFORMANCE_SCHEMA,
    plugin: specText,
    label: specText,
    loaded: false,
    loadError: "",
    checks: [],
    passed: 0,
    failed: 0,
    nativeOps: { native: [], fallback: [] },
    coverage: { ops: calls, notCalled: [], paths: [] },
  };
  const rigs: KitRig[] = [];
  const paths = new Set<string>();
  const rig = async (opts?: RigOptions): Promise<KitRig> => {
    const r = await makeRig(pluginSpec, options.params ?? {}, options.base, opts);
    rigs.push(r);
    return r;
  };

  try {
    const first = await rig({ attach: false });
    report.loaded = true;
    report.label = first.label;
    report.nativeOps = first.gate.nativeOps();
  } catch (e) {
    report.loadError = e instanceof LoadFailed ? e.message : errorMessage(e);
    return report;
  }

  for (const c of KIT_CHECKS) {
    try {
      await c.run(rig, paths);
      report.checks.push({ op: c.op, check: c.rule, ok: true, reason: "" });
    } catch (e) {
      const reason = e instanceof CheckFailed ? e.reason : `kit error: ${errorMessage(e)}`;
      report.checks.push({ op: c.op, check: c.rule, ok: false, reason });
    }
  }

  // every exception a backend op threw during the checks above, per op
  const byOp = new Map<string, { n: number; first: string }>();
  for (const r of rigs) {
    for (const [op, n] of Object.entries(r.gate.opCounts)) calls[op] += n;
    for (const e of r.gate.errors) {
      if (e.plugin === "gate") continue;
      const o = byOp.get(e.op) ?? { n: 0, first: `${e.plugin}: ${e.message}` };
      o.n++;
      byOp.set(e.op, o);
    }
    for (const t of r.ctx.timerErrors) {
      const o = byOp.get("timer") ?? { n: 0, first: t.message };
      o.n++;
      byOp.set("timer", o);
    }
  }
  if (byOp.size === 0) {
    report.checks.push({ op: "all ops", check: "no exceptions escape", ok: true, reason: "" });
  }
  for (const [op, { n, first }] of byOp) {
    report.checks.push({
      op,
      check: "no exceptions escape",
      ok: false,
      reason: `${n} error(s) recorded by the gate, first: ${first}`,
    });
  }

  if (options.extraChecks !== undefined) {
    try {
      report.checks.push(...await options.extraChecks(pluginSpec, calls, options.params ?? {}));
    } catch (e) {
      report.checks.push({
        op: "extraChecks",
        check: "runs",
        ok: false,
        reason: `threw: ${errorMessage(e)}`,
      });
    }
  }

  for (const c of report.checks) c.ok ? report.passed++ : report.failed++;
  report.coverage.notCalled = MPT_OP_NAMES.filter((op) => calls[op] === 0);
  report.coverage.paths = [...paths].sort();
  return report;
}

/** The coverage line of a report: how many ops were called, which not, and the paths. */
export function coverageLine(c: Coverage): string {
  const all = Object.keys(c.ops).length;
  const missed = c.notCalled.length === 0 ? "" : ` (never called: ${c.notCalled.join(", ")})`;
  return `coverage: ${all - c.notCalled.length}/${all} ops called${missed}; ` +
    `${c.paths.length} paths: ${c.paths.join(", ")}`;
}

/** Renders a report as a pass/fail table per op with the reason, then a summary. */
export function formatConformance(report: ConformanceReport): string {
  const lines: string[] = [`conformance: ${report.label}`];
  if (!report.loaded) {
    lines.push(`cannot load plugin:`, ...report.loadError.split("\n").map((l) => `  ${l}`));
    return lines.join("\n");
  }
  const rows = report.checks.map((c) => [c.op, c.check, c.ok ? "PASS" : "FAIL", c.reason]);
  const head = ["op", "check", "result", "reason"];
  const w = [0, 1, 2].map((i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`.trimEnd();
  lines.push(fmt(head), fmt(w.map((n) => "-".repeat(n)).concat(["------"])));
  for (const r of rows) lines.push(fmt(r));
  lines.push(
    "",
    `native optional ops: ${report.nativeOps.native.join(", ") || "(none)"}`,
    `generic fallbacks:   ${report.nativeOps.fallback.join(", ") || "(none)"}`,
    coverageLine(report.coverage),
    `${report.passed} passed, ${report.failed} failed`,
  );
  return lines.join("\n");
}
