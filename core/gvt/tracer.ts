/**
 * Tracing hooks of the mediator and the guest driver ({@link GvtTracer}), and their
 * implementation over a {@link TraceLog} ({@link TraceLogTracer}) that `run --trace` and the
 * REPL use.
 *
 * The {@link Gvt} (and its dispatcher, scheduler, MMIO emulator and virtual interrupt
 * controller) and the guest driver hold `tracer: GvtTracer | null`, null unless tracing is
 * on; every call site is guarded, so an untraced run pays one null check per hook and
 * allocates nothing. A tracer only observes: it never charges time, draws random numbers or
 * changes state the simulation reads, so a traced run gives the same results as an
 * untraced one.
 *
 * Flows: the guest driver brackets its ELSP writes with {@link GuestTracer.submitBegin} and
 * {@link GuestTracer.submitEnd}; the mediator asks {@link GvtTracer.submission} for the flow id
 * when the last ELSP write creates workloads and gives it to the first one; the workload's
 * execution slice ends the flow.
 * @module
 */

import { engineIrqBits, ENGINES } from "../hw/engines.ts";
import { ENGINE_NAMES } from "../scenario.ts";
import {
  GEN8_PIPE_VBLANK,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  NUM_ENGINES,
} from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { Sim } from "../sim/sim.ts";
import {
  DRIVER_THREAD,
  GPU_PID,
  type GuestTracer,
  SCHED_THREAD,
  type TraceInstant,
  type TraceLog,
} from "../metrics/trace.ts";
import { TRAP_CLASSES } from "./counters.ts";
import type { ResetKind } from "./failsafe.ts";

/** Pseudo trap class of a write to a write-protected (page-tracked) guest page-table page. */
export const TRACE_PAGE_TRACK = TRAP_CLASSES.length;

/** How a workload left the engine. */
export type WorkloadOutcome = "done" | "hang" | "discarded";

/** What the mediator reports while tracing, plus what guest drivers report ({@link GuestTracer}). */
export interface GvtTracer extends GuestTracer {
  /**
   * Mediator: an ELSP write of `vgpuId` creates workloads on `engine`; returns the flow id
   * of the guest submission in progress (a new one when no driver announced it).
   */
  submission(vgpuId: number, engine: number): number;
  /** Mediator: the shadow context of a workload was submitted to the physical ELSP. */
  workloadStart(vgpuId: number, engine: number, flow: number, submitTime: number): void;
  /** Mediator: the workload running on `engine` completed (or hung, or was discarded). */
  workloadEnd(vgpuId: number, engine: number, outcome: WorkloadOutcome): void;
  /** Mediator: a trapped access of trap class `cls` ({@link TRAP_CLASSES} index or {@link TRACE_PAGE_TRACK}). */
  trap(vgpuId: number, cls: number, write: boolean): void;
  /** Mediator: a virtual interrupt event was raised (not masked). */
  irq(vgpuId: number, group: number, bits: number): void;
  /** Mediator: the guest's MSI was injected (or dropped). */
  msi(vgpuId: number, injected: boolean): void;
  /** Mediator: the scheduler switched from vGPU `fromId` to `toId` (0: idle). */
  vgpuSwitch(fromId: number, toId: number): void;
  /** Mediator (gScale mode): `entries` GGTT entries of the vGPU were copied in, costing `ns`. */
  gttCopy(vgpuId: number, entries: number, ns: number): void;
  /** Mediator: the vGPU entered failsafe. */
  failsafe(vgpuId: number, reason: string, detail: string): void;
  /** Mediator: the vGPU was reset. */
  reset(vgpuId: number, kind: ResetKind): void;
  /** Mediator: the command scanner (or workload creation) found a violation. */
  violation(vgpuId: number, kind: string, detail: string): void;
}

/** Name of a virtual interrupt event (group, bits) as shown in traces. */
export function irqEventName(group: number, bits: number): string {
  if (group <= 3) {
    // GT groups: 16 bits per engine (the engine's half of the register).
    let own = 0;
    for (const x of ENGINES) if (x.irqGroup === group) own |= engineIrqBits(x.id, bits);
    if (own & GT_CONTEXT_SWITCH_INTERRUPT) return "irq context_switch";
    if (own & GT_RENDER_USER_INTERRUPT) return "irq user";
    return `irq gt${group}`;
  }
  if (group <= 6) {
    const pipe = "ABC"[group - 4];
    if (bits & GEN9_PIPE_PLANE1_FLIP_DONE) return `irq flip_done ${pipe}`;
    if (bits & GEN8_PIPE_VBLANK) return `irq vblank ${pipe}`;
    return `irq pipe ${pipe}`;
  }
  return `irq group${group}`;
}

const TRAP_NAMES_R = [...TRAP_CLASSES, "page_track"].map((c) => trapName(c, false));
const TRAP_NAMES_W = [...TRAP_CLASSES, "page_track"].map((c) => trapName(c, true));

function trapName(cls: string, write: boolean): string {
  const dir = write ? "write" : "read";
  if (cls === "gtt") return `trap ggtt ${dir}`;
  if (cls === "cfg") return `trap cfg ${dir}`;
  if (cls === "guest_mem") return `trap bar_mem ${dir}`;
  if (cls === "page_track") return `trap page_track ${dir}`;
  return `trap mmio ${cls} ${dir}`;
}

/** Open-slice keys: VM-side workload slices 0..3, GPU-side 4..7, scheduler 8. */
const KEY_GPU = NUM_ENGINES, KEY_SCHED = 2 * NUM_ENGINES;

/** What {@link TraceLogTracer} needs from the world. */
export interface TraceLogTracerDeps {
  /** The log written. */
  log: TraceLog;
  /** The simulation (for the time). */
  sim: Sim;
  /** The MPT gate: trap-path cost (read only) and plugin errors. */
  gate: MptGate;
  /** Process id of the VM holding vGPU `id` now ({@link GPU_PID} if none). */
  pidOf(vgpuId: number): number;
  /** Name of the VM holding vGPU `id` now. */
  nameOf(vgpuId: number): string;
}

/**
 * {@link GvtTracer} over a {@link TraceLog}: a process per VM (pid from the world), one for
 * the GPU. On the VM's process: an execution slice per workload on its engine thread (ending
 * the submission's flow), and on its driver thread a slice per ELSP submission (its trap
 * time, starting the flow), trap, interrupt, MSI, failsafe, reset, violation and plugin-error
 * instants. On the GPU process: the same executions named after the VM on the engine
 * threads, and on the scheduler thread a slice per time slice and an instant per switch.
 *
 * Traps of the same class by the same vGPU at the same simulated instant (one guest
 * operation: the guest's clock advances by the operation's whole cost afterwards) become one
 * instant with a `count` argument.
 */
export class TraceLogTracer implements GvtTracer {
  private nextFlow = 1;
  private pendingFlow = 0;
  private pendingVgpu = -1;
  private pendingEngine = -1;
  private pendingUsed = false;
  private pendingCost = 0;
  /** End of the last submission slice per pid (they are laid end to end on the driver thread). */
  private readonly driverEnd = new Map<number, number>();
  /** Last trap instant per (vGPU, class, direction), for coalescing. */
  private readonly lastTrap: (TraceInstant | null)[] = new Array(8 * 2 * (TRACE_PAGE_TRACK + 1))
    .fill(null);
  private seenErrors = 0;

  /** @param d the log, the simulation, the gate and the vGPU -> VM mapping */
  constructor(private readonly d: TraceLogTracerDeps) {}

  /** {@inheritDoc GuestTracer.submitBegin} */
  submitBegin(vgpuId: number, engine: number): void {
    this.pendingFlow = this.nextFlow++;
    this.pendingVgpu = vgpuId;
    this.pendingEngine = engine;
    this.pendingUsed = false;
    this.pendingCost = this.d.gate.totalCost;
  }

  /** {@inheritDoc GuestTracer.submitEnd} */
  submitEnd(vgpuId: number, engine: number): void {
    if (this.pendingVgpu !== vgpuId || this.pendingEngine !== engine) return;
    const dur = Math.max(1, this.d.gate.totalCost - this.pendingCost);
    const flow = this.pendingUsed ? this.pendingFlow : 0;
    this.pendingFlow = 0;
    this.pendingVgpu = this.pendingEngine = -1;
    this.submitSlice(vgpuId, engine, dur, flow);
  }

  /** A submission slice on the VM's driver thread, after the previous one. */
  private submitSlice(vgpuId: number, engine: number, dur: number, flow: number): void {
    const pid = this.d.pidOf(vgpuId);
    const ts = Math.max(this.d.sim.now, this.driverEnd.get(pid) ?? 0);
    this.driverEnd.set(pid, ts + dur);
    const name = `submit ${ENGINE_NAMES[engine] ?? engine}`;
    this.d.log.submission(ts, dur, pid, DRIVER_THREAD, name, flow);
  }

  /** {@inheritDoc GvtTracer.submission} */
  submission(vgpuId: number, engine: number): number {
    if (this.pendingVgpu === vgpuId && this.pendingEngine === engine && !this.pendingUsed) {
      this.pendingUsed = true;
      return this.pendingFlow;
    }
    // An ELSP write no driver announced (a raw MMIO write): its own submission slice.
    const flow = this.nextFlow++;
    this.submitSlice(vgpuId, engine, Math.max(1, this.d.gate.costOfOp("guestMmioWrite")), flow);
    return flow;
  }

  /** {@inheritDoc GvtTracer.workloadStart} */
  workloadStart(vgpuId: number, engine: number, flow: number, submitTime: number): void {
    const now = this.d.sim.now, pid = this.d.pidOf(vgpuId), vm = this.d.nameOf(vgpuId);
    const en = ENGINE_NAMES[engine];
    const queued = (now - submitTime) / 1000;
    this.d.log.begin(engine, now, pid, engine, `${en} workload`, flow, { vm, queued_us: queued });
    this.d.log.begin(KEY_GPU + engine, now, GPU_PID, engine, vm, 0, { vm, engine: en });
    this.poll();
  }

  /** {@inheritDoc GvtTracer.workloadEnd} */
  workloadEnd(_vgpuId: number, engine: number, outcome: WorkloadOutcome): void {
    const now = this.d.sim.now;
    const vmSlice = this.d.log.open.get(engine);
    const gpuSlice = this.d.log.open.get(KEY_GPU + engine);
    if (outcome !== "done") {
      if (vmSlice) vmSlice.name += ` (${outcome})`;
      if (gpuSlice) gpuSlice.name += ` (${outcome})`;
    }
    this.d.log.end(engine, now);
    this.d.log.end(KEY_GPU + engine, now);
  }

  /** An instant now on the driver thread of the VM holding vGPU `vgpuId`. */
  private onDriver(
    vgpuId: number,
    name: string,
    cat: string,
    args?: Record<string, number | string>,
  ): TraceInstant | null {
    return this.d.log.instant(
      this.d.sim.now,
      this.d.pidOf(vgpuId),
      DRIVER_THREAD,
      name,
      0,
      args,
      cat,
    );
  }

  /** {@inheritDoc GuestTracer.guestFlip} */
  guestFlip(vgpuId: number): void {
    this.onDriver(vgpuId, "flip", "display");
  }

  /** {@inheritDoc GvtTracer.trap} */
  trap(vgpuId: number, cls: number, write: boolean): void {
    const now = this.d.sim.now;
    const k = ((vgpuId & 7) * (TRACE_PAGE_TRACK + 1) + cls) * 2 + (write ? 1 : 0);
    const last = this.lastTrap[k];
    if (last !== null && last.ts === now) {
      if (last.args === undefined) last.args = { count: 2 };
      else (last.args.count as number)++;
      return;
    }
    const name = (write ? TRAP_NAMES_W : TRAP_NAMES_R)[cls];
    this.lastTrap[k] = this.onDriver(vgpuId, name, "trap");
  }

  /** {@inheritDoc GvtTracer.irq} */
  irq(vgpuId: number, group: number, bits: number): void {
    this.onDriver(vgpuId, irqEventName(group, bits), "irq");
  }

  /** {@inheritDoc GvtTracer.msi} */
  msi(vgpuId: number, injected: boolean): void {
    this.onDriver(vgpuId, injected ? "msi" : "msi dropped", "irq");
  }

  /** {@inheritDoc GvtTracer.vgpuSwitch} */
  vgpuSwitch(fromId: number, toId: number): void {
    const now = this.d.sim.now, log = this.d.log;
    const from = fromId > 0 ? this.d.nameOf(fromId) : "idle";
    const to = toId > 0 ? this.d.nameOf(toId) : "idle";
    log.end(KEY_SCHED, now);
    log.instant(now, GPU_PID, SCHED_THREAD, `switch to ${to}`, 0, { from, to }, "sched");
    if (toId > 0) log.begin(KEY_SCHED, now, GPU_PID, SCHED_THREAD, to, 0, { vm: to }, "sched");
    this.poll();
  }

  /** {@inheritDoc GvtTracer.gttCopy} */
  gttCopy(vgpuId: number, entries: number, ns: number): void {
    const args = { vm: this.d.nameOf(vgpuId), entries, ns };
    this.d.log.instant(this.d.sim.now, GPU_PID, SCHED_THREAD, "gscale copy", 0, args, "sched");
  }

  /** {@inheritDoc GvtTracer.failsafe} */
  failsafe(vgpuId: number, reason: string, detail: string): void {
    const args = { vm: this.d.nameOf(vgpuId), reason, detail };
    this.onDriver(vgpuId, `failsafe ${reason}`, "failsafe", args);
  }

  /** {@inheritDoc GvtTracer.reset} */
  reset(vgpuId: number, kind: ResetKind): void {
    let what: string;
    if (typeof kind === "string") what = kind;
    else {
      const engines = ENGINE_NAMES.filter((_, e) => kind & (1 << e));
      what = `engine ${engines.join(" ")}`;
    }
    this.onDriver(vgpuId, `reset ${what}`, "reset", { vm: this.d.nameOf(vgpuId), kind: what });
  }

  /** {@inheritDoc GvtTracer.violation} */
  violation(vgpuId: number, kind: string, detail: string): void {
    const args = { vm: this.d.nameOf(vgpuId), kind, detail };
    this.onDriver(vgpuId, `violation ${kind}`, "scan", args);
  }

  /**
   * Records the plugin errors the gate collected since the last call (at their own times;
   * the gate keeps the first 1000 in detail, later ones are counted only).
   */
  poll(): void {
    const g = this.d.gate;
    if (g.errorCount === this.seenErrors) return;
    const upto = Math.min(g.errors.length, g.errorCount);
    for (let i = Math.min(this.seenErrors, upto); i < upto; i++) {
      const e = g.errors[i];
      const pid = e.vgpuId > 0 ? this.d.pidOf(e.vgpuId) : GPU_PID;
      const tid = pid === GPU_PID ? SCHED_THREAD : DRIVER_THREAD;
      const args = { plugin: e.plugin, op: e.op, message: e.message };
      this.d.log.instant(e.at, pid, tid, `plugin error ${e.op}`, 0, args, "plugin");
    }
    this.seenErrors = g.errorCount;
  }
}
