/**
 * The engine table: one row per engine with every fact about it, the way i915 keeps them
 * in one place (`intel_engines[]`). Everything else (register offsets per engine, interrupt
 * bits, reset bits, context sizes, TLB invalidation) is derived from these rows.
 *
 * Sources (Linux drivers/gpu/drm/i915/):
 * - mmio base: gt/intel_engine_cs.c `intel_engines[]` (RENDER_RING_BASE, BLT_RING_BASE,
 *   GEN6_BSD_RING_BASE, VEBOX_RING_BASE);
 * - interrupt group and shift: gt/intel_gt_irq.c `gen8_gt_irq_handler` (GEN8_RCS_IRQ_SHIFT 0
 *   and GEN8_BCS_IRQ_SHIFT 16 in GT0, GEN8_VCS0_IRQ_SHIFT 0 in GT1, GEN8_VECS_IRQ_SHIFT 0 in
 *   GT3);
 * - reset bit: gt/intel_reset.c `gen6_reset_engines` (`hw_engine_mask[]`: GEN6_GRDOM_*);
 * - context size: gt/intel_engine_cs.c `intel_engine_context_size` (GEN8_LR_CONTEXT_RENDER_SIZE
 *   20 pages, GEN9_LR_CONTEXT_RENDER_SIZE 22 pages, GEN8_LR_CONTEXT_OTHER_SIZE 2 pages, the
 *   per-process HWSP page included);
 * - TLB invalidation register: gvt/mmio_context.c `handle_tlb_pending_event` (0x4260...);
 * - MOCS table base: gvt/mmio_context.c `switch_mocs` (`regs[]`: 0xc800...);
 * - forcewake domain: intel_uncore.c `intel_uncore_fw_domains_init` (gen9 render / blitter /
 *   media; gen8 one domain behind FORCEWAKE_MT).
 *
 * gvtsim models the four engines of a GT2 part; VCS1 (GEN8_BSD2_RING_BASE 0x1c000, GT3 and
 * GT4 parts) is not modelled (docs/fidelity.md).
 */

import type { EngineName } from "../scenario.ts";
import { pageOffset } from "./memory.ts";

/** Forcewake domains of gen9 (`FW_DOMAIN_ID_*`); gen8 has only the render one. */
export type ForcewakeDomain = "render" | "blitter" | "media";

/** One engine. */
export interface EngineInfo {
  /** Engine id (index into every per-engine array). */
  readonly id: number;
  /** Lower-case name as the DSL writes it. */
  readonly name: EngineName;
  /** i915 name ("RCS0" ...). */
  readonly i915: string;
  /** Short upper-case prefix of register names ("RCS"). */
  readonly prefix: string;
  /** MMIO base of its ring registers. */
  readonly mmioBase: number;
  /** Interrupt group (GEN8_GT_IIR(n)). */
  readonly irqGroup: number;
  /** Bit shift of its 16-bit half inside the group. */
  readonly irqShift: number;
  /** Summary bit of its group half in GEN8_MASTER_IRQ. */
  readonly masterBit: number;
  /** GDRST bit resetting it. */
  readonly resetBit: number;
  /** Logical ring context size in pages (per-process HWSP included), by graphics version. */
  readonly contextPages: { readonly 8: number; readonly 9: number };
  /** TLB invalidation register the mediator writes at a switch. */
  readonly tlbInvReg: number;
  /** First register of its MOCS table (64 entries). */
  readonly mocsBase: number;
  /** Forcewake domain on gen9. */
  readonly forcewake: ForcewakeDomain;
}

/** The engines, in i915 id order (RCS0, BCS0, VCS0, VECS0). */
export const ENGINES: readonly EngineInfo[] = [
  {
    id: 0,
    name: "rcs",
    i915: "RCS0",
    prefix: "RCS",
    mmioBase: 0x2000,
    irqGroup: 0,
    irqShift: 0,
    masterBit: 1 << 0,
    resetBit: 1 << 1,
    contextPages: { 8: 20, 9: 22 },
    tlbInvReg: 0x4260,
    mocsBase: 0xc800,
    forcewake: "render",
  },
  {
    id: 1,
    name: "bcs",
    i915: "BCS0",
    prefix: "BCS",
    mmioBase: 0x22000,
    irqGroup: 0,
    irqShift: 16,
    masterBit: 1 << 1,
    resetBit: 1 << 3,
    contextPages: { 8: 2, 9: 2 },
    tlbInvReg: 0x426c,
    mocsBase: 0xcc00,
    forcewake: "blitter",
  },
  {
    id: 2,
    name: "vcs",
    i915: "VCS0",
    prefix: "VCS",
    mmioBase: 0x12000,
    irqGroup: 1,
    irqShift: 0,
    masterBit: 1 << 2,
    resetBit: 1 << 2,
    contextPages: { 8: 2, 9: 2 },
    tlbInvReg: 0x4264,
    mocsBase: 0xc900,
    forcewake: "media",
  },
  {
    id: 3,
    name: "vecs",
    i915: "VECS0",
    prefix: "VECS",
    mmioBase: 0x1a000,
    irqGroup: 3,
    irqShift: 0,
    masterBit: 1 << 6,
    resetBit: 1 << 4,
    contextPages: { 8: 2, 9: 2 },
    tlbInvReg: 0x4270,
    mocsBase: 0xcb00,
    forcewake: "media",
  },
];

/** Number of engines modelled. */
export const NUM_ENGINES = ENGINES.length;

/** Engine id of a DSL engine name, or -1. */
export function engineIdOf(name: string): number {
  return ENGINES.findIndex((e) => e.name === name);
}

/**
 * The engine whose 4 KiB ring register page holds `offset`, or -1
 * (gvt/handlers.c `intel_gvt_render_mmio_to_engine`).
 */
export function engineOfOffset(offset: number): number {
  const page = offset - pageOffset(offset);
  for (const e of ENGINES) if (e.mmioBase === page) return e.id;
  return -1;
}

/** Interrupt bits `bits` (GT_* of one engine) in place in engine `e`'s group register. */
export function engineIrqMask(e: number, bits: number): number {
  return (bits << ENGINES[e].irqShift) >>> 0;
}

/** Engine `e`'s 16 interrupt bits out of its group register's value `v`. */
export function engineIrqBits(e: number, v: number): number {
  return (v >>> ENGINES[e].irqShift) & 0xffff;
}

/** The engine whose TLB invalidation register is at `offset`, or -1. */
export function engineOfTlbReg(offset: number): number {
  for (let e = 0; e < ENGINES.length; e++) if (ENGINES[e].tlbInvReg === offset) return e;
  return -1;
}
