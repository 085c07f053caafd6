/**
 * The execlist front end of every engine: ELSP (four dword writes: element 1 upper, element
 * 1 lower, element 0 upper, element 0 lower, as i915's `execlists_submit_ports`; the 4th
 * write submits), context descriptors, logical ring context images, the 6-entry context
 * status buffer (write pointer 7 after reset, then 0..5 cyclically) and context-switch
 * interrupts.
 *
 * Descriptor (lower dword): valid bit 0, addressing mode bits 4:3 (1 = legacy 32-bit,
 * 3-level PPGTT with 4 PDPs; 3 = legacy 64-bit, 4-level with PML4), privilege bit 8, LRCA
 * bits 31:12 (GGTT address of the context image: page 0 the per-process HWSP, page 1 the
 * register state with CTX_RING_HEAD/TAIL/START/CTL and the PDPs); upper dword: context id.
 *
 * Events per submission: IDLE_ACTIVE when the engine starts; per element completion
 * COMPLETE plus ELEMENT_SWITCH (more work follows) or ACTIVE_IDLE (engine goes idle). A
 * command fault hangs the context: ACTIVE_IDLE without COMPLETE, CS master-error interrupt,
 * and the engine ignores submissions until reset (GDRST). A submission while busy is held
 * and started when the running one completes.
 *
 * Timing: an element starts with the context restore ({@link Execlists.contextSwitchNs}),
 * then its engine's streamer runs incrementally: each command with a visible effect is
 * performed at the instant it completes (an event per such command), and the element's
 * completion (ring head written back into the context image, the CSB entry, the
 * context-switch interrupt) comes after the last command's effects.
 */

import type { EventSink, Sim } from "../sim/sim.ts";
import { CommandFault } from "./fault.ts";
import {
  CSB_ENTRIES,
  CSB_RESET_PTR,
  csbEntryOffset,
  csbNext,
  csbPtrOffset,
  csbPtrValue,
  csbReadPtr,
} from "./csb.ts";
import type { IrqUnit } from "./irq.ts";
import type { HostMemory } from "./memory.ts";
import {
  type ContextRing,
  contextRing,
  contextRoot,
  CTX_RING_HEAD,
  ctxSet,
  descAddressingMode,
  descLrca,
  LRC_STATE_PN,
  readContextRing,
} from "./context.ts";
import { fieldValue } from "./bits.ts";
import { engineIrqMask, ENGINES } from "./engines.ts";
import { EXECLIST_STATUS_FIELDS } from "./registers/ring.ts";
import { PAGE_SIZE } from "./memory.ts";
import {
  GEN8_CTX_STATUS_ACTIVE_IDLE,
  GEN8_CTX_STATUS_COMPLETE,
  GEN8_CTX_STATUS_ELEMENT_SWITCH,
  GEN8_CTX_STATUS_IDLE_ACTIVE,
  GFX_RUN_LIST_ENABLE,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_CS_MASTER_ERROR_INTERRUPT,
  LEGACY_32B_CONTEXT,
  LEGACY_64B_CONTEXT,
  RING_ACTHD,
  RING_BBADDR,
  RING_CTL,
  RING_HEAD,
  RING_MODE,
  RING_START,
  RING_TAIL,
} from "./regs.ts";
import { type CommandStreamer, PPGTT_L3, PPGTT_L4, PPGTT_NONE } from "./streamer.ts";

/** Engine states. */
export const ENGINE_IDLE = 0, ENGINE_BUSY = 1, ENGINE_HUNG = 2;

/** Event types (kind = engine * 4 + type): element done, hung, a command's effect due. */
const EV_DONE = 0, EV_HANG = 1, EV_EFFECT = 2;

/** What the execlist front end needs from the GPU. */
export interface ExeclistHost {
  /** Simulation. */
  readonly sim: Sim;
  /** MMIO dword array. */
  readonly regs: Uint32Array;
  /** Host memory. */
  readonly memory: HostMemory;
  /** Interrupt unit. */
  readonly irq: IrqUnit;
  /** The command streamer of each engine. */
  readonly streamers: readonly CommandStreamer[];
  /** GGTT translation. */
  ggttTranslate(gma: number): number;
  /** Owner tag of the context whose image is at `lrca`. */
  contextOwner(lrca: number): number;
  /** IOMMU domain of the context whose image is at `lrca`. */
  contextDomain(lrca: number): number;
  /** Records a command fault. */
  recordFault(f: CommandFault): void;
}

/** Execlist state of all engines. */
export class Execlists implements EventSink {
  /** ENGINE_IDLE / BUSY / HUNG per engine. */
  readonly state: Int32Array = new Int32Array(4);
  /** Busy time per engine (ns). */
  readonly busyNs: Float64Array = new Float64Array(4);
  /** Scratch: the ring of the element being started. */
  private readonly ring: ContextRing = contextRing();
  /** Context elements executed per engine. */
  readonly elements: Float64Array = new Float64Array(4);
  /** Submissions (4th ELSP write) per engine. */
  readonly submissions: Float64Array = new Float64Array(4);
  /** Submissions ignored (hung engine, run list disabled, invalid element 0). */
  readonly ignored: Float64Array = new Float64Array(4);
  /** CSB events written per engine. */
  readonly csbEvents: Float64Array = new Float64Array(4);
  /** Bitmask of engines present. */
  present = 0xf;
  /** Context restore time added to every element (ns). */
  contextSwitchNs = 0;

  private readonly elsp = new Uint32Array(16);
  private readonly elspIdx = new Int32Array(4);
  private readonly lo = new Uint32Array(8);
  private readonly hi = new Uint32Array(8);
  private readonly count = new Int32Array(4);
  private readonly cur = new Int32Array(4);
  private readonly pendLo = new Uint32Array(8);
  private readonly pendHi = new Uint32Array(8);
  private readonly pendCount = new Int32Array(4);
  private readonly event = new Float64Array(4).fill(-1);
  private readonly started = new Float64Array(4);
  /** Physical address of the running element's register-state page (context image page 1). */
  private readonly statePa = new Float64Array(4);
  private readonly csbWp = new Int32Array(4).fill(CSB_RESET_PTR);

  /** Creates the front end.
   * @param host the GPU */
  constructor(private readonly host: ExeclistHost) {}

  /** An ELSP dword write. */
  elspWrite(engine: number, value: number): void {
    const i = this.elspIdx[engine];
    this.elsp[engine * 4 + i] = value;
    if (i < 3) {
      this.elspIdx[engine] = i + 1;
      return;
    }
    this.elspIdx[engine] = 0;
    this.submit(engine);
  }

  /** Context id of the element running on `engine` (0 if idle). */
  currentContextId(engine: number): number {
    return this.state[engine] === ENGINE_BUSY ? this.hi[engine * 2 + this.cur[engine]] : 0;
  }

  /** EXECLIST_STATUS_LO value (gvt's execlist_status_format). */
  statusLo(engine: number): number {
    const S = EXECLIST_STATUS_FIELDS;
    let v = S.arbitrationEnable.mask;
    if (this.state[engine] !== ENGINE_BUSY) return v;
    const c = this.cur[engine];
    v |= S.el0Valid.mask | fieldValue(S.activeElement, c + 1) |
      (c === 0 ? S.el0Active : S.el1Active).mask;
    if (this.count[engine] === 2) v |= S.el1Valid.mask;
    if (this.pendCount[engine] > 0) v |= S.queueFull.mask;
    return v >>> 0;
  }

  /** Per-engine reset (GDRST): drops running and pending work, resets the CSB pointers. */
  reset(engine: number): void {
    if (this.event[engine] >= 0) this.host.sim.cancel(this.event[engine]);
    this.event[engine] = -1;
    if (this.state[engine] === ENGINE_BUSY) {
      this.busyNs[engine] += this.host.sim.now - this.started[engine];
    }
    this.state[engine] = ENGINE_IDLE;
    this.elspIdx[engine] = 0;
    this.count[engine] = 0;
    this.pendCount[engine] = 0;
    this.csbWp[engine] = CSB_RESET_PTR;
    const r = this.host.regs;
    r[csbPtrOffset(engine) >> 2] = csbPtrValue(CSB_RESET_PTR, CSB_RESET_PTR);
    const at = csbEntryOffset(engine, 0) >> 2;
    r.fill(0, at, at + 2 * CSB_ENTRIES);
  }

  /** Handles the 4th ELSP write: starts, holds or ignores the submission. */
  private submit(e: number): void {
    this.submissions[e]++;
    const d = this.elsp, base = e * 4;
    const lo0 = d[base + 3], hi0 = d[base + 2], lo1 = d[base + 1], hi1 = d[base];
    const runList =
      (this.host.regs[(ENGINES[e].mmioBase + RING_MODE) >> 2] & GFX_RUN_LIST_ENABLE) !== 0;
    if (
      !((this.present >> e) & 1) || !runList || this.state[e] === ENGINE_HUNG || !(lo0 & 1)
    ) {
      this.ignored[e]++;
      return;
    }
    const n = lo1 & 1 ? 2 : 1;
    if (this.state[e] === ENGINE_BUSY) {
      this.pendLo[e * 2] = lo0;
      this.pendHi[e * 2] = hi0;
      this.pendLo[e * 2 + 1] = lo1;
      this.pendHi[e * 2 + 1] = hi1;
      this.pendCount[e] = n;
      return;
    }
    this.lo[e * 2] = lo0;
    this.hi[e * 2] = hi0;
    this.lo[e * 2 + 1] = lo1;
    this.hi[e * 2 + 1] = hi1;
    this.count[e] = n;
    this.state[e] = ENGINE_BUSY;
    this.started[e] = this.host.sim.now;
    this.csb(e, GEN8_CTX_STATUS_IDLE_ACTIVE, hi0);
    this.runElement(e, 0);
  }

  /** Writes one context-status-buffer event and raises the context-switch interrupt. */
  private csb(e: number, status: number, ctxId: number): void {
    const wp = csbNext(this.csbWp[e]);
    this.csbWp[e] = wp;
    const r = this.host.regs;
    const at = csbEntryOffset(e, wp) >> 2;
    r[at] = status;
    r[at + 1] = ctxId;
    const p = csbPtrOffset(e) >> 2;
    r[p] = csbPtrValue(csbReadPtr(r[p]), wp);
    this.csbEvents[e]++;
    this.raise(e, GT_CONTEXT_SWITCH_INTERRUPT);
  }

  /** Raises engine-relative interrupt bits in the engine's GT group. */
  private raise(e: number, bits: number): void {
    this.host.irq.raise(ENGINES[e].irqGroup, engineIrqMask(e, bits));
  }

  /** Loads a context image (restore) and starts executing its ring. */
  private runElement(e: number, el: number): void {
    const host = this.host, s = host.streamers[e], mem = host.memory;
    const lo = this.lo[e * 2 + el], ctxId = this.hi[e * 2 + el];
    this.cur[e] = el;
    this.elements[e]++;
    s.ctxId = ctxId;
    const lrca = descLrca(lo);
    s.owner = host.contextOwner(lrca);
    s.domain = host.contextDomain(lrca);
    const mode = descAddressingMode(lo);
    const statePa = host.ggttTranslate(lrca + LRC_STATE_PN * PAGE_SIZE);
    if (statePa < 0 || (mode !== LEGACY_32B_CONTEXT && mode !== LEGACY_64B_CONTEXT)) {
      const why = statePa < 0 ? "context image not mapped" : `addressing mode ${mode}`;
      host.recordFault(
        new CommandFault("bad_context", e, ctxId, s.owner, lrca, 0, host.sim.now, why),
      );
      this.event[e] = host.sim.schedule(1, this, e * 4 + EV_HANG);
      return;
    }
    this.statePa[e] = statePa;
    const p = mem.page(Math.floor(statePa / PAGE_SIZE));
    const ring = readContextRing(p, this.ring);
    s.ringStart = ring.start;
    s.ringSize = ring.valid ? ring.size : 0;
    s.head = ring.head;
    s.tail = ring.tail;
    s.ppgtt = mode === LEGACY_64B_CONTEXT ? PPGTT_L4 : PPGTT_L3;
    for (let i = 0; i < 4; i++) s.roots[i] = contextRoot(p, i);
    if (s.roots[0] === 0 && mode === LEGACY_64B_CONTEXT) s.ppgtt = PPGTT_NONE;
    const r = host.regs, b = ENGINES[e].mmioBase;
    r[(b + RING_HEAD) >> 2] = s.head;
    r[(b + RING_TAIL) >> 2] = s.tail;
    r[(b + RING_START) >> 2] = s.ringStart;
    r[(b + RING_CTL) >> 2] = ring.ctl;
    s.begin();
    this.step(e, this.contextSwitchNs);
  }

  /**
   * Runs the engine's stream to its next timed effect, the end of the element or a fault,
   * and schedules that instant (`lead`: time before the stream starts, the context restore).
   */
  private step(e: number, lead: number): void {
    const host = this.host, s = host.streamers[e];
    const d = s.advance();
    const r = host.regs, b = ENGINES[e].mmioBase;
    r[(b + RING_ACTHD) >> 2] = s.acthd >>> 0;
    r[(b + RING_BBADDR) >> 2] = s.bbaddr >>> 0;
    if (d < 0) {
      host.recordFault(s.fault!);
      this.event[e] = host.sim.schedule(Math.max(1, lead + s.partialCost), this, e * 4 + EV_HANG);
    } else if (s.pending) {
      this.event[e] = host.sim.schedule(lead + d, this, e * 4 + EV_EFFECT);
    } else {
      this.event[e] = host.sim.schedule(Math.max(1, lead + d), this, e * 4 + EV_DONE);
    }
  }

  /** @internal a command's effect falls due, or the element completes / hangs, on `kind >> 2` */
  describeEvent(kind: number): string {
    const type = kind & 3;
    const what = type === EV_DONE
      ? "execution done"
      : type === EV_HANG
      ? "hang check"
      : "memory effects";
    return `${ENGINES[kind >> 2]?.name ?? `engine ${kind >> 2}`} ${what}`;
  }

  /** @internal a command's effect falls due, or the element completes / hangs, on `kind >> 2` */
  onEvent(kind: number): void {
    const e = kind >> 2, type = kind & 3;
    this.event[e] = -1;
    if (type === EV_EFFECT) {
      this.step(e, 0);
      return;
    }
    const el = this.cur[e];
    const ctxId = this.hi[e * 2 + el];
    if (type === EV_HANG) {
      this.busyNs[e] += this.host.sim.now - this.started[e];
      this.state[e] = ENGINE_HUNG;
      this.pendCount[e] = 0;
      this.raise(e, GT_CS_MASTER_ERROR_INTERRUPT);
      this.csb(e, GEN8_CTX_STATUS_ACTIVE_IDLE, ctxId);
      return;
    }
    // Context save: the ring head goes back into the image before the switch is reported.
    const s = this.host.streamers[e];
    const pa = this.statePa[e];
    ctxSet(this.host.memory.page(Math.floor(pa / PAGE_SIZE)), CTX_RING_HEAD, s.head);
    this.host.regs[(ENGINES[e].mmioBase + RING_HEAD) >> 2] = s.head;
    if (el + 1 < this.count[e]) {
      this.csb(e, GEN8_CTX_STATUS_ELEMENT_SWITCH | GEN8_CTX_STATUS_COMPLETE, ctxId);
      this.runElement(e, el + 1);
      return;
    }
    if (this.pendCount[e] > 0) {
      this.csb(e, GEN8_CTX_STATUS_ELEMENT_SWITCH | GEN8_CTX_STATUS_COMPLETE, ctxId);
      for (let i = 0; i < 2; i++) {
        this.lo[e * 2 + i] = this.pendLo[e * 2 + i];
        this.hi[e * 2 + i] = this.pendHi[e * 2 + i];
      }
      this.count[e] = this.pendCount[e];
      this.pendCount[e] = 0;
      this.runElement(e, 0);
      return;
    }
    this.busyNs[e] += this.host.sim.now - this.started[e];
    this.state[e] = ENGINE_IDLE;
    this.csb(e, GEN8_CTX_STATUS_ACTIVE_IDLE | GEN8_CTX_STATUS_COMPLETE, ctxId);
  }

  /** Busy time of `engine` including the running element, at `now`. */
  busyAt(engine: number, now: number): number {
    return this.busyNs[engine] +
      (this.state[engine] === ENGINE_BUSY ? now - this.started[engine] : 0);
  }
}
