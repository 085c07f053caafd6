/**
 * `gvtsim run`: load and check a scenario, build the world, simulate, print the per-VM
 * table and the expectations, and write the requested outputs. Exit 0 / 1 / 2.
 * @module
 */

import {
  escapeControls,
  formatDiagnostics,
  loadScenario,
  readSource,
  resolveInclude,
} from "../dsl/mod.ts";
import { seriesCsvPath } from "./csv.ts";
import type { Scenario } from "../core/scenario.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults, type NativeBaseline } from "../core/metrics/collect.ts";
import type { Results } from "../core/metrics/results.ts";
import { nativeBaseline, usesNative } from "../core/native_baseline.ts";
import { renderSummary } from "./summary.ts";
import { Progress } from "./progress.ts";
import { EXIT_INTERRUPTED, type Interrupts, runInterruptibly, turnEventLoop } from "./interrupt.ts";
import { TraceFile } from "./trace_file.ts";
import {
  commitStaged,
  discardStaged,
  type OutputRequest,
  planOutputs,
  type StagedFile,
  stageFile,
} from "./output.ts";

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Seed override. */
  seed?: number;
  /** Simulated duration override (ns). */
  until?: number;
  /** Hypervisor override (built-in name or plugin path). */
  hypervisor?: string;
  /** Write results JSON here ("-" for stdout). */
  json?: string;
  /** Write the per-VM CSV here (and the series next to it). */
  csv?: string;
  /** Write a Perfetto trace here. */
  trace?: string;
  /** Write the HTML report here. */
  report?: string;
  /** Fault rules, in the DSL's `fault` syntax, applied from t=0 (`--fault`). */
  faults?: readonly string[];
  /** Scenario parameter values, `NAME=VALUE` each (`-D`). */
  defines?: readonly string[];
  /** Print only failures. */
  quiet?: boolean;
  /** Colour output. */
  color?: boolean;
  /** Where normal output goes (default stdout). */
  out?: (s: string) => void;
  /** Where errors and progress go (default stderr). */
  err?: (s: string) => void;
  /** Show a progress bar (default: stderr is a terminal). */
  progress?: boolean;
  /** Simulated time (ns) at which to write a checkpoint (with {@link RunOptions.checkpoint}). */
  checkpointAt?: number;
  /** Checkpoint file written at {@link RunOptions.checkpointAt}; the run then continues. */
  checkpoint?: string;
  /** Continue from this checkpoint file instead of starting the scenario from zero. */
  restore?: string;
  /** Stop requests (Ctrl-C): the run stops between two slices, writing no output. */
  interrupts?: Interrupts;
}

/** What a finished run gives (for `compare`, tests and the REPL). */
export interface RunOutcome {
  /** Exit code. */
  code: number;
  /** Results, when the run happened. */
  results?: Results;
}

const enc = new TextEncoder();
const stdout = (s: string) => void Deno.stdout.writeSync(enc.encode(s));
const stderr = (s: string) => void Deno.stderr.writeSync(enc.encode(s));

/** Loads a scenario, printing diagnostics; undefined if it has errors. */
export function loadOrReport(
  path: string,
  seed: number | undefined,
  err: (s: string) => void,
  color = false,
  faults: readonly string[] = [],
  defines: readonly string[] = [],
): Scenario | undefined {
  return loadForRun(path, seed, err, color, faults, defines).scenario;
}

/**
 * Loads a scenario with its `--fault` rules, printing diagnostics: the scenario (undefined if
 * it has errors) and every source read, the `--fault` rules included (what a checkpoint stores).
 */
export function loadForRun(
  path: string,
  seed: number | undefined,
  err: (s: string) => void,
  color = false,
  faults: readonly string[] = [],
  defines: readonly string[] = [],
): { scenario?: Scenario; sources: Map<string, string> } {
  const r = loadScenario(path, { seed, readFile: withCliFaults(path, faults), defines });
  if (r.diagnostics.length) err(formatDiagnostics(r.diagnostics, r.sources, { color }));
  return r;
}

/** Name under which `--fault` statements appear in diagnostics. */
const CLI_FAULTS = "(--fault)";

/**
 * `--fault SPEC` (repeatable) becomes `timeline { at 0s fault SPEC }` in an include of the
 * main file, so the DSL parses and checks it exactly as in a scenario (and reports
 * problems at `(--fault):line:col`).
 */
function withCliFaults(
  main: string,
  faults: readonly string[],
): ((p: string) => string) | undefined {
  if (faults.length === 0) return undefined;
  return (p: string) => {
    if (p.endsWith(CLI_FAULTS)) {
      return faults.map((f) => `timeline { at 0s fault ${f} }`).join("\n") + "\n";
    }
    const text = readSource(p, { include: p !== main });
    return p === main ? `${text}\ninclude "${CLI_FAULTS}"\n` : text;
  };
}

/** A warning per hypervisor parameter the backend never read (a typo or another backend's). */
export function paramWarnings(world: World): string[] {
  return world.ctx.unreadParams().map((k) =>
    `warning: hypervisor parameter '${k}' is not read by backend ${world.backendLabel}: a typo, ` +
    `or a parameter of another backend`
  );
}

/** Simulates a checked scenario and returns its results (or a world error). */
export async function simulate(
  scenario: Scenario,
  opts: {
    seed?: number;
    until?: number;
    hypervisor?: string;
    trace?: boolean;
    progress?: Progress;
    /** Called once with the world at `at` (ns); a returned message aborts the run. */
    checkpoint?: { at: number; save: (world: World) => string | undefined };
    /** Stop requests: an interrupted run gives a {@link WorldError} saying so. */
    interrupts?: Interrupts;
    /** Called with the world once built, before it runs (e.g. to stream its trace). */
    onWorld?: (world: World) => void;
  },
): Promise<{ world: World; results: Results } | WorldError> {
  const until = opts.until ?? scenario.duration;
  const ck = opts.checkpoint;
  if (ck && ck.at > until) {
    return new WorldError(`checkpoint time ${ck.at} ns lies after the run's end (${until} ns)`);
  }
  const world = await World.create(scenario, {
    seed: opts.seed,
    hypervisor: opts.hypervisor,
    trace: opts.trace,
  });
  if (world instanceof WorldError) return world;
  opts.onWorld?.(world);
  const progress = (t: number) => opts.progress?.update(t / until);
  const run = (to: number) =>
    runInterruptibly(world, to, { interrupts: opts.interrupts, onSlice: progress });
  if (ck) {
    if (!await run(ck.at)) return interruptedAt(world);
    const failed = ck.save(world);
    if (failed) return new WorldError(failed);
  }
  if (!await run(until)) return interruptedAt(world);
  opts.progress?.done();
  return { world, results: finish(world, scenario, until) };
}

/** The error of a run stopped by Ctrl-C. */
export function interruptedAt(world: World): WorldError {
  return new WorldError(`interrupted at ${world.sim.now} ns; no output written`);
}

/** Results of a world that ran to `until` (with the native baseline when expectations use it). */
export function finish(world: World, scenario: Scenario, until: number): Results {
  let native: NativeBaseline = {};
  if (usesNative(scenario)) native = nativeBaseline(scenario, until, world.sim.streams.seed);
  return collectResults(world, native);
}

/** The outputs `gvtsim run` was asked for, in the order they are written. */
function outputRequests(o: RunOptions): OutputRequest[] {
  const out: OutputRequest[] = [];
  if (o.checkpoint !== undefined) out.push({ flag: "--checkpoint", path: o.checkpoint });
  if (o.json !== undefined) out.push({ flag: "--json", path: o.json, stdoutOk: true });
  if (o.csv !== undefined) {
    out.push({ flag: "--csv", path: o.csv });
    if (o.csv !== "-") out.push({ flag: "--csv (series)", path: seriesCsvPath(o.csv) });
  }
  if (o.trace !== undefined) out.push({ flag: "--trace", path: o.trace });
  if (o.report !== undefined) out.push({ flag: "--report", path: o.report });
  return out;
}

/** `gvtsim run`. */
export async function runScenario(path: string, o: RunOptions = {}): Promise<RunOutcome> {
  const out = o.out ?? stdout, err = o.err ?? stderr;
  if ((o.checkpointAt === undefined) !== (o.checkpoint === undefined)) {
    err("error: --checkpoint-at and --checkpoint go together\n");
    return { code: 2 };
  }
  if (o.restore !== undefined && o.checkpointAt !== undefined) {
    err("error: --restore cannot be combined with --checkpoint-at\n");
    return { code: 2 };
  }
  const progress = new Progress(err, o.progress ?? isTerminal());
  let sim: Awaited<ReturnType<typeof simulate>>;
  // The trace is streamed into a staged file while the run goes (opened once the outputs
  // were checked); it replaces the target only with the other outputs, at the end.
  let traceFile: TraceFile | undefined;
  const streamTrace = (world: World) => {
    if (o.trace === undefined || !world.trace) return;
    traceFile = TraceFile.open(o.trace);
    traceFile.attach(world.trace, world.sim);
  };
  const plugin = o.hypervisor !== undefined && isPluginPath(o.hypervisor) ? [o.hypervisor] : [];
  if (o.restore !== undefined) {
    const bad = planOutputs(outputRequests(o), [o.restore, ...plugin]);
    if (bad) return usage(err, bad.message);
    const { simulateRestored } = await import("./repl_snapshot.ts");
    path = o.restore;
    sim = await simulateRestored(o.restore, {
      until: o.until,
      trace: o.trace !== undefined,
      progress,
      interrupts: o.interrupts,
      plugin: o.hypervisor,
      onWorld: streamTrace,
    });
  } else {
    const { scenario, sources } = loadForRun(path, o.seed, err, o.color, o.faults, o.defines);
    if (!scenario) return { code: 2 };
    const hv = scenario.hypervisor;
    const inputs = [...sources.keys()].filter((p) => !p.endsWith(CLI_FAULTS));
    if (o.hypervisor === undefined && isPluginPath(hv.name)) {
      inputs.push(resolveInclude(hv.loc?.file ?? path, hv.name));
    }
    const bad = planOutputs(outputRequests(o), [...inputs, ...plugin]);
    if (bad) return usage(err, bad.message);
    let checkpoint: { at: number; save: (world: World) => string | undefined } | undefined;
    if (o.checkpointAt !== undefined && o.checkpoint !== undefined) {
      const { checkpointWriter } = await import("./repl_snapshot.ts");
      checkpoint = {
        at: o.checkpointAt,
        save: checkpointWriter(path, sources, o.checkpoint, o, err),
      };
    }
    sim = await simulate(scenario, {
      seed: o.seed,
      until: o.until,
      hypervisor: o.hypervisor,
      trace: o.trace !== undefined,
      progress,
      checkpoint,
      interrupts: o.interrupts,
      onWorld: streamTrace,
    });
  }
  if (sim instanceof WorldError) {
    traceFile?.discard();
    progress.done();
    // one problem a line (a plugin's load errors); control characters shown, never sent
    const msg = sim.message.split("\n").map(escapeControls).join("\n");
    err(`${path}: error: ${msg}\n`);
    return { code: o.interrupts?.requested() ? EXIT_INTERRUPTED : 2 };
  }
  const { world, results } = sim;
  for (const w of paramWarnings(world)) err(`${path}: ${w}\n`);
  const failed = results.expectations.filter((e) => !e.pass).length;
  // With --json -, stdout carries only the JSON; the summary moves to stderr.
  const say = o.json === "-" ? err : out;
  const report = world.scenario.report;
  if (!o.quiet) {
    say(renderSummary(results, { color: o.color, tables: report.tables, metrics: report.metrics }));
  } else if (failed) say(renderSummary(results, { color: o.color, onlyFailures: true }));
  const staged: StagedFile[] = [];
  try {
    if (traceFile && world.trace) staged.push(traceFile.finish(world.trace, results));
    await writeOutputs(results, o, out, staged);
    if (o.interrupts?.requested()) {
      discardStaged(staged);
      traceFile?.discard();
      err("interrupted: no output written\n");
      return { code: EXIT_INTERRUPTED, results };
    }
    commitStaged(staged);
  } catch (e) {
    discardStaged(staged);
    traceFile?.discard();
    err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return { code: 2, results };
  }
  return { code: failed > 0 ? 1 : 0, results };
}

function usage(err: (s: string) => void, msg: string): RunOutcome {
  err(`error: ${msg}\n`);
  return { code: 2 };
}

/** Whether a hypervisor spec names a plugin file (not a built-in backend). */
function isPluginPath(spec: string): boolean {
  return !/^[a-z][a-z0-9_-]*$/.test(spec) && !spec.startsWith("file:");
}

/**
 * Renders every requested output and stages it next to its target (nothing is replaced
 * yet); `--json -` goes to stdout at once. The caller commits or discards `staged`.
 */
async function writeOutputs(
  results: Results,
  o: RunOptions,
  out: (s: string) => void,
  staged: StagedFile[],
): Promise<void> {
  const stage = async (path: string, text: string | Promise<string>) => {
    staged.push(stageFile(path, await text));
    await turnEventLoop(); // lets a Ctrl-C be seen between files
  };
  if (o.json !== undefined) {
    const text = JSON.stringify(results, null, 2) + "\n";
    if (o.json === "-") out(text);
    else await stage(o.json, text);
  }
  if (o.csv !== undefined) {
    const { csvOutputs } = await import("./csv.ts");
    for (const f of csvOutputs(o.csv, results)) await stage(f.path, f.text);
  }
  if (o.report !== undefined) {
    const { reportHtml } = await import("./report.ts");
    await stage(o.report, reportHtml(results));
  }
}

function isTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}
