/**
 * Render and GT configuration registers outside the ring pages: the rows whose only
 * interest to the model is that GPU commands may write them (the command scanner's
 * whitelist, F_CMD_ACCESS) and where they exist. Together with the `cmd` rows of the ring
 * table this is, dword for dword, the F_CMD_ACCESS set of gvt/handlers.c: 203 dwords on
 * Broadwell, 757 on Skylake, 758 on Kaby Lake and Coffee Lake (510 of them MOCS).
 *
 * Sources (Linux drivers/gpu/drm/i915/gvt/handlers.c): `init_generic_mmio_info` (D_ALL
 * and D_BDW_PLUS rows), `init_bdw_mmio_info` (registered on every platform here; D_BDW rows
 * only on Broadwell), `init_skl_mmio_info` (registered on gen9 only, whatever its D_* says).
 * Offsets of named registers: i915_reg.h / gt/intel_gt_regs.h. Registers upstream leaves
 * anonymous (`_MMIO(0x2124)`) keep their offset as name. Not modelled: the registers
 * upstream adds at run time by scanning each engine's default context image
 * (cmd_parser.c `intel_gvt_update_reg_whitelist`), docs/fidelity.md.
 */

import { D_ALL, D_BDW, D_CFL, D_KBL, D_SKL_PLUS } from "../platform.ts";
import type { RegRow } from "./row.ts";

const GEN9 = D_SKL_PLUS;

/** A command-accessible register: `MMIO_DFH(reg, exists, F_CMD_ACCESS)`. */
function cmd(name: string, offset: number, exists = D_ALL, count = 1): RegRow {
  // Two dwords are a 64-bit register: NAME and NAME_UDW.
  const nameOf = count === 2 ? (i: number) => i ? `${name}_UDW` : name : undefined;
  return { name, offset, count, exists, cmd: exists, nameOf };
}

/** A command-accessible masked register: `F_MODE_MASK | F_CMD_ACCESS`. */
function cmdMasked(name: string, offset: number, exists = D_ALL): RegRow {
  return { name, offset, access: "masked", exists, cmd: exists };
}

/** Rows of init_skl_mmio_info exist on gen9 only. */
function skl(r: RegRow): RegRow {
  return { ...r, exists: (r.exists ?? D_ALL) & GEN9, cmd: (r.cmd ?? 0) & GEN9 };
}

/** The render / GT configuration rows. */
export const RENDER_ROWS: readonly RegRow[] = [
  // init_generic_mmio_info
  { name: "BSD_HWS_PGA_GEN7", offset: 0x4180, gmadr: true, cmd: D_ALL },
  { name: "BLT_HWS_PGA_GEN7", offset: 0x4280, gmadr: true, cmd: D_ALL },
  { name: "VEBOX_HWS_PGA_GEN7", offset: 0x4380, gmadr: true, cmd: D_ALL },
  { name: "0x2148", offset: 0x2148, gmadr: true, cmd: D_ALL },
  { name: "CCID", offset: 0x2180, gmadr: true, cmd: D_ALL },
  { name: "0x12198", offset: 0x12198, gmadr: true, cmd: D_ALL },
  cmdMasked("GEN7_GT_MODE", 0x7008),
  cmdMasked("CACHE_MODE_0_GEN7", 0x7000),
  cmdMasked("CACHE_MODE_1", 0x7004),
  cmdMasked("CACHE_MODE_0", 0x2120),
  cmdMasked("0x2124", 0x2124),
  cmdMasked("0x20dc", 0x20dc),
  cmdMasked("_3D_CHICKEN3", 0x2090),
  cmdMasked("0x2088", 0x2088),
  cmdMasked("FF_SLICE_CS_CHICKEN2", 0x20e4),
  cmdMasked("0x2470", 0x2470),
  cmd("GAM_ECOCHK", 0x4090),
  cmdMasked("GEN7_COMMON_SLICE_CHICKEN1", 0x7010),
  cmdMasked("COMMON_SLICE_CHICKEN2", 0x7014),
  cmd("0x9030", 0x9030),
  cmd("GEN7_FF_THREAD_MODE", 0x20a0),
  cmd("GEN7_3DPRIM_END_OFFSET", 0x2420),
  cmd("GEN7_3DPRIM_START_VERTEX", 0x2430),
  cmd("GEN7_3DPRIM_VERTEX_COUNT", 0x2434),
  cmd("GEN7_3DPRIM_INSTANCE_COUNT", 0x2438),
  cmd("GEN7_3DPRIM_START_INSTANCE", 0x243c),
  cmdMasked("0x7018", 0x7018),
  cmdMasked("HSW_HALF_SLICE_CHICKEN3", 0xe184),
  cmdMasked("GEN7_HALF_SLICE_CHICKEN1", 0xe100),
  cmd("GTFIFODBG", 0x120000),
  cmd("GTFIFOCTL", 0x120008),
  cmd("GEN7_UCGCTL4", 0x940c),
  cmd("0x215c", 0x215c),
  cmd("0x2178", 0x2178),
  cmd("0x217c", 0x217c),
  cmd("0x12178", 0x12178),
  cmd("0x1217c", 0x1217c),
  cmd("0x2290", 0x2290, D_ALL, 2),
  cmd("GEN7_SO_NUM_PRIMS_WRITTEN", 0x5200, D_ALL, 8),
  cmd("GEN7_SO_PRIM_STORAGE_NEEDED", 0x5240, D_ALL, 8),
  cmd("GEN7_SO_WRITE_OFFSET", 0x5280, D_ALL, 4),
  cmd("0x1c17c", 0x1c17c),
  cmd("0x1c178", 0x1c178),
  cmd("BCS_SWCTRL", 0x22200),
  cmd("HS_INVOCATION_COUNT", 0x2300, D_ALL, 2),
  cmd("DS_INVOCATION_COUNT", 0x2308, D_ALL, 2),
  cmd("IA_VERTICES_COUNT", 0x2310, D_ALL, 2),
  cmd("IA_PRIMITIVES_COUNT", 0x2318, D_ALL, 2),
  cmd("VS_INVOCATION_COUNT", 0x2320, D_ALL, 2),
  cmd("GS_INVOCATION_COUNT", 0x2328, D_ALL, 2),
  cmd("GS_PRIMITIVES_COUNT", 0x2330, D_ALL, 2),
  cmd("CL_INVOCATION_COUNT", 0x2338, D_ALL, 2),
  cmd("CL_PRIMITIVES_COUNT", 0x2340, D_ALL, 2),
  cmd("PS_INVOCATION_COUNT", 0x2348, D_ALL, 2),
  cmd("PS_DEPTH_COUNT", 0x2350, D_ALL, 2),
  cmd("0x4094", 0x4094),
  cmdMasked("ARB_MODE", 0x4030),
  cmd("0x2220", 0x2220),
  cmd("0x12220", 0x12220),
  cmd("0x22220", 0x22220),
  cmd("0x22178", 0x22178),
  cmd("0x1a178", 0x1a178),
  cmd("0x1a17c", 0x1a17c),
  cmd("0x2217c", 0x2217c),
  // init_bdw_mmio_info
  cmdMasked("HDC_CHICKEN0", 0x7300),
  cmdMasked("GEN8_ROW_CHICKEN", 0xe4f0),
  cmdMasked("GEN7_ROW_CHICKEN2", 0xe4f4),
  cmd("GEN8_UCGCTL6", 0x9430),
  cmd("0xb1f0", 0xb1f0, D_BDW),
  cmd("0xb1c0", 0xb1c0, D_BDW),
  cmd("GEN8_L3SQCREG4", 0xb118),
  cmd("GEN8_L3SQCREG1", 0xb100, D_BDW),
  cmd("0xb10c", 0xb10c, D_BDW),
  cmd("RING_FORCE_TO_NONPRIV", 0x24d0, D_ALL, 12),
  cmd("VF_GUARDBAND", 0x83a4, D_BDW),
  cmd("0x8430", 0x8430, D_BDW),
  cmdMasked("GEN9_HALF_SLICE_CHICKEN7", 0xe194),
  cmdMasked("GEN9_HALF_SLICE_CHICKEN5", 0xe188),
  cmdMasked("HALF_SLICE_CHICKEN2", 0xe180),
  cmdMasked("GEN8_CS_CHICKEN1", 0x2580),
  cmd("GEN9_CTX_PREEMPT_REG", 0x2248, D_BDW),
  cmd("0xe220", 0xe220),
  cmd("0xe230", 0xe230),
  cmd("0xe240", 0xe240),
  cmd("0xe260", 0xe260),
  cmd("0xe270", 0xe270),
  cmd("0xe280", 0xe280),
  cmd("0xe2a0", 0xe2a0),
  cmd("0xe2b0", 0xe2b0),
  cmd("0xe2c0", 0xe2c0),
  cmd("0x21f0", 0x21f0),
  // init_skl_mmio_info
  skl(cmd("GEN9_GAMT_ECO_REG_RW_IA", 0x4ab0)),
  skl(cmd("MMCD_MISC_CTRL", 0x4ddc)),
  skl(cmd("BDW_SCRATCH1", 0xb11c)),
  skl(cmd("GEN9_GFX_MOCS", 0xc800, D_ALL, 0x7f8 / 4)),
  skl(cmd("GEN7_L3CNTLREG2", 0xb020, D_ALL, 0x80 / 4)),
  skl(cmdMasked("GEN7_FF_SLICE_CS_CHICKEN1", 0x20e0)),
  skl(cmdMasked("GEN9_CS_DEBUG_MODE1", 0x20ec)),
  skl(cmd("TRVATTL3PTRDW", 0x4de0, D_ALL, 4)),
  skl(cmd("TRVADR", 0x4df0)),
  skl(cmd("TRTTE", 0x4df4)),
  skl(cmd("GEN8_GARBCNTL", 0xb004)),
  skl(cmdMasked("GEN8_HDC_CHICKEN1", 0x7304)),
  skl(cmdMasked("GEN9_WM_CHICKEN3", 0x5588)),
  skl(cmd("GAMT_CHKN_BIT_REG", 0x4ab8, D_KBL | D_CFL)),
  skl(cmd("0xe4cc", 0xe4cc)),
  // Not command-accessible: a TLB flush control the host driver writes.
  { name: "GFX_FLSH_CNTL_GEN6", offset: 0x101008 },
];
