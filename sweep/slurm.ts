/**
 * `gvtsim sweep ... --emit slurm`: an sbatch script that runs the sweep as a Slurm job array.
 * Task I of N runs `--shard I/N` into OUT/shards/I (each task runs every N-th run of the grid,
 * so a task covers many grid points); the last task to finish merges the shards into OUT with
 * `gvtsim sweep merge`, which gives what the sweep in one process would have given.
 */

import { gvtsimTaskFlags } from "../cli/task_flags.ts";

/** What the script needs. */
export interface SlurmOptions {
  /** Scenario file, as given (relative to the submit directory). */
  file: string;
  /** `-D NAME=V1,V2` options, as given. */
  defines: readonly string[];
  /** `--seeds`, as given. */
  seeds?: string;
  /** `--until` (ns). */
  until?: number;
  /** `--hypervisor`. */
  hypervisor?: string;
  /** The merged results directory. */
  out: string;
  /** Array tasks (default: one per {@link RUNS_PER_TASK} runs). */
  tasks?: number;
  /** Workers per task (`-j`, and `--cpus-per-task`); default 1. */
  jobs?: number;
  /** Runs in the grid. */
  runs: number;
}

/** Runs per array task when `--tasks` is not given (Deno starts in about a second). */
export const RUNS_PER_TASK = 8;

/** A string as one shell word. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command that runs gvtsim here: this Deno with the `gvtsim` task's permissions
 * (from deno.json, so the script never grants more than `deno task gvtsim`) and main.ts.
 */
export function gvtsimCommand(): string[] {
  const main = new URL("../main.ts", import.meta.url).pathname;
  // deno.json unreadable: the two permissions a sweep needs
  const flags = gvtsimTaskFlags() ?? ["--allow-read", "--allow-write"];
  return [Deno.execPath(), "run", ...flags, main];
}

/** The sbatch script, or why not. */
export function slurmScript(o: SlurmOptions): string | Error {
  if (o.tasks !== undefined && o.tasks < 1) return new Error(`--tasks ${o.tasks}: at least 1`);
  const tasks = Math.max(1, Math.min(o.runs, o.tasks ?? Math.ceil(o.runs / RUNS_PER_TASK)));
  const jobs = o.jobs ?? 1;
  const cmd = gvtsimCommand().map(shellQuote).join(" ");
  const args = [
    "sweep",
    o.file,
    ...o.defines.flatMap((d) => ["-D", d]),
    ...(o.seeds !== undefined ? ["--seeds", o.seeds] : []),
    ...(o.until !== undefined ? ["--until", `${o.until}ns`] : []),
    ...(o.hypervisor !== undefined ? ["--hypervisor", o.hypervisor] : []),
  ].map(shellQuote).join(" ");
  const out = shellQuote(o.out);
  return `#!/bin/bash
# gvtsim sweep as a Slurm job array: ${o.runs} runs in ${tasks} task(s), then one merge.
# Submit with:  sbatch THIS_FILE      (from any directory; the job runs in the one below)
# Task I runs every ${tasks}-th run from the I-th on (--shard I/${tasks}) into ${o.out}/shards/I;
# the last task to finish merges them into ${o.out} (results.db, runs.jsonl, summary.csv,
# report.html). A failed task can be resubmitted alone (sbatch --array=I THIS_FILE): the runs
# it already recorded are skipped. Set GVTSIM to run another gvtsim.
#SBATCH --job-name=gvtsim-sweep
#SBATCH --array=0-${tasks - 1}
#SBATCH --cpus-per-task=${jobs}
#SBATCH --chdir=${Deno.cwd()}
set -euo pipefail
if [ -n "\${GVTSIM:-}" ]; then read -ra G <<<"$GVTSIM"; else G=(${cmd}); fi
OUT=${out}
TASKS=${tasks}
I=\${SLURM_ARRAY_TASK_ID:?run this script with sbatch}
mkdir -p "$OUT/shards"
rm -f "$OUT/shards/$I.done"
rc=0
"\${G[@]}" ${args} --shard "$I/$TASKS" -j "\${SLURM_CPUS_PER_TASK:-${jobs}}" --out "$OUT/shards/$I" --quiet || rc=$?
# exit 1 means some expectations failed: the runs are recorded all the same
if [ "$rc" -gt 1 ]; then exit "$rc"; fi
touch "$OUT/shards/$I.done"
done_tasks=$(find "$OUT/shards" -maxdepth 1 -name '*.done' | wc -l)
# mkdir is atomic: of the tasks that see all shards done, exactly one merges
if [ "$done_tasks" -eq "$TASKS" ] && mkdir "$OUT/shards/.merge" 2>/dev/null; then
  "\${G[@]}" sweep merge "$OUT"/shards/*/ --out "$OUT"
  rmdir "$OUT/shards/.merge"
fi
`;
}
