/**
 * The engine MMIO context switch (i915 gvt/mmio_context.c): when an engine passes from one
 * vGPU (or the host) to another, the mediator saves the outgoing owner's values of a
 * per-engine register list and restores the incoming one's, and on gen9 switches the
 * engine's MOCS table. The lists are upstream's `gen8_engine_mmio_list` (Broadwell) and
 * `gen9_engine_mmio_list` (Skylake, Kaby Lake, Coffee Lake), each entry with its engine,
 * masked-write mask and whether it is saved in the context image (`in_context`).
 *
 * `switch_mmio`: on gen9 the registers saved in the context image are skipped (the context
 * restore loads them); on gen8 they are saved, and restored only for a restore-inhibit
 * context (never, for the guests gvtsim models). `switch_mocs` (gen9 only, render excepted:
 * its MOCS are in the context) writes each of the engine's 64 MOCS entries whose values
 * differ between the two owners. gvtsim counts these hardware accesses for the cost model
 * (DispatchCosts.regAccessNs); it does not copy the values (docs/fidelity.md).
 */

import { inEngineContext } from "../hw/context.ts";
import { ENGINES } from "../hw/engines.ts";
import type { Platform } from "../hw/platform.ts";
import { BCS, RCS, VECS } from "../hw/regs.ts";

/** One switched register (`struct engine_mmio`). */
export interface EngineMmio {
  /** Engine id. */
  readonly engine: number;
  /** i915 name. */
  readonly name: string;
  /** BAR0 offset. */
  readonly offset: number;
  /** Masked-write mask (0xffff for masked registers). */
  readonly mask: number;
  /** Saved in the context image (`in_context`). */
  readonly inContext: boolean;
}

type Row = [engine: number, name: string, offset: number, mask: number];

const NONPRIV: Row[] = Array.from(
  { length: 12 },
  (_, i): Row => [RCS, `RING_FORCE_TO_NONPRIV(${i})`, 0x24d0 + 4 * i, 0],
);

/** The rows both lists begin with (render), then the blitter's. */
const COMMON_RCS: Row[] = [
  [RCS, "GFX_MODE_GEN7", 0x229c, 0xffff],
  [RCS, "GEN9_CTX_PREEMPT_REG", 0x2248, 0],
  [RCS, "HWSTAM", 0x2098, 0],
  [RCS, "INSTPM", 0x20c0, 0xffff],
  ...NONPRIV,
  [RCS, "CACHE_MODE_1", 0x7004, 0xffff],
  [RCS, "GEN7_GT_MODE", 0x7008, 0xffff],
  [RCS, "CACHE_MODE_0_GEN7", 0x7000, 0xffff],
  [RCS, "GEN7_COMMON_SLICE_CHICKEN1", 0x7010, 0xffff],
  [RCS, "HDC_CHICKEN0", 0x7300, 0xffff],
  [RCS, "VF_GUARDBAND", 0x83a4, 0xffff],
];
const BLITTER: Row[] = [
  [BCS, "RING_GFX_MODE(BLT)", 0x2229c, 0xffff],
  [BCS, "RING_MI_MODE(BLT)", 0x2209c, 0xffff],
  [BCS, "RING_INSTPM(BLT)", 0x220c0, 0xffff],
  [BCS, "RING_HWSTAM(BLT)", 0x22098, 0],
  [BCS, "RING_EXCC(BLT)", 0x22028, 0],
];

/** The entries of rows `r` on graphics version `gen`: `in_context` is whether that version's
 * default context image loads the register (core/hw/context.ts ENGINE_CONTEXT_REGS). */
const rows = (gen: 8 | 9, r: Row[]): EngineMmio[] =>
  r.map(([engine, name, offset, mask]) => ({
    engine,
    name,
    offset,
    mask,
    inContext: inEngineContext(gen, engine, offset),
  }));

/** `gen8_engine_mmio_list`. */
export const GEN8_ENGINE_MMIO: readonly EngineMmio[] = rows(8, [...COMMON_RCS, ...BLITTER]);

/** `gen9_engine_mmio_list` (VCS1's entry left out: VCS1 is not modelled). */
export const GEN9_ENGINE_MMIO: readonly EngineMmio[] = rows(9, [
  ...COMMON_RCS,
  [RCS, "GEN8_PRIVATE_PAT_LO", 0x40e0, 0],
  [RCS, "GEN8_PRIVATE_PAT_HI", 0x40e4, 0],
  [RCS, "GEN8_CS_CHICKEN1", 0x2580, 0xffff],
  [RCS, "COMMON_SLICE_CHICKEN2", 0x7014, 0xffff],
  [RCS, "GEN9_CS_DEBUG_MODE1", 0x20ec, 0xffff],
  [RCS, "GEN8_L3SQCREG4", 0xb118, 0],
  [RCS, "GEN9_SCRATCH1", 0xb11c, 0],
  [RCS, "GEN9_SCRATCH_LNCF1", 0xb008, 0],
  [RCS, "GEN7_HALF_SLICE_CHICKEN1", 0xe100, 0xffff],
  [RCS, "HALF_SLICE_CHICKEN2", 0xe180, 0xffff],
  [RCS, "HALF_SLICE_CHICKEN3", 0xe184, 0xffff],
  [RCS, "GEN9_HALF_SLICE_CHICKEN5", 0xe188, 0xffff],
  [RCS, "GEN9_HALF_SLICE_CHICKEN7", 0xe194, 0xffff],
  [RCS, "GEN8_ROW_CHICKEN", 0xe4f0, 0xffff],
  [RCS, "TRVATTL3PTRDW(0)", 0x4de0, 0],
  [RCS, "TRVATTL3PTRDW(1)", 0x4de4, 0],
  [RCS, "TRNULLDETCT", 0x4de8, 0],
  [RCS, "TRINVTILEDETCT", 0x4dec, 0],
  [RCS, "TRVADR", 0x4df0, 0],
  [RCS, "TRTTE", 0x4df4, 0],
  ...BLITTER,
  [VECS, "RING_EXCC(VEBOX)", 0x1a028, 0xffff],
  [RCS, "GEN8_HDC_CHICKEN1", 0x7304, 0xffff],
  [RCS, "GEN9_CTX_PREEMPT_REG", 0x2248, 0],
  [RCS, "GEN7_UCGCTL4", 0x940c, 0],
  [RCS, "GAMT_CHKN_BIT_REG", 0x4ab8, 0],
  [RCS, "GEN9_GAMT_ECO_REG_RW_IA", 0x4ab0, 0],
  [RCS, "GEN9_CSFE_CHICKEN1_RCS", 0x20d4, 0],
  [RCS, "GEN8_GARBCNTL", 0xb004, 0],
  [RCS, "GEN7_FF_THREAD_MODE", 0x20a0, 0],
  [RCS, "FF_SLICE_CS_CHICKEN2", 0x20e4, 0xffff],
]);

/** The list a platform switches (`intel_gvt_init_engine_mmio_context`). */
export function engineMmioList(p: Platform): readonly EngineMmio[] {
  return p.gen >= 9 ? GEN9_ENGINE_MMIO : GEN8_ENGINE_MMIO;
}

/** MOCS entries per engine (GEN9_MOCS_SIZE). */
export const GEN9_MOCS_SIZE = 64;

/** Hardware register accesses of one engine switch. */
export interface SwitchWork {
  /** Register reads (saving the outgoing owner's values). */
  reads: number;
  /** Register writes (restoring the incoming owner's values, MOCS entries that differ). */
  writes: number;
}

/**
 * The accesses of switching `engine` from the owner whose registers are `pre` to `next`
 * (a vGPU's vreg, or null for the host, whose values are `host`): `switch_mmio` and
 * `switch_mocs`. `out` is filled and returned (no allocation).
 */
export function switchWork(
  p: Platform,
  engine: number,
  pre: Uint32Array | null,
  next: Uint32Array | null,
  host: Uint32Array,
  out: SwitchWork,
): SwitchWork {
  out.reads = 0;
  out.writes = 0;
  const gen9 = p.gen >= 9;
  for (const m of engineMmioList(p)) {
    if (m.engine !== engine || (gen9 && m.inContext)) continue;
    out.reads++; // save (or read the host's value)
    if (!m.inContext) out.writes++; // restore (in-context ones only for inhibit contexts)
  }
  if (gen9 && engine !== RCS) {
    const base = ENGINES[engine].mocsBase >>> 2;
    const old = pre ?? host, now = next ?? host;
    for (let i = 0; i < GEN9_MOCS_SIZE; i++) if (old[base + i] !== now[base + i]) out.writes++;
  }
  return out;
}
