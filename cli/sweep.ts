/**
 * `gvtsim sweep`, `gvtsim sweep merge` and `gvtsim report DIR`: the command-line side of
 * sweep/ (argument checking, messages, exit codes). Exit 0 when every run ran and passed its
 * expectations, 1 when some run failed an expectation (all are recorded), 2 on bad input or a
 * run that could not run.
 * @module
 */

import { parseAxes, parseSeeds, parseShard, type Shard } from "../sweep/grid.ts";
import { sweep, SweepError } from "../sweep/sweep.ts";
import { mergeSweeps } from "../sweep/merge.ts";
import { regenerateReport } from "../sweep/merge.ts";
import { slurmScript } from "../sweep/slurm.ts";

/** Options of `gvtsim sweep` as parsed by main.ts. */
export interface SweepCliOptions {
  /** Scenario file. */
  file: string;
  /** `-D NAME=V1,V2,...` (repeatable). */
  defines: readonly string[];
  /** `--seeds 1..N` / `1,2,3` / `7`. */
  seeds?: string;
  /** `-j N`. */
  jobs?: number;
  /** `--until`. */
  until?: number;
  /** `--hypervisor`. */
  hypervisor?: string;
  /** `--shard I/N`. */
  shard?: string;
  /** `--out DIR`. */
  out: string;
  /** `--emit slurm`: print a job-array script instead of running. */
  emit?: string;
  /** `--tasks N` of the emitted array. */
  tasks?: number;
  /** `--quiet`: no progress. */
  quiet?: boolean;
  /** Where results and scripts go (stdout). */
  out_?: (s: string) => void;
  /** Where progress and errors go (stderr). */
  err?: (s: string) => void;
}

const enc = new TextEncoder();
const stdout = (s: string) => void Deno.stdout.writeSync(enc.encode(s));
const stderr = (s: string) => void Deno.stderr.writeSync(enc.encode(s));

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/** `gvtsim sweep FILE ...`. */
export async function sweepCommand(o: SweepCliOptions): Promise<number> {
  const out = o.out_ ?? stdout, err = o.err ?? stderr;
  const fail = (m: string) => {
    err(`gvtsim sweep: error: ${m}\n`);
    return 2;
  };
  const axes = parseAxes(o.defines);
  if (typeof axes === "string") return fail(axes);
  let seeds: number[] = [];
  if (o.seeds !== undefined) {
    const s = parseSeeds(o.seeds);
    if (typeof s === "string") return fail(s);
    seeds = s;
  }
  let shard: Shard | undefined;
  if (o.shard !== undefined) {
    const s = parseShard(o.shard);
    if (typeof s === "string") return fail(s);
    shard = s;
  }
  if (o.jobs !== undefined && o.jobs < 1) return fail(`-j ${o.jobs}: at least 1`);
  if (o.emit !== undefined) {
    if (o.emit !== "slurm") return fail(`--emit ${o.emit}: the only script is 'slurm'`);
    if (shard) return fail("--emit slurm writes the --shard of each task itself; drop --shard");
    const script = slurmScript({
      file: o.file,
      defines: o.defines,
      seeds: o.seeds,
      until: o.until,
      hypervisor: o.hypervisor,
      out: o.out,
      tasks: o.tasks,
      jobs: o.jobs,
      runs: axes.reduce((n, a) => n * a.values.length, 1) * Math.max(1, seeds.length),
    });
    if (typeof script === "string") {
      out(script);
      return 0;
    }
    return fail(script.message);
  }
  if (o.tasks !== undefined) return fail("--tasks goes with --emit slurm");
  const r = await sweep({
    file: o.file,
    params: Object.fromEntries(axes.map((a) => [a.name, a.values])),
    seeds,
    until: o.until,
    hypervisor: o.hypervisor,
    jobs: o.jobs,
    shard,
    out: o.out,
    log: o.quiet ? undefined : err,
    terminal: isTerminal(),
  });
  if (r instanceof SweepError) return fail(r.message);
  if (o.quiet) { for (const w of r.warnings) err(`warning: ${w}\n`); }
  err(
    `${r.dir}: ${r.planned} runs (${r.ran} ran, ${r.skipped} already there); ` +
      `${r.failedExpectations} with failed expectations, ${r.errors} could not run; ` +
      `results.db, runs.jsonl, summary.csv, report.html\n`,
  );
  return r.errors > 0 ? 2 : r.failedExpectations > 0 ? 1 : 0;
}

/** `gvtsim sweep merge DIR... --out DIR`. */
export async function mergeCommand(
  dirs: readonly string[],
  outDir: string,
  err: (s: string) => void = stderr,
): Promise<number> {
  const r = await mergeSweeps(dirs, outDir);
  if (typeof r === "string") {
    err(`gvtsim sweep merge: error: ${r}\n`);
    return 2;
  }
  err(
    `${outDir}: merged ${dirs.length} director${dirs.length === 1 ? "y" : "ies"}, ${r.runs} runs\n`,
  );
  return 0;
}

/** `gvtsim report DIR`: redraws DIR/report.html from DIR/results.db. */
export async function reportCommand(
  dir: string,
  err: (s: string) => void = stderr,
): Promise<number> {
  const r = await regenerateReport(dir);
  if (r !== undefined) {
    err(`gvtsim report: error: ${r}\n`);
    return 2;
  }
  err(`wrote ${dir}/report.html\n`);
  return 0;
}
