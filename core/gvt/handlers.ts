/**
 * The register handlers (i915 gvt/handlers.c `init_generic_mmio_info` and friends) and the
 * table they are registered in, bound to registers by name: ELSP, execlist status and CSB,
 * ring registers, RING_MODE, CSFE_CHICKEN1, TIMESTAMP/ACTHD, forcewake, fences, interrupt
 * registers, GDRST, display (PIPECONF, plane SURF, DP AUX for the EDID), PVINFO and TLB
 * invalidation. Flags, RO masks and the CMD_ACCESS whitelist come from the platform's
 * register table (core/hw/regdefs.ts).
 */

import {
  fieldValue,
  getField,
  isMaskedEnabled,
  isSet,
  maskedEnable,
  maskedMerge,
} from "../hw/bits.ts";
import { CSFE_CHICKEN1_FIELDS } from "../hw/registers/ring.ts";
import { engineOfOffset, engineOfTlbReg, ENGINES } from "../hw/engines.ts";
import { onPlatform, type Platform } from "../hw/platform.ts";
import { AUX_CTL_FIELDS, AUX_MSG_FIELDS } from "../hw/registers/display.ts";
import { FORCEWAKE } from "../hw/registers/gt.ts";
import { REG_CMD_ACCESS, REG_GMADR, REG_MASKED, REG_RO } from "../hw/regdefs.ts";
import { registerTables } from "../hw/gpu.ts";
import {
  DSPSURF_A,
  DSPSURFLIVE_A,
  FENCE_REG_GEN6_LO,
  GEN6_GRDOM_FULL,
  GEN8_MASTER_IRQ,
  GFX_PPGTT_ENABLE,
  GFX_RUN_LIST_ENABLE,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  NUM_ENGINES,
  PIPE_FLIPCOUNT_A,
  PIPE_STRIDE,
  PIPECONF_ENABLE,
  PIPECONF_STATE_ENABLE,
  PVINFO,
  VGT_PVINFO_PAGE,
  VGT_PVINFO_SIZE,
} from "../hw/regs.ts";
import { MMIO_ERROR_KINDS, TC } from "./counters.ts";
import {
  F_CMD_ACCESS,
  F_GMADR,
  F_MODE_MASK,
  F_SR_IN_CTX,
  type MmioHandler,
  type MmioHooks,
  type MmioLayout,
  MmioTable,
} from "./mmio.ts";
import type { Vgpu } from "./vgpu_state.ts";

const MASTER_IDX = GEN8_MASTER_IRQ >>> 2;
const ALL = 0xffffffff;

/** What the mediator does with one kind of register (a row group of the register tables). */
interface Binding {
  /** Handler index (0: the default plain copy). */
  handler: number;
  /** Flags added to the table's. */
  flags?: number;
  /** Read-only bits (default: the table's). */
  ro?: number;
  /** Trap class. */
  cls: number;
  /** Only dwords below this offset (fences: gvt tracks 16). */
  below?: number;
}

/** GVT-g handles the first 16 fences (handlers.c: MMIO_F(FENCE_REG_GEN6_LO(0), 0x80)). */
export const GVT_FENCES = 16;

/**
 * Builds the handler table of `platform` wired to the mediator's services: every register
 * the platform's table has gets its flags, read-only bits and whitelist bit; handlers are
 * bound by register name (the row group), so a register that does not exist on the
 * platform gets none. Sources: gvt/handlers.c `init_generic_mmio_info`,
 * `init_bdw_mmio_info`, `init_skl_mmio_info`, `intel_gvt_setup_mmio_info`.
 */
export function buildMmioTable(hooks: MmioHooks, fences: number, platform: Platform): MmioTable {
  // the handlers are each table's own (bound to its mediator); what is registered for each
  // dword is the platform's, built by the first table and shared (MmioLayout)
  const known = layoutsOf.get(platform)?.get(fences);
  const t = new MmioTable(known);
  const h = (x: MmioHandler) => t.addHandler(x);
  const owned = h(new HwWhenOwnedHandler(hooks));
  const stamp = h(new TimestampHandler(hooks));
  const irq = h(new IrqHandler(hooks));
  const pairs = FORCEWAKE.filter((p) => onPlatform(p.exists, platform)).map((p) =>
    [p.req, p.ack] as const
  );
  const bind: Record<string, Binding> = {
    ELSP: { handler: h(new ElspHandler(hooks)), cls: TC.elsp },
    EXECLIST_STATUS_LO: { handler: 0, ro: ALL, cls: TC.execlist },
    EXECLIST_STATUS_HI: { handler: 0, ro: ALL, cls: TC.execlist },
    CSB: { handler: 0, ro: ALL, cls: TC.execlist },
    CONTEXT_STATUS_PTR: { handler: 0, cls: TC.execlist },
    RING_HEAD: { handler: 0, flags: F_SR_IN_CTX, cls: TC.ring },
    RING_TAIL: { handler: 0, flags: F_SR_IN_CTX, cls: TC.ring },
    RING_START: { handler: 0, flags: F_SR_IN_CTX, cls: TC.ring },
    RING_CTL: { handler: 0, flags: F_SR_IN_CTX, cls: TC.ring },
    HWS_PGA: { handler: 0, cls: TC.ring },
    RING_MODE_GEN7: {
      handler: h(new RingModeHandler(hooks, platform.ringModeForbidden)),
      cls: TC.ring_mode,
    },
    CSFE_CHICKEN1: { handler: h(new CsfeChickenHandler(hooks)), cls: TC.ring_mode },
    TIMESTAMP: { handler: stamp, ro: ALL, cls: TC.timestamp },
    TIMESTAMP_UDW: { handler: stamp, ro: ALL, cls: TC.timestamp },
    ACTHD: { handler: owned, ro: ALL, cls: TC.timestamp },
    ACTHD_UDW: { handler: owned, ro: ALL, cls: TC.timestamp },
    INSTDONE: { handler: owned, ro: ALL, cls: TC.timestamp },
    FORCEWAKE_REQ: { handler: h(new ForcewakeHandler(pairs)), cls: TC.forcewake },
    FORCEWAKE_ACK: { handler: 0, ro: ALL, cls: TC.forcewake },
    FENCE_REG_GEN6: {
      handler: h(new FenceHandler(hooks)),
      cls: TC.fence,
      below: FENCE_REG_GEN6_LO + 8 * GVT_FENCES,
    },
    GEN8_MASTER_IRQ: { handler: irq, ro: 0, cls: TC.irq },
    IRQ_ISR: { handler: 0, ro: ALL, cls: TC.irq },
    IRQ_IMR: { handler: irq, cls: TC.irq },
    IRQ_IIR: { handler: irq, ro: 0, cls: TC.irq },
    IRQ_IER: { handler: irq, cls: TC.irq },
    GDRST: { handler: h(new GdrstHandler(hooks)), cls: TC.gdrst },
    PIPECONF: { handler: h(new PipeconfHandler(hooks)), cls: TC.display },
    PIPE_FRMCOUNT: { handler: 0, ro: ALL, cls: TC.display },
    PIPE_FLIPCOUNT: { handler: 0, ro: ALL, cls: TC.display },
    DSPSURF: { handler: h(new SurfHandler()), ro: 0xfff, cls: TC.display },
    DSPSURFLIVE: { handler: 0, ro: ALL, cls: TC.display },
    AUX_CH_CTL: { handler: h(new AuxChHandler(platform.auxChCtl)), cls: TC.display },
    TLB_INV: { handler: h(new TlbHandler()), cls: TC.tlb },
  };
  const pvinfo = h(new PvinfoHandler(hooks));
  if (known !== undefined) return t;
  for (const d of registerTables(fences, platform).defs) {
    let f = 0;
    if (d.flags & REG_MASKED) f |= F_MODE_MASK;
    if (d.flags & REG_CMD_ACCESS) f |= F_CMD_ACCESS;
    if (d.flags & REG_GMADR) f |= F_GMADR;
    const ro = d.flags & REG_RO ? ALL : d.roMask;
    const b = Object.hasOwn(bind, d.group) ? bind[d.group] : undefined;
    if (b && (b.below === undefined || d.offset < b.below)) {
      t.register(d.offset, 1, b.handler, f | (b.flags ?? 0), b.ro ?? ro, b.cls);
    } else t.register(d.offset, 1, 0, f, ro, TC.default);
  }
  t.register(VGT_PVINFO_PAGE, VGT_PVINFO_SIZE >>> 2, pvinfo, 0, 0, TC.pvinfo);
  let byFences = layoutsOf.get(platform);
  if (byFences === undefined) layoutsOf.set(platform, byFences = new Map());
  byFences.set(fences, t.layout());
  return t;
}

/** The registrations of the handler tables built so far, by platform and fence count. */
const layoutsOf = new WeakMap<Platform, Map<number, MmioLayout>>();

/** Engine of a ring register dword index. */
function engineOf(idx: number): number {
  return Math.max(0, engineOfOffset(idx << 2));
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

/**
 * ACTHD, INSTDONE: from hardware while the vGPU owns the engine, else the vreg
 * (`mmio_read_from_hw`).
 */
export class HwWhenOwnedHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    if (this.h.ownsEngine(v, engineOf(idx))) v.vreg[idx] = this.h.hwRead(idx << 2) >>> 0;
    return v.vreg[idx];
  }
  write(): void {}
}

/** TIMESTAMP: always from hardware (`mmio_read_from_hw` reads the ring timestamp always). */
export class TimestampHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    v.vreg[idx] = this.h.hwRead(idx << 2) >>> 0;
    return v.vreg[idx];
  }
  write(): void {}
}

/**
 * RING_MODE (`ring_mode_mmio_write`): the platform's forbidden bits are stripped and their
 * masked enable puts the vGPU in failsafe; enabling PPGTT or the run list before the guest
 * read PVINFO marks an unsupported guest (failsafe); enabling the run list selects execlist
 * submission and starts scheduling the vGPU (`intel_vgpu_start_schedule`).
 */
export class RingModeHandler implements MmioHandler {
  /** Creates a RingModeHandler.
   * @param h the mediator
   * @param forbidden RING_MODE bits a guest may not enable (Platform.ringModeForbidden) */
  constructor(private readonly h: MmioHooks, private readonly forbidden: number) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    v.vreg[idx] = (value & ~maskedEnable(this.forbidden)) >>> 0;
    for (let b = 1; b <= this.forbidden; b <<= 1) {
      if ((this.forbidden & b) && isMaskedEnabled(value, b)) {
        return this.h.enterFailsafe(v, "unsupported_guest", `RING_MODE bit ${b} enabled`);
      }
    }
    const runList = isMaskedEnabled(value, GFX_RUN_LIST_ENABLE);
    if ((runList || isMaskedEnabled(value, GFX_PPGTT_ENABLE)) && !v.pvAware) {
      return this.h.enterFailsafe(
        v,
        "unsupported_guest",
        "guest enabled PPGTT or execlists before reading PVINFO",
      );
    }
    if (runList) {
      v.runList[engineOf(idx)] = 1;
      this.h.startSchedule(v);
    }
  }
}

const CSFE_BIT3 = CSFE_CHICKEN1_FIELDS.bit3.mask, CSFE_BIT4 = CSFE_CHICKEN1_FIELDS.bit4.mask;

/**
 * CSFE_CHICKEN1 (gen9, `csfe_chicken1_mmio_write`): bits 3 and 4 are stripped and enabling
 * either puts the vGPU in failsafe.
 */
export class CsfeChickenHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    v.vreg[idx] = (value & ~maskedEnable(CSFE_BIT3 | CSFE_BIT4)) >>> 0;
    if (isMaskedEnabled(value, CSFE_BIT4) || isMaskedEnabled(value, CSFE_BIT3)) {
      this.h.enterFailsafe(v, "unsupported_guest", "CSFE_CHICKEN1 bit 3 or 4 enabled");
    }
  }
}

/** Forcewake request: masked semantics; the ACK register mirrors the request. */
export class ForcewakeHandler implements MmioHandler {
  /** Creates a ForcewakeHandler.
   * @param pairs the platform's (request, ACK) register pairs */
  constructor(private readonly pairs: readonly (readonly [number, number])[]) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const now = maskedMerge(v.vreg[idx], value);
    v.vreg[idx] = now;
    for (const [req, ack] of this.pairs) if (req >>> 2 === idx) v.vreg[ack >>> 2] = now;
  }
}

/**
 * Fences (`fence_mmio_read/write`, `sanitize_fence_mmio_access`): a vGPU sees only its own
 * count; writes reach its reserved physical fences. An access, read or write, beyond its
 * count reads 0 / is dropped, and before the guest read PVINFO marks an unsupported guest
 * (failsafe).
 */
export class FenceHandler implements MmioHandler {
  constructor(private readonly h: MmioHooks) {}
  private fence(v: Vgpu, idx: number): number {
    const n = ((idx << 2) - FENCE_REG_GEN6_LO) >>> 3;
    if (n < v.res.fences.length) return n;
    v.counters.mmioErrors[MMIO_ERROR_KINDS.indexOf("fence_oob")]++;
    if (!v.pvAware) {
      this.h.enterFailsafe(v, "unsupported_guest", `fence ${n} accessed before PVINFO`);
    }
    return -1;
  }
  read(v: Vgpu, idx: number): number {
    return this.fence(v, idx) < 0 ? 0 : v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    const n = this.fence(v, idx);
    if (n < 0) return;
    v.vreg[idx] = value >>> 0;
    this.h.fenceWritten(v, n, ((idx << 2) - FENCE_REG_GEN6_LO) & 4, value >>> 0);
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
    else for (let e = 0; e < NUM_ENGINES; e++) if (value & ENGINES[e].resetBit) mask |= 1 << e;
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
      this.h.enterFailsafe(v, "insufficient_resource", "guest wrote PVINFO rsv5");
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
    const e = engineOfTlbReg(idx << 2);
    if (e >= 0 && value !== 0) v.tlbPending |= 1 << e;
  }
}

/** gvt/edid.h: AUX request commands and the i2c address of the EDID. */
const AUX_NATIVE_READ = 0x9, AUX_I2C_READ = 0x1, AUX_I2C_MOT = 0x4, EDID_ADDR = 0x50;

/**
 * A DP AUX channel's control register (`dp_aux_ch_ctl_mmio_write`,
 * `intel_gvt_i2c_handle_aux_ch_write`): a write with SEND_BUSY completes the request in the
 * data registers at once. An i2c address-only request to 0x50 selects the virtual
 * monitor's EDID (on the monitor's port only), each one-byte i2c read returns the next
 * EDID byte, a request without MOT ends the transfer. Native (DPCD) reads complete with
 * zero data: the DPCD is not modelled.
 */
export class AuxChHandler implements MmioHandler {
  /** Creates an AuxChHandler.
   * @param monitorCtl control register of the virtual monitor's AUX channel */
  constructor(private readonly monitorCtl: number) {}
  read(v: Vgpu, idx: number): number {
    return v.vreg[idx];
  }
  write(v: Vgpu, idx: number, value: number): void {
    if (!isSet(value, AUX_CTL_FIELDS.sendBusy)) {
      v.vreg[idx] = 0; // clears the sticky status bits
      return;
    }
    const msg = v.vreg[idx + 1];
    const op = getField(msg, AUX_MSG_FIELDS.op);
    const size = getField(value, AUX_CTL_FIELDS.messageSize);
    const read = (op & 1) === AUX_I2C_READ;
    let data = 0;
    if (op === AUX_NATIVE_READ) {
      data = 0;
    } else if (size === 3) {
      const addr = getField(msg, AUX_MSG_FIELDS.address);
      if (!(op & AUX_I2C_MOT) || addr !== EDID_ADDR) v.edidPos = -1;
      else v.edidPos = (idx << 2) === this.monitorCtl ? 0 : -1;
    } else if (read && v.edidPos >= 0 && v.edidPos < v.edid.length) {
      data = fieldValue(AUX_MSG_FIELDS.replyData, v.edid[v.edidPos++]);
    }
    v.vreg[idx] = (AUX_CTL_FIELDS.done.mask |
      fieldValue(AUX_CTL_FIELDS.messageSize, read ? 2 : 1)) >>> 0;
    v.vreg[idx + 1] = data; // reply: ACK (0) in bits 31:24
  }
}
