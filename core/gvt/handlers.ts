/**
 * The register handlers (i915 gvt/handlers.c `init_generic_mmio_info` and friends) and the
 * table they are registered in: ELSP, execlist status and CSB, ring registers, RING_MODE,
 * TIMESTAMP/ACTHD, forcewake, fences, interrupt registers, GDRST, display (PIPECONF,
 * plane SURF), PVINFO and TLB invalidation. Flags, RO masks and the CMD_ACCESS whitelist
 * start from the hardware register table (core/hw/regdefs.ts).
 */

import { buildRegisterDefs, REG_CMD_ACCESS, REG_GMADR, REG_MASKED, REG_RO } from "../hw/regdefs.ts";
import {
  CSB_ENTRIES,
  DSPSURF_A,
  DSPSURFLIVE_A,
  FENCE_REG_GEN6_LO,
  FORCEWAKE_PAIRS,
  GDRST,
  GEN6_GRDOM_FULL,
  GEN8_MASTER_IRQ,
  GFX_RUN_LIST_ENABLE,
  GRDOM_BY_ENGINE,
  IRQ_GROUP_BASE,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_ISR,
  NUM_ENGINES,
  NUM_PIPES,
  PIPE_FRMCOUNT_A,
  PIPE_STRIDE,
  PIPECONF_A,
  PIPECONF_ENABLE,
  PIPECONF_STATE_ENABLE,
  PVINFO,
  RING_ACTHD,
  RING_ACTHD_UDW,
  RING_BASE,
  RING_CONTEXT_STATUS_BUF,
  RING_CONTEXT_STATUS_PTR,
  RING_CTL,
  RING_ELSP,
  RING_EXECLIST_STATUS_HI,
  RING_EXECLIST_STATUS_LO,
  RING_HEAD,
  RING_HWS_PGA,
  RING_MODE,
  RING_START,
  RING_TAIL,
  RING_TIMESTAMP,
  RING_TIMESTAMP_UDW,
  VGT_PVINFO_PAGE,
  VGT_PVINFO_SIZE,
} from "../hw/regs.ts";
import { TC } from "./counters.ts";
import {
  F_CMD_ACCESS,
  F_GMADR,
  F_MODE_MASK,
  F_SR_IN_CTX,
  type MmioHandler,
  type MmioHooks,
  MmioTable,
} from "./mmio.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** TLB invalidation registers per engine (gen8 0x4260 render, 0x426c blitter, ...). */
export const TLB_INV_REG: readonly number[] = [0x4260, 0x426c, 0x4264, 0x4270];
/** Plane flip counter PIPE_FLIPCOUNT_G4X(pipe) = 0x70044 + 0x1000 pipe. */
export const PIPE_FLIPCOUNT_A = 0x70044;

const MASTER_IDX = GEN8_MASTER_IRQ >>> 2;
const ALL = 0xffffffff;

/** Builds the handler table wired to the mediator's services. */
export function buildMmioTable(hooks: MmioHooks, fences: number): MmioTable {
  const t = new MmioTable();
  // Hardware register definitions: flags, RO masks, whitelist.
  for (const d of buildRegisterDefs(fences)) {
    let f = 0;
    if (d.flags & REG_MASKED) f |= F_MODE_MASK;
    if (d.flags & REG_CMD_ACCESS) f |= F_CMD_ACCESS;
    if (d.flags & REG_GMADR) f |= F_GMADR;
    t.register(d.offset, 1, 0, f, d.flags & REG_RO ? ALL : d.roMask, TC.default);
  }

  const elsp = t.addHandler(new ElspHandler(hooks));
  const owned = t.addHandler(new HwWhenOwnedHandler(hooks));
  const ringMode = t.addHandler(new RingModeHandler(hooks));
  for (let e = 0; e < NUM_ENGINES; e++) {
    const b = RING_BASE[e];
    t.register(b + RING_ELSP, 1, elsp, 0, 0, TC.elsp);
    t.register(b + RING_EXECLIST_STATUS_LO, 1, 0, 0, ALL, TC.execlist);
    t.register(b + RING_EXECLIST_STATUS_HI, 1, 0, 0, ALL, TC.execlist);
    t.register(b + RING_CONTEXT_STATUS_BUF, CSB_ENTRIES * 2, 0, 0, ALL, TC.execlist);
    t.register(b + RING_CONTEXT_STATUS_PTR, 1, 0, F_MODE_MASK, 0xf, TC.execlist);
    for (const r of [RING_HEAD, RING_TAIL, RING_START, RING_CTL]) {
      t.register(b + r, 1, 0, F_SR_IN_CTX, 0, TC.ring);
    }
    t.register(b + RING_HWS_PGA, 1, 0, F_GMADR, 0, TC.ring);
    t.register(b + RING_MODE, 1, ringMode, F_MODE_MASK, 0, TC.ring_mode);
    for (const r of [RING_TIMESTAMP, RING_TIMESTAMP_UDW, RING_ACTHD, RING_ACTHD_UDW]) {
      t.register(b + r, 1, owned, 0, ALL, TC.timestamp);
    }
  }
  const fw = t.addHandler(new ForcewakeHandler());
  for (const [req, ack] of FORCEWAKE_PAIRS) {
    t.register(req, 1, fw, F_MODE_MASK, 0, TC.forcewake);
    t.register(ack, 1, 0, 0, ALL, TC.forcewake);
  }
  t.register(FENCE_REG_GEN6_LO, 2 * fences, t.addHandler(new FenceHandler(hooks)), 0, 0, TC.fence);

  const irqH = t.addHandler(new IrqHandler(hooks));
  t.register(GEN8_MASTER_IRQ, 1, irqH, 0, 0, TC.irq);
  for (const base of IRQ_GROUP_BASE) {
    t.register(base + IRQ_ISR, 1, 0, 0, ALL, TC.irq);
    t.register(base + IRQ_IMR, 1, irqH, 0, 0, TC.irq);
    t.register(base + IRQ_IIR, 1, irqH, 0, 0, TC.irq);
    t.register(base + IRQ_IER, 1, irqH, 0, 0, TC.irq);
  }
  t.register(GDRST, 1, t.addHandler(new GdrstHandler(hooks)), 0, 0, TC.gdrst);

  const pipeconf = t.addHandler(new PipeconfHandler(hooks));
  const surf = t.addHandler(new SurfHandler());
  for (let p = 0; p < NUM_PIPES; p++) {
    const s = p * PIPE_STRIDE;
    t.register(PIPECONF_A + s, 1, pipeconf, 0, PIPECONF_STATE_ENABLE, TC.display);
    t.register(PIPE_FRMCOUNT_A + s, 1, 0, 0, ALL, TC.display);
    t.register(PIPE_FLIPCOUNT_A + s, 1, 0, 0, ALL, TC.display);
    t.register(DSPSURF_A + s, 1, surf, F_GMADR, 0xfff, TC.display);
    t.register(DSPSURFLIVE_A + s, 1, 0, 0, ALL, TC.display);
  }
  t.register(
    VGT_PVINFO_PAGE,
    VGT_PVINFO_SIZE >>> 2,
    t.addHandler(new PvinfoHandler(hooks)),
    0,
    0,
    TC.pvinfo,
  );
  const tlb = t.addHandler(new TlbHandler());
  for (const r of TLB_INV_REG) t.register(r, 1, tlb, 0, 0, TC.tlb);
  return t;
}

/** Engine of a ring register dword index. */
function engineOf(idx: number): number {
  const off = idx << 2;
  for (let e = 0; e < NUM_ENGINES; e++) {
    const b = RING_BASE[e];
    if (off >= b && off < b + 0x1000) return e;
  }
  return 0;
}

/** ELSP: four dword writes fill two descriptors; the 4th submits. Reads return 0. */
export class ElspHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(): number {
    return 0;
  }
  write(v: Vgpu, idx: number, value: number): void {
    const e = engineOf(idx);
    if (v.execlists[e].writeElsp(value)) this.h.submitExeclist(v, e);
  }
}

/** TIMESTAMP / ACTHD: from hardware while the vGPU owns the engine, else the vreg. */
export class HwWhenOwnedHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    const e = engineOf(idx);
    if (this.h.ownsEngine(v, e)) v.vreg[idx] = this.h.hwRead(idx << 2) >>> 0;
    return v.vreg[idx];
  }
  write(): void {}
}

/**
 * RING_MODE: enabling the run list (or PPGTT) before the guest read PVINFO marks an
 * unsupported guest (failsafe); otherwise selects execlist submission.
 */
export class RingModeHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const enable = (value & (GFX_RUN_LIST_ENABLE << 16)) !== 0;
    const e = engineOf(idx);
    if (enable && (value & GFX_RUN_LIST_ENABLE) !== 0) {
      if (!v.pvAware) {
        this.h.enterFailsafe(v, "unsupported_guest");
        return;
      }
      v.runList[e] = 1;
    } else if (enable) v.runList[e] = 0;
    v.vreg[idx] = value >>> 0;
  }
}

/** Forcewake request: masked semantics; the ACK register mirrors the request. */
export class ForcewakeHandler implements MmioHandler {
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const old = v.vreg[idx];
    const mask = value >>> 16;
    const now = ((old & ~mask) | (value & mask)) & 0xffff;
    v.vreg[idx] = now;
    for (const [req, ack] of FORCEWAKE_PAIRS) if (req >>> 2 === idx) v.vreg[ack >>> 2] = now;
  }
}

/** Fences: a vGPU sees only its own count; writes reach its reserved physical fences. */
export class FenceHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  private fence(v: Vgpu, idx: number): number {
    const n = ((idx << 2) - FENCE_REG_GEN6_LO) >>> 3;
    if (n >= v.res.fences.length) {
      v.counters.mmioErrors[3]++; // fence_oob
      return -1;
    }
    return n;
  }
  read(v: Vgpu, idx: number): number {
    return this.fence(v, idx) < 0 ? 0 : v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    if (!v.pvAware) {
      this.h.enterFailsafe(v, "unsupported_guest");
      return;
    }
    const n = this.fence(v, idx);
    if (n < 0) return;
    v.vreg[idx] = value >>> 0;
    const hi = ((idx << 2) - FENCE_REG_GEN6_LO) & 4;
    this.h.hwWrite(FENCE_REG_GEN6_LO + 8 * v.res.fences[n] + hi, value >>> 0);
  }
}

/** Interrupt registers: master (enable bit), IMR, IIR (write 1 to clear), IER. */
export class IrqHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const irq = this.h.irq;
    if (idx === MASTER_IDX) {
      irq.writeMaster(v, value);
      return;
    }
    const r = (idx << 2) & 0xf;
    if (r === IRQ_IMR) irq.writeImr(v, idx, value);
    else if (r === IRQ_IIR) irq.writeIir(v, idx, value);
    else if (r === IRQ_IER) irq.writeIer(v, idx, value);
  }
}

/** GDRST: full or per-engine reset of the vGPU; reads 0 once done. */
export class GdrstHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    let mask = 0;
    if (value & GEN6_GRDOM_FULL) mask = -1;
    else for (let e = 0; e < NUM_ENGINES; e++) if (value & GRDOM_BY_ENGINE[e]) mask |= 1 << e;
    if (mask !== 0) this.h.resetEngines(v, mask);
    v.vreg[idx] = 0;
  }
}

/** PIPECONF: enable sets the state bit and starts the vblank timer. */
export class PipeconfHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const on = (value & PIPECONF_ENABLE) !== 0;
    v.vreg[idx] = on
      ? (value | PIPECONF_STATE_ENABLE) >>> 0
      : (value & ~PIPECONF_STATE_ENABLE) >>> 0;
    this.h.updateVblank(v);
  }
}

/** Plane SURF: copied to SURFLIVE, flip counted, flip-done raised at the next vblank. */
export class SurfHandler implements MmioHandler {
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const pipe = ((idx << 2) - DSPSURF_A) / PIPE_STRIDE;
    v.vreg[idx] = value >>> 0;
    v.vreg[(DSPSURFLIVE_A + pipe * PIPE_STRIDE) >>> 2] = value >>> 0;
    v.vreg[(PIPE_FLIPCOUNT_A + pipe * PIPE_STRIDE) >>> 2]++;
    v.counters.flips++;
    v.flipPending[pipe] = 1;
  }
}

const PV_RSV5 = (VGT_PVINFO_PAGE + PVINFO.rsv5) >>> 2;
const PV_G2V = (VGT_PVINFO_PAGE + PVINFO.g2vNotify) >>> 2;
const PV_WRITABLE_FIRST = (VGT_PVINFO_PAGE + PVINFO.displayReady) >>> 2;
const PV_WRITABLE_LAST = (VGT_PVINFO_PAGE + PVINFO.execlistContextDescriptorHi) >>> 2;

/**
 * PVINFO: any read marks the guest PV-aware; a write to rsv5 means "insufficient
 * resources" (failsafe); g2v_notify carries PPGTT create/destroy; display_ready, cursor
 * hot spot, pdp[] and the execlist descriptor are guest-writable, the rest read-only.
 */
export class PvinfoHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    v.pvAware = true;
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    if (idx >= PV_RSV5 && idx < PV_RSV5 + 4) {
      this.h.enterFailsafe(v, "insufficient_resource");
      return;
    }
    if (idx < PV_WRITABLE_FIRST || idx > PV_WRITABLE_LAST) return;
    v.vreg[idx] = value >>> 0;
    if (idx === PV_G2V) this.h.g2vNotify(v, value);
  }
}

/** TLB invalidation: deferred to the next switch to this vGPU. */
export class TlbHandler implements MmioHandler {
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    v.vreg[idx] = value >>> 0;
    const e = TLB_INV_REG.indexOf(idx << 2);
    if (e >= 0 && value !== 0) v.tlbPending |= 1 << e;
  }
}
