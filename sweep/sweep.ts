/**
 * `sweep()`: run a scenario over a grid of parameter values and seeds, in parallel, into a
 * results directory: results.db (SQLite, see sweep/db.ts), runs.jsonl (full results),
 * summary.csv (mean, sd and 95% CI per metric per grid point) and report.html. A rerun into
 * the same directory skips the runs already recorded with the same scenario hash.
 */

import { formatDiagnostics, type LoadResult, loadScenario } from "../dsl/mod.ts";
import { RESULTS_SCHEMA } from "../core/metrics/results.ts";
import { writeAtomic } from "../cli/output.ts";
import {
  type Axis,
  gridPoints,
  plannedRuns,
  pointLabel,
  type Shard,
  shardRuns,
  type SweepSpec,
} from "./grid.ts";
import { DB_FILE, RESERVED_COLUMNS, storedParams, SWEEP_SCHEMA, SweepDb } from "./db.ts";
import { runPool } from "./pool.ts";
import type { RunJob, RunOutput } from "./run_one.ts";
import { SweepProgress } from "./progress.ts";
import { summarizePoints, summaryCsv } from "./summary.ts";
import { sweepReportHtml } from "./report.ts";

/** What to sweep (the library form of `gvtsim sweep`). */
export interface SweepOptions {
  /** The scenario file. */
  file: string;
  /** Swept parameters: name -> values (numbers with units as strings: `"2ms"`). */
  params?: Record<string, readonly (string | number)[]>;
  /** Seeds (default: the scenario's own seed, one run per grid point). */
  seeds?: readonly number[];
  /** Simulated time of each run (ns), overriding the scenario's. */
  until?: number;
  /** Hypervisor backend of each run, overriding the scenario's. */
  hypervisor?: string;
  /** Runs at once (default: the machine's cores). 1 runs in the calling thread. */
  jobs?: number;
  /** Run only this slice of the grid (`--shard I/N`). */
  shard?: Shard;
  /** The results directory (created if needed). */
  out: string;
  /** Where progress and warnings go (default: nowhere). */
  log?: (s: string) => void;
  /** Redraw one progress bar instead of a line per run (a terminal). */
  terminal?: boolean;
}

/** What a sweep did. */
export interface SweepSummary {
  /** The results directory. */
  dir: string;
  /** Runs in the grid (or in the shard). */
  planned: number;
  /** Runs simulated by this call. */
  ran: number;
  /** Runs skipped because the directory already had them. */
  skipped: number;
  /** Runs (recorded in the directory) with a failed expectation. */
  failedExpectations: number;
  /** Runs (recorded in the directory) that could not run. */
  errors: number;
  /** Warnings (also sent to `log`). */
  warnings: string[];
}

/** A sweep that could not start (bad options, a scenario with errors, another sweep in DIR). */
export class SweepError extends Error {
  /**
   * Creates it.
   * @param message what is wrong (may span lines: scenario diagnostics)
   */
  constructor(message: string) {
    super(message);
    this.name = "SweepError";
  }
}

/** What the sweep knows of a grid point before running it. */
interface PointPlan {
  /** Hash of everything but the seed that determines its results. */
  hash: string;
  /** The scenario's own seed. */
  seed: number;
  /** Every parameter's value. */
  params: Record<string, string>;
}

/**
 * Runs a sweep. Resolves to what it did, or a {@link SweepError} before any run when the
 * input is bad.
 *
 * ```ts
 * import { sweep } from "@gvtsim/gvtsim";
 * const s = await sweep({
 *   file: "scenarios/sweep.gvt",
 *   params: { policy: ["gvt", "gvirt-rr"], workers: [1, 2] },
 *   seeds: [1, 2, 3],
 *   jobs: 2,
 *   out: "out/study",
 * });
 * if (!(s instanceof Error)) console.log(`${s.ran} runs in ${s.dir}/results.db`);
 * ```
 */
export async function sweep(o: SweepOptions): Promise<SweepSummary | SweepError> {
  const log = o.log ?? (() => {});
  const spec: SweepSpec = {
    file: o.file,
    axes: Object.entries(o.params ?? {}).map(([name, vs]): Axis => ({
      name,
      values: vs.map(String),
    })),
    seeds: [...(o.seeds ?? [])],
  };
  if (o.until !== undefined) spec.until = o.until;
  if (o.hypervisor !== undefined) spec.hypervisor = o.hypervisor;
  const bad = checkSpec(spec);
  if (bad) return new SweepError(bad);

  const plans = await planPoints(spec);
  if (plans instanceof SweepError) return plans;
  const { points, params, warnings: loadWarnings } = plans;
  const clash = params.find((p) => RESERVED_COLUMNS.includes(p.name));
  if (clash) {
    return new SweepError(
      `param '${clash.name}' has the name of a column of the runs table; rename it ` +
        `(reserved: ${RESERVED_COLUMNS.join(", ")})`,
    );
  }
  const warnings = [...loadWarnings];
  for (const w of loadWarnings) log(`warning: ${w}\n`);

  try {
    await Deno.mkdir(o.out, { recursive: true });
  } catch (e) {
    return new SweepError(`--out ${o.out}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const db = SweepDb.open(`${o.out}/${DB_FILE}`, spec, storedParams(params, spec));
  if (typeof db === "string") return new SweepError(db);
  try {
    const all = shardRuns(plannedRuns(spec), o.shard);
    const done = db.finishedRuns();
    const todo = all.filter((r) => done.get(r.run) !== points[r.point.point].hash);
    const skipped = all.length - todo.length;
    const jobs = Math.max(1, o.jobs ?? navigator.hardwareConcurrency ?? 1);
    log(
      `sweep ${spec.file}: ${all.length} runs (${gridPoints(spec).length} grid points x ${
        Math.max(1, spec.seeds.length)
      } seeds${o.shard ? `, shard ${o.shard.index}/${o.shard.count}` : ""})` +
        (skipped ? `, ${skipped} already in ${o.out}` : "") +
        `, ${todo.length} to run with -j ${Math.min(jobs, Math.max(1, todo.length))}\n`,
    );
    const progress = new SweepProgress(log, todo.length, o.terminal === true);
    const byRun = new Map(todo.map((r) => [r.run, r]));
    const work: RunJob[] = todo.map((r) => ({
      run: r.run,
      file: spec.file,
      defines: r.point.defines,
      seed: r.seed,
      until: spec.until,
      hypervisor: spec.hypervisor,
    }));
    await runPool(work, jobs, (out: RunOutput) => {
      const r = byRun.get(out.run)!;
      const plan = points[r.point.point];
      db.record({
        run: r.run,
        point: r.point.point,
        seed: out.results?.seed ?? r.seed ?? plan.seed,
        hash: plan.hash,
        params: plan.params,
        output: out,
      });
      const failed = out.results?.expectations.filter((e) => !e.pass).length ?? 0;
      progress.done(
        `run ${r.run} (${pointLabel(r.point.values)}, seed ${r.seed ?? plan.seed})`,
        out.error
          ? `error: ${out.error.split("\n")[0]}`
          : failed
          ? `${failed} expectation(s) failed`
          : "ok",
        out.wallMs,
      );
    }, () => progress.started());
    progress.end();
    const rows = db.runs();
    const seedWarning = randomnessWarning(rows, spec);
    if (seedWarning) {
      warnings.push(seedWarning);
      log(`warning: ${seedWarning}\n`);
    }
    await writeSweepOutputs(o.out, db);
    return {
      dir: o.out,
      planned: all.length,
      ran: todo.length,
      skipped,
      failedExpectations: rows.filter((r) => Number(r.expects_failed ?? 0) > 0).length,
      errors: rows.filter((r) => r.error !== null).length,
      warnings,
    };
  } finally {
    db.close();
  }
}

function checkSpec(spec: SweepSpec): string | undefined {
  const names = spec.axes.map((a) => a.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) return `parameter '${dup}' is swept twice`;
  for (const a of spec.axes) {
    if (a.values.length === 0) return `parameter '${a.name}' has no values to sweep`;
    if (new Set(a.values).size !== a.values.length) {
      return `parameter '${a.name}' lists a value twice`;
    }
  }
  if (new Set(spec.seeds).size !== spec.seeds.length) return "a seed is listed twice";
  return undefined;
}

/**
 * Loads the scenario at every grid point (all must check) and hashes each. The hash covers
 * the sources (paths relative to the main file), every parameter's value, the overrides and
 * the schemas, so a rerun redoes exactly the runs whose inputs changed.
 */
async function planPoints(
  spec: SweepSpec,
): Promise<
  { points: PointPlan[]; params: LoadResult["params"]; warnings: string[] } | SweepError
> {
  const points: PointPlan[] = [];
  let params: LoadResult["params"] = [];
  const warnings: string[] = [];
  for (const p of gridPoints(spec)) {
    const r = loadScenario(spec.file, { defines: p.defines });
    if (!r.scenario) {
      const diags = formatDiagnostics(
        r.diagnostics.filter((d) => d.severity === "error"),
        r.sources,
      );
      return new SweepError(
        (spec.axes.length ? `at grid point ${pointLabel(p.values)}:\n` : "") + diags.trimEnd(),
      );
    }
    if (points.length === 0) {
      params = r.params;
      for (const d of r.diagnostics) {
        if (d.severity === "warning") warnings.push(`${d.file}:${d.line}:${d.col}: ${d.message}`);
      }
    }
    const values: Record<string, string> = {};
    for (const x of r.params) values[x.name] = x.value;
    points.push({ hash: await scenarioHash(spec, r), seed: r.scenario.seed, params: values });
  }
  return { points, params, warnings };
}

/** SHA-256 (hex) of what determines a grid point's results apart from the seed. */
export async function scenarioHash(spec: SweepSpec, r: LoadResult): Promise<string> {
  const dir = spec.file.includes("/") ? spec.file.slice(0, spec.file.lastIndexOf("/") + 1) : "";
  const sources = [...r.sources]
    .filter(([path]) => !path.startsWith("("))
    .map(([path, text]) => [path.startsWith(dir) ? path.slice(dir.length) : path, text])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = JSON.stringify({
    schemas: [SWEEP_SCHEMA, RESULTS_SCHEMA],
    sources,
    params: r.params.map((p) => [p.name, p.value]),
    until: spec.until ?? null,
    hypervisor: spec.hypervisor ?? null,
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The warning for seeds swept over runs that draw no random numbers (undefined if none). */
function randomnessWarning(
  rows: readonly Record<string, string | number | null>[],
  spec: SweepSpec,
): string | undefined {
  if (spec.seeds.length < 2) return undefined;
  const ran = rows.filter((r) => r.error === null);
  const flat = new Set<string>();
  for (const r of ran) if (r.random_draws === 0) flat.add(String(r.point));
  if (flat.size === 0) return undefined;
  const points = new Set(ran.map((r) => String(r.point)));
  const what = flat.size === points.size
    ? "the scenario draws no random numbers"
    : `${flat.size} of ${points.size} grid points draw no random numbers (points ${
      [...flat].join(", ")
    })`;
  return `${what}: their ${spec.seeds.length} seeds give identical runs, so the seeds add no ` +
    `information (add a distribution such as think exp(2ms), or sweep one seed)`;
}

/** Writes runs.jsonl, summary.csv and report.html of a sweep directory from its database. */
export function writeSweepOutputs(dir: string, db: SweepDb): Promise<void> {
  writeAtomic(`${dir}/runs.jsonl`, db.jsonLines().map((l) => l + "\n").join(""));
  const points = summarizePoints(db);
  writeAtomic(`${dir}/summary.csv`, summaryCsv(db, points));
  writeAtomic(`${dir}/report.html`, sweepReportHtml(db, points));
  return Promise.resolve();
}
