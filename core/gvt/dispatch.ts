/**
 * Workload dispatch (i915 gvt/scheduler.c `dispatch_workload`): for each engine, the current
 * vGPU's next workload is prepared (ring and batches scanned and shadowed unless that
 * happened at its creation, the guest context image copied into the vGPU's shadow context
 * on that engine and its engine context scanned: core/gvt/shadow_ctx.ts; then
 * `prepare_workload`: PPGTT pinned and shadowed, out-of-sync pages synced, post-shadow
 * entries flushed, the shadow context patched to run the shadow ring on the shadow page
 * tables),
 * the engine's MMIO context is switched if another vGPU used it last (register save/restore
 * cost, pending TLB invalidations), and the shadow context is submitted through the
 * physical ELSP. Completion arrives as the physical context-status event (the mediator owns
 * the GPU's MSI); the context is copied back, the virtual CSB schedule-out emulated and the
 * guest's interrupts raised.
 */

import { putLe32 } from "../hw/bits.ts";
import {
  CTX_BB_PER_CTX_PTR,
  CTX_RCS_INDIRECT_CTX,
  ctxGet,
  ctxSet,
  LRC_STATE_PN,
  setContextRoot,
  withLrca,
  writeContextRing,
} from "../hw/context.ts";
import { ENGINES } from "../hw/engines.ts";
import { PAGE_SIZE } from "../hw/memory.ts";
import {
  BB_PER_CTX_PTR_FIELDS,
  HWS_PGA_FIELDS,
  INDIRECT_CTX_FIELDS,
} from "../hw/registers/ring.ts";
import {
  DSPSURF_A,
  DSPSURFLIVE_A,
  GEN8_CTX_STATUS_ACTIVE_IDLE,
  GEN8_CTX_STATUS_COMPLETE,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  IRQ_GROUP_BASE,
  IRQ_IIR,
  NUM_ENGINES,
  PIPE_STRIDE,
  RING_ELSP,
  RING_HWS_PGA,
} from "../hw/regs.ts";
import {
  CSB_RESET_PTR,
  csbEntryOffset,
  csbNext,
  csbPtrOffset,
  csbWritePtr,
  I915_HWS_CSB_BUF0_INDEX,
  I915_HWS_CSB_WRITE_INDEX,
} from "../hw/csb.ts";
import type { Gpu } from "../hw/gpu.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { EventSink, Sim } from "../sim/sim.ts";
import { type GvtCounters, VIOLATION_KINDS, type ViolationKind } from "./counters.ts";
import { type CsbSink, emulateScheduleIn, emulateScheduleOut } from "./execlist.ts";
import { type SwitchWork, switchWork } from "./mmio_context.ts";
import type { HostBuffer, HostGm } from "./host_gm.ts";
import type { VirtualIrq } from "./irq.ts";
import type { PpgttShadow } from "./ppgtt.ts";
import type { Gscale } from "./gscale.ts";
import type { Scanner } from "./scanner.ts";
import type { GvtScheduler } from "./sched.ts";
import type { GvtTracer } from "./tracer.ts";
import type { Vgpu } from "./vgpu_state.ts";
import { WL_DONE, WL_DROPPED, WL_PREPARING, WL_RUNNING, type Workload } from "./workload.ts";
import { initShadowImage, populateShadowContext, updateGuestContext } from "./shadow_ctx.ts";

/** Dispatch cost model (ns). */
export interface DispatchCosts {
  /** Per hardware register read or write of an engine's MMIO context switch. */
  regAccessNs: number;
  /** Per TLB invalidation performed at a switch. */
  tlbInvalidateNs: number;
  /** Fixed cost of preparing one workload (request allocation, pinning). */
  prepareNs: number;
}

/** Default dispatch costs. */
export const DEFAULT_DISPATCH_COSTS: DispatchCosts = {
  regAccessNs: 150,
  tlbInvalidateNs: 1_000,
  prepareNs: 3_000,
};

/** What the dispatcher needs. */
export interface DispatchDeps {
  /** Simulation. */
  sim: Sim;
  /** Physical GPU. */
  gpu: Gpu;
  /** MPT gate. */
  gate: MptGate;
  /** Host graphics memory. */
  hostGm: HostGm;
  /** Scanner. */
  scanner: Scanner;
  /** PPGTT shadowing. */
  ppgtt: PpgttShadow;
  /** Virtual interrupts. */
  irq: VirtualIrq;
  /** Scheduler. */
  sched: GvtScheduler;
  /** Global counters. */
  counters: GvtCounters;
  /** Costs. */
  costs: DispatchCosts;
  /** The host's register values (the hardware snapshot the vGPUs start from). */
  hostRegs: Uint32Array;
  /** Owner tag of a vGPU's VM (for shadow contexts). */
  ownerOf(v: Vgpu): number;
  /** gScale mode: copies a vGPU's private GTT in before it runs (null: upstream). */
  gscale: Gscale | null;
  /**
   * A workload failed before it ran: `kind` is the scanner's violation (null: it could not
   * be prepared); the mediator decides between failsafe and failing the engine's queue.
   */
  guestError(w: Workload, kind: ViolationKind | null, detail: string): void;
}

const EV_KICK = 0, EV_SUBMIT = 1;
const CONTEXT_PAGE = VIOLATION_KINDS.indexOf("context_page");
/** The GT interrupt groups whose IIRs the host handler acks (engines' groups 0, 1, 3). */
const GT_IRQ_GROUPS: readonly number[] = [0, 1, 3];

/** The dispatcher and the host side of the physical GPU's completion interrupts. */
export class Dispatcher implements EventSink, CsbSink {
  /** Workload in flight per engine (any vGPU). */
  readonly running: (Workload | null)[] = new Array(NUM_ENGINES).fill(null);
  /** vGPU whose MMIO context is loaded on each engine (null: host). */
  readonly engineOwner: (Vgpu | null)[] = new Array(NUM_ENGINES).fill(null);
  /** Unattributed MPT time spent in dispatch events (ns). */
  mptNs = 0;
  /** Trace hooks (null: not tracing). */
  tracer: GvtTracer | null = null;
  private kickPending = false;
  private seq = 0;
  private readonly hwRead = new Int32Array(NUM_ENGINES).fill(CSB_RESET_PTR);
  private readonly sw: SwitchWork = { reads: 0, writes: 0 };
  private readonly small = new Uint8Array(8);
  private readonly small4 = this.small.subarray(0, 4);
  private csbVgpu: Vgpu | null = null;
  /** Receives the GPU's MSIs. */
  readonly msiSink: EventSink;

  /** Creates a Dispatcher.
   * @param d dependencies */
  constructor(private readonly d: DispatchDeps) {
    this.msiSink = { onEvent: () => this.onHwInterrupt() };
  }

  /** True if any engine has a workload in flight. */
  anyBusy(): boolean {
    for (let e = 0; e < NUM_ENGINES; e++) if (this.running[e] !== null) return true;
    return false;
  }

  /** Wakes the dispatch "thread" (coalesced, runs in its own event). */
  kick(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    this.d.sim.schedule(0, this, EV_KICK);
  }

  /** @internal dispatch events */
  describeEvent(kind: number, arg: number): string {
    return kind === EV_KICK
      ? "dispatcher kick"
      : `submission to ${ENGINES[arg]?.name ?? `engine ${arg}`} done`;
  }

  /** @internal dispatch events */
  onEvent(kind: number, arg: number): void {
    this.mptNs += this.d.gate.takeCost();
    this.d.counters.pluginErrors = this.d.gate.errorCount;
    if (kind === EV_KICK) {
      this.kickPending = false;
      this.dispatchAll();
    } else if (kind === EV_SUBMIT) this.submit(arg);
  }

  /** Starts the current vGPU's next workload on every idle engine it may use. */
  private dispatchAll(): void {
    const v = this.d.sched.current;
    if (!v) return;
    for (let e = 0; e < NUM_ENGINES; e++) {
      const q = v.queues[e];
      while (
        this.running[e] === null && q.length > 0 && !v.failsafe &&
        this.d.sched.mayDispatch(v, q[0].submitTime)
      ) {
        const w = q.shift()!;
        if (this.prepare(w)) break;
      }
    }
  }

  /** Prepares and schedules the submission of `w`; false if it was dropped. */
  private prepare(w: Workload): boolean {
    const d = this.d, v = w.vgpu, e = w.engine;
    w.state = WL_PREPARING;
    this.running[e] = w;
    v.inFlight++;
    // gvtsim reads PPGTT batches through the PPGTT shadow: when they are scanned, it is pinned
    // and synced first (upstream pins it after the scan and the context copy).
    const ppgttScan = d.scanner.options.scanPpgttBatches;
    if (ppgttScan && !this.pinMm(w)) return this.drop(w, null, "PPGTT root could not be shadowed");
    if (!this.scanAndShadow(w)) {
      return this.drop(w, VIOLATION_KINDS[w.scan.violation], w.scan.detail);
    }
    // dispatch_workload: populate_shadow_context's -EFAULT (a context page the guest GGTT
    // does not map; gvtsim: or one that cannot be read) fails the workload, and
    // workload_thread puts the vGPU in failsafe (vgpu_is_vm_unhealthy).
    const ctx = this.shadowImage(v, e);
    if (ctx === null) return this.drop(w, null, "no host memory for the shadow context");
    if (!this.shadowContext(w, ctx)) {
      // intel_gvt_scan_engine_context's errno, or populate_shadow_context's -EFAULT
      if (w.scan.violation >= 0) {
        return this.drop(w, VIOLATION_KINDS[w.scan.violation], w.scan.detail);
      }
      v.counters.violations[CONTEXT_PAGE]++;
      return this.drop(w, "context_page", "guest context page unmapped or unreadable");
    }
    // prepare_workload: the PPGTT shadow pinned and synced, then the shadow context pointed
    // at it, at the shadow ring and at the shadowed workaround batches.
    if (!ppgttScan && !this.pinMm(w)) return this.drop(w, null, "PPGTT root could not be shadowed");
    this.prepareShadowContext(w, ctx);
    let cost = d.costs.prepareNs + w.scan.costNs;
    if (d.gscale !== null) cost += d.gscale.load(v);
    const prev = this.engineOwner[e];
    if (prev !== v) {
      const sw = switchWork(
        d.gpu.config.platform,
        e,
        prev?.vreg ?? null,
        v.vreg,
        d.hostRegs,
        this.sw,
      );
      const n = sw.reads + sw.writes;
      cost += n * d.costs.regAccessNs;
      d.counters.engineSwitches++;
      d.counters.regsSwitched += n;
      d.counters.switchCostNs += n * d.costs.regAccessNs;
      v.counters.regsSwitched += n;
      this.engineOwner[e] = v;
    }
    if (v.tlbPending & (1 << e)) {
      v.tlbPending &= ~(1 << e);
      d.gpu.mmioWrite(ENGINES[e].tlbInvReg, 4, 1);
      v.counters.tlbInvalidations++;
      cost += d.costs.tlbInvalidateNs;
    }
    if (w.emulateScheduleIn) {
      this.csbVgpu = v;
      if (emulateScheduleIn(v.vreg, v.execlists[e], w.elsp, this)) {
        d.irq.trigger(v, ENGINES[e].irqGroup, GT_CONTEXT_SWITCH_INTERRUPT << ENGINES[e].irqShift);
      }
    }
    cost += d.gate.takeCost();
    d.sim.schedule(cost, this, EV_SUBMIT, e);
    return true;
  }

  /**
   * `intel_gvt_scan_and_shadow_workload`: scans and shadows the workload's ring and, on the
   * render engine, its workaround batches, unless that was done already (at its creation);
   * false on a violation (`w.scan` says which).
   */
  scanAndShadow(w: Workload): boolean {
    if (w.shadowed) return true;
    const s = this.d.scanner, v = w.vgpu, scan = w.scan;
    s.scanRing(v, w.engine, w.mm, w.ringStart, w.ringSize, w.head, w.tail, scan);
    if (scan.violation < 0 && w.indirectCtxSize !== 0) {
      s.scanWaCtx(v, w.indirectCtxGma, w.indirectCtxSize, w.perCtxGma, w.perCtxValid, scan);
    }
    w.shadowed = scan.violation < 0;
    return w.shadowed;
  }

  /**
   * `intel_vgpu_destroy_workload` for a workload that never reached dispatch: marks it
   * dropped, frees the shadows its scan at creation made and puts its PPGTT mm reference.
   */
  destroyQueued(w: Workload): void {
    const d = this.d, space = w.vgpu.ppgtt;
    w.state = WL_DROPPED;
    d.scanner.release(w.scan);
    if (w.mm !== null && space !== null) d.ppgtt.putMm(space, w.mm);
    w.mm = null;
  }

  /**
   * Drops a workload that could not be prepared: `kind` is the guest's violation (null: the
   * host's failure); the mediator decides what follows.
   */
  private drop(w: Workload, kind: ViolationKind | null, detail: string): boolean {
    w.vgpu.counters.workloadsDropped++;
    if (kind !== null && this.tracer !== null) this.tracer.violation(w.vgpu.id, kind, detail);
    this.finish(w, WL_DROPPED);
    this.d.guestError(w, kind, detail);
    return false;
  }

  /**
   * Pins the workload's PPGTT shadow (`intel_vgpu_shadow_mm_pin`: shadowed if it is not),
   * syncs out-of-sync pages and flushes post-shadow entries of its vGPU; false if a root
   * could not be shadowed.
   */
  private pinMm(w: Workload): boolean {
    const d = this.d, space = w.vgpu.ppgtt!;
    if (w.mm !== null) {
      w.mmPinned = true;
      if (!d.ppgtt.pin(space, w.mm)) return false;
    }
    d.ppgtt.syncOos(space);
    d.ppgtt.flushPostShadow(space);
    return true;
  }

  /**
   * Copies the guest context into the vGPU's shadow context on the engine
   * (`populate_shadow_context`); false if a page was unmapped or unreadable or the engine
   * context's scan found a violation.
   */
  private shadowContext(w: Workload, ctx: HostBuffer): boolean {
    w.shadowCtx = ctx;
    return populateShadowContext(this.d.gate, this.d.gpu.memory, this.d.scanner, w, ctx);
  }

  /**
   * Points the shadow context at the shadowed workaround batches (`prepare_shadow_wa_ctx`),
   * the shadow ring (`copy_workload_to_ring_buffer`) and the shadow page tables
   * (`update_shadow_pdps`), and gives it a hardware context id.
   */
  private prepareShadowContext(w: Workload, ctx: HostBuffer): void {
    const d = this.d, v = w.vgpu;
    const s = d.gpu.memory.page(ctx.mfns[LRC_STATE_PN]);
    const wa = w.scan.waCtx;
    if (wa !== null) { // update_wa_ctx_2_shadow_ctx: the shadows' addresses, other bits kept
      const per = BB_PER_CTX_PTR_FIELDS.address.mask, ind = INDIRECT_CTX_FIELDS.address.mask;
      ctxSet(
        s,
        CTX_BB_PER_CTX_PTR,
        (ctxGet(s, CTX_BB_PER_CTX_PTR) & ~per) | w.scan.perCtxShadowGma,
      );
      ctxSet(s, CTX_RCS_INDIRECT_CTX, (ctxGet(s, CTX_RCS_INDIRECT_CTX) & ~ind) | wa.gma);
    }
    const ring = w.scan.ring!;
    writeContextRing(s, ring.gma, ring.pages * PAGE_SIZE, 0, w.scan.ringDwords * 4);
    const mm = w.mm; // no PPGTT: roots 0, never the guest's (unshadowed) ones
    for (let k = 0; k < 4; k++) {
      setContextRoot(
        s,
        k,
        mm === null || (mm.levels === 4 && k > 0) ? 0 : d.ppgtt.rootAddress(mm, k),
      );
    }
    this.seq = (this.seq + 1) & 0xfffff;
    w.hwCtxId = ((v.id << 20) | this.seq) >>> 0;
  }

  /**
   * The vGPU's shadow context on engine `e`, made at its first use (`intel_context_pin`
   * allocates a context's state the first time): host frames in the hidden graphics memory,
   * tagged with the VM as owner (its PPGTT leaves: the vGPU's IOMMU domain). Null when the
   * host has no graphics memory left.
   */
  private shadowImage(v: Vgpu, e: number): HostBuffer | null {
    const s = v.shadowContexts;
    let img = s.images[e];
    if (img !== null) return img;
    const d = this.d;
    img = d.hostGm.alloc(ENGINES[e].contextPages[d.gpu.config.platform.gen]);
    if (img === null) return null;
    initShadowImage(d.gpu.memory, img, e, d.gpu.config.platform.gen);
    d.gpu.setContextOwner(img.gma, d.ownerOf(v), v.id);
    s.images[e] = img;
    return img;
  }

  /**
   * Frees a destroyed vGPU's shadow contexts (`intel_vgpu_clean_submission`); the one a
   * workload still runs in goes when that workload finishes.
   */
  cleanSubmission(v: Vgpu): void {
    for (let e = 0; e < NUM_ENGINES; e++) {
      const r = this.running[e];
      if (r === null || r.vgpu !== v) this.freeImage(v, e);
    }
  }

  /** Frees a vGPU's shadow context on engine `e`, if it has one. */
  private freeImage(v: Vgpu, e: number): void {
    const s = v.shadowContexts, img = s.images[e];
    if (img === null) return;
    this.d.gpu.clearContextOwner(img.gma);
    this.d.hostGm.free(img);
    s.images[e] = null;
    s.lastValid[e] = 0;
  }

  /** Submits a prepared shadow context through the physical ELSP (one element). */
  private submit(e: number): void {
    const w = this.running[e];
    if (!w || w.state !== WL_PREPARING) return;
    const d = this.d;
    w.state = WL_RUNNING;
    w.startTime = d.sim.now;
    if (this.tracer !== null) this.tracer.workloadStart(w.vgpu.id, e, w.flow, w.submitTime);
    const lo = withLrca(w.descLo, w.shadowCtx!.gma);
    const el = ENGINES[e].mmioBase + RING_ELSP;
    d.gpu.mmioWrite(el, 4, 0);
    d.gpu.mmioWrite(el, 4, 0);
    d.gpu.mmioWrite(el, 4, w.hwCtxId);
    d.gpu.mmioWrite(el, 4, lo);
  }

  /** The GPU's MSI: reads each engine's context status buffer and completes workloads. */
  onHwInterrupt(): void {
    const gpu = this.d.gpu, r = gpu.regs;
    this.mptNs += this.d.gate.takeCost();
    gpu.mmioWrite(GEN8_MASTER_IRQ, 4, 0);
    for (let i = 0; i < GT_IRQ_GROUPS.length; i++) {
      const g = GT_IRQ_GROUPS[i];
      const iir = gpu.mmioRead32(IRQ_GROUP_BASE[g] + IRQ_IIR);
      if (iir !== 0) gpu.mmioWrite(IRQ_GROUP_BASE[g] + IRQ_IIR, 4, iir);
    }
    for (let e = 0; e < NUM_ENGINES; e++) {
      const wp = csbWritePtr(r[csbPtrOffset(e) >>> 2]);
      let rp = this.hwRead[e];
      if (wp === CSB_RESET_PTR) {
        this.hwRead[e] = CSB_RESET_PTR;
        continue;
      }
      while (rp !== wp) {
        rp = csbNext(rp);
        const at = csbEntryOffset(e, rp) >>> 2;
        const status = r[at], ctx = r[at + 1];
        const w = this.running[e];
        const done = GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_ACTIVE_IDLE;
        if (w && w.state === WL_RUNNING && w.hwCtxId === ctx && (status & done) !== 0) {
          this.complete(w, (status & GEN8_CTX_STATUS_COMPLETE) !== 0);
        }
      }
      this.hwRead[e] = rp;
    }
    gpu.mmioWrite(GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL);
    this.mptNs += this.d.gate.takeCost();
  }

  /** A workload finished on the hardware (`complete_current_workload`). */
  private complete(w: Workload, ok: boolean): void {
    const d = this.d, v = w.vgpu, e = w.engine, c = v.counters, now = d.sim.now;
    c.busyNs[e] += now - w.startTime;
    c.busySpans[e].push(w.startTime, now);
    if (this.tracer !== null) {
      this.tracer.workloadEnd(
        v.id,
        e,
        !ok ? "hang" : w.discard || v.failsafe ? "discarded" : "done",
      );
    }
    if (!ok) {
      // vGPU hang: clean the engine's queue and reset the physical engine.
      w.failed = true;
      c.workloadsDropped += 1 + v.queues[e].length;
      for (const q of v.queues[e]) this.destroyQueued(q);
      v.queues[e].length = 0;
      d.gpu.resetEngine(e);
      this.hwRead[e] = CSB_RESET_PTR;
      this.finish(w, WL_DROPPED);
    } else if (w.discard || v.failsafe) {
      this.finish(w, WL_DROPPED);
    } else {
      this.copyBack(w);
      const next = v.queues[e][0];
      const liteRestore = next !== undefined && next.ctxId === w.ctxId && next.lrca === w.lrca;
      this.csbVgpu = v;
      const csb = !liteRestore && emulateScheduleOut(v.vreg, v.execlists[e], w.ctxId, this);
      const { irqShift: shift, irqGroup: group } = ENGINES[e];
      if (w.scan.userInterrupts > 0) d.irq.trigger(v, group, GT_RENDER_USER_INTERRUPT << shift);
      if (csb) d.irq.trigger(v, group, GT_CONTEXT_SWITCH_INTERRUPT << shift);
      const flips = w.scan.flips;
      for (let i = 0; i + 1 < flips.length; i += 2) this.emulateFlip(v, flips[i], flips[i + 1]);
      c.workloadsCompleted++;
      c.completedPerEngine[e]++;
      this.finish(w, WL_DONE);
    }
    d.sched.onWorkloadComplete();
    this.kick();
  }

  /** MI_DISPLAY_FLIP emulated at completion: the plane's surface changes, flip-done at vblank. */
  private emulateFlip(v: Vgpu, pipe: number, surf: number): void {
    v.vreg[(DSPSURF_A + pipe * PIPE_STRIDE) >>> 2] = surf >>> 0;
    v.vreg[(DSPSURFLIVE_A + pipe * PIPE_STRIDE) >>> 2] = surf >>> 0;
    v.counters.flips++;
    v.flipPending[pipe] = 1;
  }

  /** Copies the shadow context back into the guest context (`update_guest_context`). */
  private copyBack(w: Workload): void {
    const d = this.d;
    updateGuestContext(
      d.gate,
      d.gpu.memory,
      w.vgpu,
      w.shadowCtx!,
      w.lrca,
      w.ringContextGpa,
      w.ctxPages,
      w.tail,
    );
  }

  /** Releases everything a workload holds and frees its engine slot. */
  finish(w: Workload, state: number): void {
    const d = this.d, v = w.vgpu;
    w.state = state;
    d.scanner.release(w.scan);
    if (w.shadowCtx) {
      w.shadowCtx = null;
      if (v.destroyed) this.freeImage(v, w.engine);
    }
    if (w.mm && v.ppgtt) {
      if (w.mmPinned) d.ppgtt.unpin(w.mm);
      w.mmPinned = false;
      d.ppgtt.putMm(v.ppgtt, w.mm);
      w.mm = null;
    }
    if (this.running[w.engine] === w) {
      this.running[w.engine] = null;
      v.inFlight--;
    }
  }

  /** Mirrors a virtual CSB event into the guest's hardware status page, if it set one. */
  mirrorCsb(engine: number, entry: number, status: number, ctxId: number, writePtr: number): void {
    const v = this.csbVgpu;
    if (!v) return;
    const hws =
      (v.vreg[(ENGINES[engine].mmioBase + RING_HWS_PGA) >>> 2] & HWS_PGA_FIELDS.address.mask) >>>
      0;
    if (hws === 0) return;
    const gfn = v.ggtt.gmaToGfn(hws);
    if (gfn < 0) return;
    const b = this.small;
    putLe32(b, 0, status);
    putLe32(b, 4, ctxId);
    this.d.gate.writeGpa(v.id, gfn * PAGE_SIZE + (I915_HWS_CSB_BUF0_INDEX + 2 * entry) * 4, b);
    const p = this.small4;
    putLe32(p, 0, writePtr);
    this.d.gate.writeGpa(v.id, gfn * PAGE_SIZE + I915_HWS_CSB_WRITE_INDEX * 4, p);
  }
}
