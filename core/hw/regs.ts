/**
 * Register offsets and bits in BAR0, named after i915_reg.h / gvt. They are derived from the
 * register tables (core/hw/registers/) and the engine table (core/hw/engines.ts), which
 * hold each fact once; per-engine ring registers are `ringReg(engine, RING_*)`.
 * The PVINFO page and the BAR layout live here; the context image is core/hw/context.ts.
 */

import { ENGINES } from "./engines.ts";
import {
  DISPLAY_ROWS,
  DSPCNTR_FIELDS,
  NUM_PIPES,
  PIPE_STRIDE,
  PIPECONF_FIELDS,
} from "./registers/display.ts";
import { FENCE_REG_BASE, FORCEWAKE, GDRST as GDRST_OFFSET, GDRST_FIELDS } from "./registers/gt.ts";
import {
  GEN8_MASTER_IRQ as MASTER_IRQ,
  IRQ_GROUP_TABLE,
  MASTER_IRQ_FIELDS,
} from "./registers/irq.ts";
import {
  CSB_STATUS_FIELDS,
  CTX_DESC_FIELDS,
  MI_MODE_FIELDS,
  RING_CTL_FIELDS,
  RING_MODE_FIELDS,
  RING_ROWS,
} from "./registers/ring.ts";
import { D_SKL_PLUS, onPlatform, type Platform } from "./platform.ts";

/** Offset of a ring register row (from the ring base). */
function ring(name: string): number {
  const r = RING_ROWS.find((x) => x.name === name);
  if (!r) throw new RangeError(`no ring register ${name}`);
  return r.offset;
}

/** Offset of a display register row. */
function display(name: string): number {
  const r = DISPLAY_ROWS.find((x) => x.name === name);
  if (!r) throw new RangeError(`no display register ${name}`);
  return r.offset;
}

/** Engine id of the render engine (RCS0). */
export const RCS = 0;
/** Engine id of the blitter engine (BCS0). */
export const BCS = 1;
/** Engine id of the video engine (VCS0). */
export const VCS = 2;
/** Engine id of the video-enhancement engine (VECS0). */
export const VECS = 3;
/** Number of engines modelled. */
export const NUM_ENGINES: number = ENGINES.length;

/** RING_TAIL (ring base +). */
export const RING_TAIL: number = ring("RING_TAIL");
/** RING_HEAD. */
export const RING_HEAD: number = ring("RING_HEAD");
/** RING_START. */
export const RING_START: number = ring("RING_START");
/** RING_CTL. */
export const RING_CTL: number = ring("RING_CTL");
/** RING_ACTHD (active head: graphics address of the command being executed). */
export const RING_ACTHD: number = ring("ACTHD");
/** RING_ACTHD_UDW. */
export const RING_ACTHD_UDW: number = ring("ACTHD_UDW");
/** RING_HWS_PGA (hardware status page address). */
export const RING_HWS_PGA: number = ring("HWS_PGA");
/** RING_NOPID. */
export const RING_NOPID: number = ring("NOPID");
/** RING_MI_MODE (masked). */
export const RING_MI_MODE: number = ring("MI_MODE");
/** RING_IMR (per-engine interrupt mask). */
export const RING_IMR: number = ring("IMR");
/** RING_INSTPM (masked). */
export const RING_INSTPM: number = ring("INSTPM");
/** RING_BBSTATE. */
export const RING_BBSTATE: number = ring("BBSTATE");
/** RING_BBADDR (current batch address). */
export const RING_BBADDR: number = ring("BBADDR");
/** RING_MODE_GEN7 (masked; GFX_RUN_LIST_ENABLE selects execlists). */
export const RING_MODE: number = ring("RING_MODE_GEN7");
/** RING_ELSP: execlist submit port (four dword writes, the 4th submits). */
export const RING_ELSP: number = ring("ELSP");
/** RING_EXECLIST_STATUS_LO. */
export const RING_EXECLIST_STATUS_LO: number = ring("EXECLIST_STATUS_LO");
/** RING_EXECLIST_STATUS_HI (current context id). */
export const RING_EXECLIST_STATUS_HI: number = ring("EXECLIST_STATUS_HI");
/** RING_TIMESTAMP (low dword). */
export const RING_TIMESTAMP: number = ring("TIMESTAMP");
/** RING_TIMESTAMP_UDW. */
export const RING_TIMESTAMP_UDW: number = ring("TIMESTAMP_UDW");
/** RING_CONTEXT_STATUS_BUF: 6 entries x 2 dwords (status, context id). */
export const RING_CONTEXT_STATUS_BUF: number = ring("CSB");
/** RING_CONTEXT_STATUS_PTR: read pointer bits 10:8, write pointer bits 2:0 (masked). */
export const RING_CONTEXT_STATUS_PTR: number = ring("CONTEXT_STATUS_PTR");
/** RING_CTX_TIMESTAMP. */
export const RING_CTX_TIMESTAMP: number = ring("CTX_TIMESTAMP");
/** CS general purpose registers (CS_GPR(n) = base + 0x600 + 8 n). */
export const RING_GPR0: number = ring("GPR");
/** Register offsets of the PDP registers (GEN8_RING_PDP_LDW(base, n) = base + 0x270 + 8 n). */
export const RING_PDP0_LDW: number = ring("PDP");
/** GEN8_RING_PDP_UDW(base, n) = base + 0x274 + 8 n. */
export const RING_PDP0_UDW: number = ring("PDP") + 4;

/** RING_MODE: GFX_RUN_LIST_ENABLE (bit 15). */
export const GFX_RUN_LIST_ENABLE: number = RING_MODE_FIELDS.runListEnable.mask;
/** RING_MODE: GFX_PPGTT_ENABLE (bit 9). */
export const GFX_PPGTT_ENABLE: number = RING_MODE_FIELDS.ppgttEnable.mask;
/** RING_MI_MODE: STOP_RING (bit 8). */
export const STOP_RING: number = MI_MODE_FIELDS.stopRing.mask;
/** RING_MI_MODE: MODE_IDLE (bit 9, read-only). */
export const MODE_IDLE: number = MI_MODE_FIELDS.modeIdle.mask;
/** RING_CTL: RING_VALID. */
export const RING_VALID: number = RING_CTL_FIELDS.valid.mask;
/** RING_CTL: RING_NR_PAGES field (pages - 1) << 12. */
export const RING_NR_PAGES: number = RING_CTL_FIELDS.pages.mask;

/** CSB status: idle to active. */
export const GEN8_CTX_STATUS_IDLE_ACTIVE: number = CSB_STATUS_FIELDS.idleToActive.mask;
/** CSB status: preempted. */
export const GEN8_CTX_STATUS_PREEMPTED: number = CSB_STATUS_FIELDS.preempted.mask;
/** CSB status: element switch. */
export const GEN8_CTX_STATUS_ELEMENT_SWITCH: number = CSB_STATUS_FIELDS.elementSwitch.mask;
/** CSB status: active to idle. */
export const GEN8_CTX_STATUS_ACTIVE_IDLE: number = CSB_STATUS_FIELDS.activeToIdle.mask;
/** CSB status: complete. */
export const GEN8_CTX_STATUS_COMPLETE: number = CSB_STATUS_FIELDS.complete.mask;
/** CSB status: lite restore. */
export const GEN8_CTX_STATUS_LITE_RESTORE: number = CSB_STATUS_FIELDS.liteRestore.mask;

/** Context descriptor: valid. */
export const GEN8_CTX_VALID: number = CTX_DESC_FIELDS.valid.mask;
/** Context descriptor: force page-directory restore. */
export const GEN8_CTX_FORCE_PD_RESTORE: number = CTX_DESC_FIELDS.forcePdRestore.mask;
/** Context descriptor: force restore. */
export const GEN8_CTX_FORCE_RESTORE: number = CTX_DESC_FIELDS.forceRestore.mask;
/** Context descriptor: addressing-mode field shift (bits 4:3). */
export const GEN8_CTX_ADDRESSING_MODE_SHIFT: number = CTX_DESC_FIELDS.addressingMode.lo;
/** Addressing mode: advanced context. */
export const ADVANCED_CONTEXT = 0;
/** Addressing mode: legacy 32-bit (3-level PPGTT, 4 PDPs). */
export const LEGACY_32B_CONTEXT = 1;
/** Addressing mode: advanced with A/D bits. */
export const ADVANCED_AD_CONTEXT = 2;
/** Addressing mode: legacy 64-bit (4-level PPGTT, PML4). */
export const LEGACY_64B_CONTEXT = 3;
/** Context descriptor: L3LLC coherent (bit 5). */
export const GEN8_CTX_L3LLC_COHERENT: number = CTX_DESC_FIELDS.llcCoherency.mask;
/** Context descriptor: privilege (bit 8). */
export const GEN8_CTX_PRIVILEGE: number = CTX_DESC_FIELDS.privilege.mask;
/** Context id lives in the upper descriptor dword (GEN8_CTX_ID_SHIFT 32). */
export const GEN8_CTX_ID_SHIFT = 32;

/** GDRST: graphics reset control. */
export const GDRST: number = GDRST_OFFSET;
/** GDRST: full GT reset. */
export const GEN6_GRDOM_FULL: number = GDRST_FIELDS.full.mask;
/** GDRST: render reset. */
export const GEN6_GRDOM_RENDER: number = GDRST_FIELDS.render.mask;
/** GDRST: media (VCS) reset. */
export const GEN6_GRDOM_MEDIA: number = GDRST_FIELDS.media.mask;
/** GDRST: blitter reset. */
export const GEN6_GRDOM_BLT: number = GDRST_FIELDS.blt.mask;
/** GDRST: video enhancement reset. */
export const GEN6_GRDOM_VECS: number = GDRST_FIELDS.vecs.mask;

const GEN9_FW = FORCEWAKE.filter((p) => p.exists === D_SKL_PLUS);
/** Forcewake request, render domain (gen9, masked). */
export const FORCEWAKE_RENDER_GEN9: number = GEN9_FW[0].req;
/** Forcewake request, blitter/GT domain (gen9, masked; FORCEWAKE_MT on gen8). */
export const FORCEWAKE_BLITTER_GEN9: number = GEN9_FW[1].req;
/** Forcewake request, media domain (gen9, masked). */
export const FORCEWAKE_MEDIA_GEN9: number = GEN9_FW[2].req;
/** Forcewake ACK, render. */
export const FORCEWAKE_ACK_RENDER_GEN9: number = GEN9_FW[0].ack;
/** Forcewake ACK, blitter/GT (FORCEWAKE_ACK_HSW). */
export const FORCEWAKE_ACK_BLITTER_GEN9: number = GEN9_FW[1].ack;
/** Forcewake ACK, media. */
export const FORCEWAKE_ACK_MEDIA_GEN9: number = GEN9_FW[2].ack;
/**
 * The forcewake (request, ACK) pairs a driver takes on `p`: the three gen9 domains, or
 * gen8's one FORCEWAKE_MT (i915 intel_uncore.c `intel_uncore_fw_domains_init`).
 */
export function forcewakePairs(p: Platform): readonly (readonly [number, number])[] {
  return FORCEWAKE.filter((f) => onPlatform(f.exists, p)).map((f) => [f.req, f.ack] as const);
}

/** FENCE_REG_GEN6_LO(i) = 0x100000 + 8 i; HI at +4. */
export const FENCE_REG_GEN6_LO: number = FENCE_REG_BASE;
/** FENCE_REG_GEN6_HI(0). */
export const FENCE_REG_GEN6_HI: number = FENCE_REG_BASE + 4;

/** GEN8_MASTER_IRQ. */
export const GEN8_MASTER_IRQ: number = MASTER_IRQ;
/** Master: enable bit. */
export const GEN8_MASTER_IRQ_CONTROL: number = MASTER_IRQ_FIELDS.control.mask;
/** Master summary bit: render (GT0 low half). */
export const GEN8_GT_RCS_IRQ: number = IRQ_GROUP_TABLE[0].summaryLo;
/** Master summary bit: blitter (GT0 high half). */
export const GEN8_GT_BCS_IRQ: number = IRQ_GROUP_TABLE[0].summaryHi;
/** Master summary bit: VCS1 (GT1 low half). */
export const GEN8_GT_VCS1_IRQ: number = IRQ_GROUP_TABLE[1].summaryLo;
/** Master summary bit: VCS2 (GT1 high half). */
export const GEN8_GT_VCS2_IRQ: number = IRQ_GROUP_TABLE[1].summaryHi;
/** Master summary bit: PM (GT2). */
export const GEN8_GT_PM_IRQ: number = IRQ_GROUP_TABLE[2].summaryLo;
/** Master summary bit: VECS (GT3). */
export const GEN8_GT_VECS_IRQ: number = IRQ_GROUP_TABLE[3].summaryLo;
/** Master summary bit: display pipe A. */
export const GEN8_DE_PIPE_A_IRQ: number = IRQ_GROUP_TABLE[4].summaryLo;
/** Master summary bit: display pipe B. */
export const GEN8_DE_PIPE_B_IRQ: number = IRQ_GROUP_TABLE[5].summaryLo;
/** Master summary bit: display pipe C. */
export const GEN8_DE_PIPE_C_IRQ: number = IRQ_GROUP_TABLE[6].summaryLo;
/** Master summary bit: DE port. */
export const GEN8_DE_PORT_IRQ: number = IRQ_GROUP_TABLE[7].summaryLo;
/** Master summary bit: DE misc. */
export const GEN8_DE_MISC_IRQ: number = IRQ_GROUP_TABLE[8].summaryLo;
/** Master summary bit: PCU. */
export const GEN8_PCU_IRQ: number = IRQ_GROUP_TABLE[9].summaryLo;
/** Master summary bit: PCH (south display). */
export const GEN8_DE_PCH_IRQ: number = IRQ_GROUP_TABLE[10].summaryLo;

/** GEN8_GT_ISR(n) = 0x44300 + 0x10 n; IMR +4, IIR +8, IER +0xc. */
export const GEN8_GT_ISR0: number = IRQ_GROUP_TABLE[0].base;
/** GEN8_DE_PIPE_ISR(pipe) = 0x44400 + 0x10 pipe. */
export const GEN8_DE_PIPE_ISR0: number = IRQ_GROUP_TABLE[4].base;
/** GEN8_DE_PORT_ISR. */
export const GEN8_DE_PORT_ISR: number = IRQ_GROUP_TABLE[7].base;
/** GEN8_DE_MISC_ISR. */
export const GEN8_DE_MISC_ISR: number = IRQ_GROUP_TABLE[8].base;
/** GEN8_PCU_ISR. */
export const GEN8_PCU_ISR: number = IRQ_GROUP_TABLE[9].base;
/** SDEISR (PCH). */
export const SDEISR: number = IRQ_GROUP_TABLE[10].base;
export { IRQ_IER, IRQ_IIR, IRQ_IMR, IRQ_ISR } from "./registers/irq.ts";

/** Interrupt group ids (index into the interrupt unit). */
export const IRQ_GT0 = 0, IRQ_GT1 = 1, IRQ_GT2 = 2, IRQ_GT3 = 3;
/** Display pipe group ids. */
export const IRQ_PIPE_A = 4, IRQ_PIPE_B = 5, IRQ_PIPE_C = 6;
/** Other group ids. */
export const IRQ_DE_PORT = 7, IRQ_DE_MISC = 8, IRQ_PCU = 9, IRQ_PCH = 10;
/** Number of interrupt groups. */
export const IRQ_GROUPS: number = IRQ_GROUP_TABLE.length;
/** ISR base of each group, indexed by group id. */
export const IRQ_GROUP_BASE: readonly number[] = IRQ_GROUP_TABLE.map((g) => g.base);
/** Group names (for reports). */
export const IRQ_GROUP_NAMES: readonly string[] = IRQ_GROUP_TABLE.map((g) => g.name);

/** GT interrupt bits (in an engine's 16-bit half): MI_USER_INTERRUPT. */
export const GT_RENDER_USER_INTERRUPT = 1 << 0;
/** GT: CS master error (engine hang / command fault). */
export const GT_CS_MASTER_ERROR_INTERRUPT = 1 << 3;
/** GT: PIPE_CONTROL / MI_FLUSH_DW notify. */
export const GT_RENDER_PIPECTL_NOTIFY_INTERRUPT = 1 << 4;
/** GT: context switch (CSB written). */
export const GT_CONTEXT_SWITCH_INTERRUPT = 1 << 8;

/** Pipe group: vblank (GEN8_PIPE_VBLANK). */
export const GEN8_PIPE_VBLANK = 1 << 0;
/** Pipe group: primary plane flip done (GEN9_PIPE_PLANE1_FLIP_DONE). */
export const GEN9_PIPE_PLANE1_FLIP_DONE = 1 << 3;

export { NUM_PIPES, PIPE_STRIDE };
/** PIPECONF / TRANSCONF(pipe) = 0x70008 + 0x1000 pipe. */
export const PIPECONF_A: number = display("PIPEACONF");
/** PIPECONF enable (bit 31). */
export const PIPECONF_ENABLE: number = PIPECONF_FIELDS.enable.mask;
/** PIPECONF state (bit 30, read-only: pipe running). */
export const PIPECONF_STATE_ENABLE: number = PIPECONF_FIELDS.state.mask;
/** Pipe frame counter PIPE_FRMCOUNT_G4X(pipe) = 0x70040 + 0x1000 pipe. */
export const PIPE_FRMCOUNT_A: number = display("PIPEA_FRMCOUNT");
/** Plane flip counter PIPE_FLIPCOUNT_G4X(pipe) = 0x70044 + 0x1000 pipe. */
export const PIPE_FLIPCOUNT_A: number = display("PIPEA_FLIPCOUNT");
/** Primary plane control DSPCNTR(pipe) = 0x70180 + 0x1000 pipe. */
export const DSPCNTR_A: number = display("DSPACNTR");
/** DSPCNTR: the plane is enabled (DISP_ENABLE). */
export const DISPLAY_PLANE_ENABLE: number = DSPCNTR_FIELDS.enable.mask;
/** Primary plane stride DSPSTRIDE(pipe). */
export const DSPSTRIDE_A: number = display("DSPASTRIDE");
/** Primary plane surface DSPSURF(pipe) = 0x7019c + 0x1000 pipe (write arms a flip). */
export const DSPSURF_A: number = display("DSPASURF");
/** Primary plane live surface DSPSURFLIVE(pipe) = 0x701ac + 0x1000 pipe (read-only). */
export const DSPSURFLIVE_A: number = display("DSPASURFLIVE");

/** PVINFO page base (VGT_PVINFO_PAGE). */
export const VGT_PVINFO_PAGE = 0x78000;
/** PVINFO size. */
export const VGT_PVINFO_SIZE = 0x1000;
/** PVINFO field offsets (relative to {@link VGT_PVINFO_PAGE}). */
export const PVINFO = {
  /** 64-bit magic "vGTvGTvG". */
  magic: 0x00,
  /** u16 version major (1). */
  versionMajor: 0x08,
  /** u16 version minor (0). */
  versionMinor: 0x0a,
  /** vGPU id. */
  vgtId: 0x0c,
  /** Capability bits. */
  vgtCaps: 0x10,
  /** Aperture slice base. */
  apertureBase: 0x40,
  /** Aperture slice size. */
  apertureSize: 0x44,
  /** Hidden slice base. */
  hiddenBase: 0x48,
  /** Hidden slice size. */
  hiddenSize: 0x4c,
  /** Fence count. */
  fenceNum: 0x50,
  /** Display ready. */
  displayReady: 0x804,
  /** rsv5[4]: a guest write means "insufficient resources". */
  rsv5: 0x808,
  /** g2v notification register. */
  g2vNotify: 0x818,
  /** Cursor hot spot x. */
  cursorXHot: 0x830,
  /** Cursor hot spot y. */
  cursorYHot: 0x834,
  /** pdp[4] (8 bytes each) 0x838..0x857. */
  pdp: 0x838,
  /** Execlist context descriptor low. */
  execlistContextDescriptorLo: 0x858,
  /** Execlist context descriptor high. */
  execlistContextDescriptorHi: 0x85c,
} as const;
/** PVINFO magic as two dwords (low, high): 0x4776544776544776. */
export const VGT_MAGIC_LO = 0x76544776;
/** High dword of the PVINFO magic. */
export const VGT_MAGIC_HI = 0x47765447;
/** vgt_caps: full PPGTT. */
export const VGT_CAPS_FULL_PPGTT = 1 << 2;
/** vgt_caps: HWSP emulation. */
export const VGT_CAPS_HWSP_EMULATION = 1 << 3;
/** vgt_caps: huge GTT. */
export const VGT_CAPS_HUGE_GTT = 1 << 4;
/** g2v notifications. */
export const VGT_G2V_PPGTT_L3_PAGE_TABLE_CREATE = 2;
/** g2v: PPGTT L3 destroy. */
export const VGT_G2V_PPGTT_L3_PAGE_TABLE_DESTROY = 3;
/** g2v: PPGTT L4 create. */
export const VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE = 4;
/** g2v: PPGTT L4 destroy. */
export const VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY = 5;
/** g2v: execlist context create. */
export const VGT_G2V_EXECLIST_CONTEXT_CREATE = 6;
/** g2v: execlist context destroy. */
export const VGT_G2V_EXECLIST_CONTEXT_DESTROY = 7;

/** BAR0 register space size (2 MiB). */
export const MMIO_SIZE = 0x200000;
/** Offset of the GTT window in BAR0 (8 MiB). */
export const GTT_OFFSET = 0x800000;
/** End of BAR0 (16 MiB). */
export const BAR0_SIZE = 0x1000000;

/** The CS general purpose register CS_GPR(n) of an engine. */
export function csGpr(engine: number, n: number): number {
  return ENGINES[engine].mmioBase + RING_GPR0 + 8 * n;
}

/** Absolute offset of a ring register of an engine. */
export function ringReg(engine: number, reg: number): number {
  return ENGINES[engine].mmioBase + reg;
}
