/**
 * The REPL's core: a session that takes one input line at a time and returns the text to
 * print, so it can be driven by a terminal, a pipe or a test alike. It owns the current
 * world, the journal of actions applied to it (for checkpoints) and the watches.
 * @module
 */

import { escapeControls, loadScenario } from "../dsl/mod.ts";
import type { Expr, Scenario } from "../core/scenario.ts";
import { World, WorldError } from "../core/world.ts";
import { parseDuration } from "../core/units.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { evalExpr } from "../core/metrics/expect.ts";
import { WorldWindows } from "../core/metrics/windows.ts";
import {
  applyJournalAction,
  type JournalAction,
  type JournalEntry,
  pendingEvents,
  positionOf,
  SNAPSHOT_VERSION_REPLAY,
  SnapshotError,
} from "../core/snapshot.ts";
import {
  readCheckpoint,
  restoreWorld,
  writeCheckpoint,
  type WrittenCheckpoint,
} from "./repl_snapshot.ts";
import { commandHelp, DSL_ACTIONS, helpText, REPL_COMMANDS } from "./repl_help.ts";
import {
  describeName,
  findRegister,
  parseNumber,
  ReplError,
  showCounters,
  showGgtt,
  showMem,
  showPpgtt,
  showQueues,
  showReg,
  showSched,
  showTrace,
  showVm,
  showVms,
  traceLine,
  vgpuOf,
  vmByName,
} from "./repl_inspect.ts";
import { formatTime } from "./table.ts";
import { Breakpoints } from "./repl_break.ts";
import { describeEvent } from "./repl_events.ts";
import { completeArgs } from "./repl_complete.ts";
import { type Interrupts, NO_INTERRUPTS, pollStop, runInterruptibly } from "./interrupt.ts";
import { commitStaged, planOutputs } from "./output.ts";
import { parseSnippet, type SnippetContext, SnippetError, timelineAction } from "./snippet.ts";
import { TraceSpool } from "./trace_file.ts";

/** Default cap of `until` (simulated ns). */
const UNTIL_CAP_NS = 1e9;

/** One watched expression. */
interface Watch {
  text: string;
  expr: Expr;
}

/** An interactive session over one world at a time. */
export class ReplSession {
  /** The world, once a scenario or checkpoint is loaded. */
  world: World | null = null;
  /** Its scenario. */
  scenario: Scenario | null = null;
  /** Path of the main scenario file (as loaded). */
  scenarioPath = "";
  /** Actions applied from the REPL since the world was built (with their positions). */
  journal: JournalEntry[] = [];
  /** True once `quit` was given. */
  done = false;
  /** True when the last {@link exec} failed (its output starts with `error:`). */
  failed = false;
  /** Stop requests (Ctrl-C) that end a long `run` or `until` early. */
  interrupts: Interrupts = NO_INTERRUPTS;
  private sources = new Map<string, string>();
  /** The checkpoint file the world came from, if any (an input `save` must not replace). */
  private checkpointPath: string | undefined;
  private readonly watches: Watch[] = [];
  /** The current world's trace, spooled to a temporary file (`trace save`). */
  private spool: TraceSpool | null = null;
  private readonly breaks = new Breakpoints();

  /** @param defines scenario parameter values (`-D NAME=VALUE`) applied to every `load` */
  constructor(private readonly defines: readonly string[] = []) {}

  /** The prompt: scenario name and simulated time. */
  prompt(): string {
    return this.world
      ? `gvtsim ${this.scenario?.name ?? ""} ${formatTime(this.world.sim.now)}> `
      : "gvtsim> ";
  }

  /** Runs one line; returns what to print (may be empty). Never throws. */
  async exec(line: string): Promise<string> {
    const text = line.trim();
    this.failed = false;
    if (text === "" || text.startsWith("#")) return "";
    this.interrupts.clear();
    try {
      const out = await this.dispatch(text);
      this.failed = out.startsWith("error:");
      return out;
    } catch (e) {
      this.failed = true;
      // one line; messages may quote file contents: show control characters, never send them
      const msg = e instanceof Error ? e.message : String(e);
      return `error: ${escapeControls(msg.replaceAll("\n", "; "))}`;
    }
  }

  /** The world, or an error when none is loaded. */
  private need(): World {
    if (!this.world) {
      throw new ReplError("no world: load a scenario first (load scenarios/demo.gvt)");
    }
    return this.world;
  }

  /** Runs one non-empty command line. */
  private async dispatch(text: string): Promise<string> {
    const words = text.split(/\s+/);
    const [cmd, a1, a2, a3] = words;
    switch (cmd) {
      case "help":
      case "?":
        if (a1 === undefined) return helpText();
        return commandHelp(a1) ?? `error: no command '${a1}' (help lists them)`;
      case "quit":
      case "exit":
        this.done = true;
        return "";
      case "load":
        if (a1 === undefined) {
          throw new ReplError("usage: load <scenario.gvt | checkpoint [plugin file]>");
        }
        return await this.load(a1, a2);
      case "reload":
        if (!this.scenarioPath) throw new ReplError("nothing loaded yet");
        return await this.loadScenarioFile(this.scenarioPath);
      case "run":
        return await this.runFor(a1);
      case "step":
        return a1 === undefined ? this.stepOne() : await this.runFor(a1);
      case "until":
        return await this.until(words.slice(1));
      case "vms":
        return showVms(this.need());
      case "vm":
        return showVm(this.need(), a1);
      case "reg":
        return showReg(this.need(), a1, a2);
      case "ggtt":
        if (a2 === undefined) {
          throw new ReplError("usage: ggtt <vm> <start | aperture | hidden> [count]");
        }
        return showGgtt(this.need(), a1, a2, a3);
      case "ppgtt":
        return showPpgtt(this.need(), a1, a2);
      case "queues":
        return showQueues(this.need(), a1);
      case "sched":
        return showSched(this.need());
      case "counters":
        return showCounters(this.need(), a1);
      case "trace":
        if (a1 === "save") return this.saveTrace(a2);
        return showTrace(this.need(), words.slice(1));
      case "mem":
        return showMem(this.need(), a1, a2, a3);
      case "break":
        return a1 === undefined ? this.breaks.show() : this.breaks.add(
          this.need(),
          words.slice(1),
          (cond) => this.parseCondition(cond),
        );
      case "delete":
        return this.breaks.delete(a1);
      case "continue":
      case "c":
        return await this.continueRun();
      case "events":
        return this.events(a1);
      case "mmio":
        return this.mmio(a1, a2, a3);
      case "watch":
        return this.watch(text.slice(cmd.length).trim());
      case "unwatch":
        return this.unwatch(a1);
      case "save":
        if (a1 === undefined) throw new ReplError("usage: save <path>");
        return this.save(a1);
    }
    if (DSL_ACTIONS.includes(cmd)) return this.timeline(text);
    if (words.length === 1 && this.world) {
      const d = describeName(this.world, cmd);
      if (d !== undefined) return d;
    }
    throw new ReplError(`unknown command '${cmd}' (help lists the commands)`);
  }

  // ---------------------------------------------------------------- loading

  /** `load`: a checkpoint (JSON; with the plugin file it was taken with, if any) or a scenario. */
  private async load(path: string, plugin?: string): Promise<string> {
    let head = "";
    try {
      if (!Deno.statSync(path).isFile) throw new Error("not a regular file");
      using f = Deno.openSync(path);
      const buf = new Uint8Array(64);
      head = new TextDecoder().decode(buf.subarray(0, f.readSync(buf) ?? 0)).trimStart()
        .slice(0, 1);
    } catch (e) {
      throw new ReplError(`cannot read '${path}': ${e instanceof Error ? e.message : String(e)}`);
    }
    if (head === "{") return await this.loadCheckpoint(path, plugin);
    if (plugin !== undefined) {
      throw new ReplError(
        "a plugin file is given with a checkpoint only (a scenario names its own)",
      );
    }
    return await this.loadScenarioFile(path);
  }

  /** Builds a fresh world from a scenario file. */
  private async loadScenarioFile(path: string): Promise<string> {
    const r = loadScenario(path, { defines: this.defines });
    if (!r.scenario) {
      const errs = r.diagnostics.filter((d) => d.severity === "error");
      const d = errs[0];
      throw new ReplError(
        d
          ? `${d.file}:${d.line}:${d.col}: ${d.message}${
            errs.length > 1 ? ` (and ${errs.length - 1} more errors)` : ""
          }`
          : `${path} does not check`,
      );
    }
    const world = await World.create(r.scenario, { trace: true });
    if (world instanceof WorldError) throw new ReplError(`${path}: ${world.message}`);
    this.install(world, r.scenario, path, r.sources, []);
    this.checkpointPath = undefined;
    return `loaded ${r.scenario.name} (${path}): ${world.vms.length} VMs, hypervisor ${world.gate.backend.name}, ` +
      `scheduler ${world.gvt.sched.policy.name}, seed ${world.sim.streams.seed}, runs ${
        formatTime(r.scenario.duration)
      }`;
  }

  /** Restores the world of a checkpoint file. */
  private async loadCheckpoint(path: string, plugin?: string): Promise<string> {
    const snap = readCheckpoint(path);
    if (snap instanceof SnapshotError) throw new ReplError(snap.message);
    const r = await restoreWorld(snap, { trace: true, plugin });
    if (r instanceof SnapshotError) throw new ReplError(`${path}: ${r.message}`);
    this.install(
      r.world,
      r.scenario,
      snap.scenario.file,
      new Map(Object.entries(snap.scenario.sources)),
      r.snapshot.journal,
    );
    this.checkpointPath = path;
    const how = r.replayed
      ? `${snap.journal.length} journal entries replayed`
      : `heap snapshot (${snap.checkpoint.dispatched} events not re-simulated)`;
    const note = snap.version === SNAPSHOT_VERSION_REPLAY
      ? ` (${snap.replayReason ?? `backend ${snap.backend.name} cannot serialise its state`})`
      : "";
    return `restored ${r.scenario.name} at ${
      formatTime(snap.checkpoint.t)
    } from ${path}: ${how}, digest verified${note}`;
  }

  /** Makes a world the current one. */
  private install(
    world: World,
    scenario: Scenario,
    path: string,
    sources: Map<string, string>,
    journal: JournalEntry[],
  ): void {
    this.spool?.close();
    this.spool = world.trace ? new TraceSpool(world.trace, world.sim) : null;
    this.world = world;
    this.breaks.clear(); // they name the old world's VMs and registers
    this.scenario = scenario;
    this.scenarioPath = path;
    this.sources = sources;
    this.journal = [...journal];
  }

  // ---------------------------------------------------------------- running

  /** Parses a positive duration (ns). */
  private duration(s: string | undefined): number {
    if (s === undefined) throw new ReplError("missing duration (e.g. 100ms)");
    const d = parseDuration(s);
    if (d === undefined || !(d > 0)) {
      throw new ReplError(`'${s}' is not a duration (e.g. 5s, 100ms, 250us)`);
    }
    return Math.round(d);
  }

  /** `run <duration>` / `step <duration>`; Ctrl-C stops it between two slices. */
  private async runFor(s: string | undefined): Promise<string> {
    const w = this.need();
    const d = this.duration(s);
    const before = w.sim.dispatched, t0 = w.sim.now;
    if (this.breaks.any) return await this.runToBreak(t0 + d);
    if (!await runInterruptibly(w, t0 + d, { interrupts: this.interrupts })) {
      return this.after(
        `interrupted after ${formatTime(w.sim.now - t0)}: now ${formatTime(w.sim.now)}, ${
          w.sim.dispatched - before
        } events`,
      );
    }
    return this.after(
      `ran ${formatTime(d)}: now ${formatTime(w.sim.now)}, ${w.sim.dispatched - before} events`,
    );
  }

  /** Runs event by event to `target`, stopping at the first breakpoint hit; Ctrl-C stops it. */
  private async runToBreak(target: number): Promise<string> {
    const w = this.need();
    const before = w.sim.dispatched, t0 = w.sim.now;
    const so = () => `after ${formatTime(w.sim.now - t0)}, ${w.sim.dispatched - before} events`;
    for (let n = 1; w.sim.peekTime() <= target; n++) {
      w.sim.step();
      const hit = this.breaks.check(w.sim.now);
      if (hit) return this.after(`${hit}\nstopped at ${formatTime(w.sim.now)} (${so()})`);
      if (n % 1024 === 0 && await pollStop(this.interrupts)) {
        return this.after(`interrupted at ${formatTime(w.sim.now)} (${so()})`);
      }
    }
    w.run(target);
    return this.after(`ran to ${formatTime(w.sim.now)} (${so()}); no breakpoint hit`);
  }

  /** `continue`: runs to the end of the scenario's run, stopping at breakpoints. */
  private async continueRun(): Promise<string> {
    const w = this.need();
    const end = this.scenario?.duration ?? w.sim.now;
    if (w.sim.now >= end) return `at the end of the run (${formatTime(end)}); use run <duration>`;
    return this.breaks.any ? await this.runToBreak(end) : await this.runFor(`${end - w.sim.now}ns`);
  }

  /** A `break when` condition, checked like an expectation of the loaded scenario. */
  private parseCondition(text: string) {
    const { scenario, line } = this.parseSnippet(text, (s) => `expect ${s}`);
    const ex = scenario.expects.find((e) => e.loc.file === this.scenarioPath && e.loc.line >= line);
    if (!ex) throw new ReplError(`'${text}' is not a condition (e.g. fps(a) < 30)`);
    return ex;
  }

  /** `events [n]`: the next pending events. */
  private events(n: string | undefined): string {
    const w = this.need();
    const k = n === undefined ? 10 : parseNumber(n, "count");
    const evs = pendingEvents(w.sim);
    if (!evs.length) return "no event pending";
    const lines = evs.slice(0, k).map((e) =>
      `${formatTime(e.t).padStart(13)}  #${e.seq}  ${describeEvent(w, e)}`
    );
    if (evs.length > k) lines.push(`(${evs.length - k} more)`);
    return lines.join("\n");
  }

  /** `step`: one event. */
  private stepOne(): string {
    const w = this.need();
    const tr = w.trace?.count ?? 0;
    const next = pendingEvents(w.sim)[0];
    if (!next || !w.sim.step()) return "no event pending";
    const lines = [
      `event ${w.sim.dispatched} at ${formatTime(w.sim.now)}: ${describeEvent(w, next)}`,
    ];
    if (w.trace) {
      for (const r of w.trace.last(w.trace.count - tr)) lines.push("  " + traceLine(w, r).trim());
    }
    return this.after(lines.join("\n"));
  }

  /** `until irq <vm> | switch | failsafe [cap]`; Ctrl-C stops it. */
  private async until(args: string[]): Promise<string> {
    const w = this.need();
    const [what, ...rest] = args;
    let probe: () => number, label: string;
    if (what === "irq") {
      const vm = vmByName(w, rest.shift());
      if (!vm.driver) throw new ReplError(`VM ${vm.spec.name} is not running`);
      const m = vm.driver.metrics;
      probe = () => m.irqs + m.msis;
      label = `interrupt of ${vm.spec.name}`;
    } else if (what === "switch") {
      probe = () => w.gvt.globalCounters.switches;
      label = "vGPU switch";
    } else if (what === "failsafe") {
      probe = () => w.gvt.failsafeLog.length;
      label = "failsafe entry";
    } else throw new ReplError("usage: until irq <vm> | switch | failsafe [cap]");
    const cap = w.sim.now + (rest[0] !== undefined ? this.duration(rest[0]) : UNTIL_CAP_NS);
    const start = probe(), t0 = w.sim.now;
    for (let n = 1; w.sim.peekTime() <= cap; n++) {
      w.sim.step();
      if (n % 1024 === 0 && await pollStop(this.interrupts)) {
        return this.after(
          `interrupted after ${formatTime(w.sim.now - t0)}; now ${formatTime(w.sim.now)}`,
        );
      }
      if (probe() !== start) {
        let extra = "";
        if (what === "switch") {
          const cur = w.gvt.sched.current;
          extra = `: now ${cur ? `${cur.vm} (vGPU ${cur.id})` : "idle"}`;
        } else if (what === "failsafe") {
          const f = w.gvt.failsafeLog[w.gvt.failsafeLog.length - 1];
          extra = `: ${f.vm} ${f.reason} (${f.detail})`;
        }
        return this.after(
          `${label} at ${formatTime(w.sim.now)} (after ${formatTime(w.sim.now - t0)})${extra}`,
        );
      }
    }
    w.run(cap);
    return this.after(`no ${label} within ${formatTime(cap - t0)}; now ${formatTime(w.sim.now)}`);
  }

  /** Appends the watches to a message. */
  private after(msg: string): string {
    if (!this.watches.length || !this.world) return msg;
    const r = collectResults(this.world);
    const windows = new WorldWindows(this.world);
    const lines = this.watches.map((wt) => {
      try {
        const v = evalExpr(r, wt.expr, windows);
        return `  ${wt.text} = ${Number.isInteger(v) ? v : Number(v.toPrecision(6))}`;
      } catch (e) {
        return `  ${wt.text} = n/a (${e instanceof Error ? e.message : String(e)})`;
      }
    });
    return [msg, ...lines].join("\n");
  }

  // ---------------------------------------------------------------- acting

  /** The loaded scenario, as snippets are checked against it. */
  private snippetContext(): SnippetContext {
    if (!this.scenario) throw new ReplError("no world: load a scenario first");
    return { file: this.scenarioPath, sources: this.sources, seed: this.world?.sim.streams.seed };
  }

  /** Parses a snippet appended to the main scenario file; diagnostics on it become errors. */
  private parseSnippet(
    user: string,
    wrap: (s: string) => string,
  ): { scenario: Scenario; line: number } {
    const r = parseSnippet(this.snippetContext(), user, wrap);
    if (r instanceof SnippetError) throw new ReplError(r.message);
    return r;
  }

  /** A DSL timeline statement applied now (and journalled). */
  private timeline(stmt: string): string {
    const w = this.need();
    const action = timelineAction(this.snippetContext(), stmt);
    if (action instanceof SnippetError) throw new ReplError(action.message);
    this.record(stmt, { kind: "timeline", action });
    applyJournalAction(w, { kind: "timeline", action });
    const vm = "vm" in action ? w.vm(action.vm) : undefined;
    return `${stmt}: applied at ${formatTime(w.sim.now)}${
      vm ? ` (${vm.spec.name} is ${w.stateOf(vm)})` : ""
    }`;
  }

  /** Journals an action at the current position. */
  private record(text: string, action: JournalAction): void {
    this.journal.push({ ...positionOf(this.need()), text, action });
  }

  /** `mmio <vm> <reg|offset> <value>`: a guest MMIO write through the gate (journalled). */
  private mmio(
    vmName: string | undefined,
    reg: string | undefined,
    value: string | undefined,
  ): string {
    const w = this.need();
    const v = vgpuOf(w, vmName);
    const { offset, def } = findRegister(w, reg);
    const val = parseNumber(value, "value");
    if (val > 0xffffffff) throw new ReplError(`value ${value} does not fit in 32 bits`);
    const action: JournalAction = { kind: "mmio", vm: v.vm, offset, size: 4, value: val };
    this.record(`mmio ${v.vm} ${reg} ${value}`, action);
    const err = applyJournalAction(w, action);
    if (err) throw new ReplError(err);
    const now = v.vreg[offset >>> 2] >>> 0;
    return `${v.vm}: wrote 0x${val.toString(16)} to ${
      def?.name ?? "0x" + offset.toString(16)
    } through ${w.gate.backend.name}; ` +
      `vreg now 0x${now.toString(16).padStart(8, "0")}`;
  }

  // ---------------------------------------------------------------- watches

  /** `watch [expression]`. */
  private watch(expr: string): string {
    if (expr === "") {
      return this.watches.length
        ? this.watches.map((wt, i) => `${i + 1}: ${wt.text}`).join("\n")
        : "no watches";
    }
    const { scenario, line } = this.parseSnippet(expr, (s) => `expect ${s} >= 0`);
    const ex = scenario.expects.find((e) => e.loc.file === this.scenarioPath && e.loc.line >= line);
    if (!ex || ex.pred.k !== "cmp") throw new ReplError(`'${expr}' is not a numeric expression`);
    this.watches.push({ text: expr, expr: ex.pred.left });
    return this.after(`watch ${this.watches.length}: ${expr}`);
  }

  /** `unwatch [n | all]`. */
  private unwatch(which: string | undefined): string {
    if (which === undefined || which === "all") {
      const n = this.watches.length;
      this.watches.length = 0;
      return `removed ${n} watch(es)`;
    }
    const i = parseNumber(which, "watch number") - 1;
    if (i < 0 || i >= this.watches.length) {
      throw new ReplError(`no watch ${which} (watch lists them)`);
    }
    const [w] = this.watches.splice(i, 1);
    return `removed watch ${w.text}`;
  }

  // ---------------------------------------------------------------- checkpoints

  /** `save <path>`: writes a checkpoint (never over a file the world was loaded from). */
  private save(path: string): string {
    const w = this.need();
    const inputs = [...this.sources.keys()];
    if (this.checkpointPath !== undefined) inputs.push(this.checkpointPath);
    const bad = planOutputs([{ flag: "save", path }], inputs);
    if (bad) throw new ReplError(bad.message);
    let written: WrittenCheckpoint;
    try {
      written = writeCheckpoint(path, w, {
        file: this.scenarioPath,
        sources: this.sources,
        journal: this.journal,
      });
    } catch (e) {
      throw new ReplError(`cannot write '${path}': ${e instanceof Error ? e.message : String(e)}`);
    }
    return [
      `saved checkpoint at ${
        formatTime(w.sim.now)
      } to ${path} (${this.journal.length} journal entries, digest ${written.digest})`,
      ...written.notes,
    ].join("\n");
  }

  /** `trace save <path>`: the whole trace since the world was loaded, as `run --trace` writes it. */
  private saveTrace(path: string | undefined): string {
    const w = this.need();
    if (path === undefined) throw new ReplError("usage: trace save <path>");
    if (!this.spool || !w.trace) throw new ReplError("tracing is off in this world");
    const inputs = [...this.sources.keys()];
    if (this.checkpointPath !== undefined) inputs.push(this.checkpointPath);
    const bad = planOutputs([{ flag: "trace save", path }], inputs);
    if (bad) throw new ReplError(bad.message);
    try {
      commitStaged([this.spool.save(path, collectResults(w))]);
    } catch (e) {
      throw new ReplError(`cannot write '${path}': ${e instanceof Error ? e.message : String(e)}`);
    }
    return `saved the trace (${w.trace.count} records) to ${path}`;
  }

  /** Ends the session's resources (the trace spool). */
  close(): void {
    this.spool?.close();
    this.spool = null;
  }

  // ---------------------------------------------------------------- completion

  /** Completion candidates for the text before the cursor: [matches, the word completed]. */
  complete(line: string): [string[], string] {
    const m = /([^\s(),]*)$/.exec(line);
    const word = m ? m[1] : "";
    const done = line.slice(0, line.length - word.length).trim().split(/[\s(),]+/).filter(Boolean);
    const pool = done.length === 0
      ? [...REPL_COMMANDS.map((c) => c.name), ...DSL_ACTIONS]
      : completeArgs(this.world, done);
    const all = [...new Set(pool)];
    let hits = all.filter((c) => c.startsWith(word));
    if (!hits.length) hits = all.filter((c) => c.toLowerCase().startsWith(word.toLowerCase()));
    hits.sort();
    return [hits, word];
  }
}
