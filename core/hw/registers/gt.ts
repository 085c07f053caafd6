/**
 * GT-wide control registers: the graphics reset, forcewake requests and their ACKs, TLB
 * invalidation and fences.
 *
 * Sources (Linux drivers/gpu/drm/i915/): GDRST and its GEN6_GRDOM_* bits: i915_reg.h,
 * gvt/handlers.c `gdrst_mmio_write`; forcewake: intel_uncore.c
 * `intel_uncore_fw_domains_init` (gen9: FORCEWAKE_RENDER_GEN9 / FORCEWAKE_GT_GEN9 /
 * FORCEWAKE_MEDIA_GEN9 with their ACKs; gen8: FORCEWAKE_MT with FORCEWAKE_ACK_HSW),
 * gvt/handlers.c `mul_force_wake_write` and `init_skl_mmio_info`; TLB invalidation:
 * gvt/handlers.c `gvt_reg_tlb_control_handler` (0x4260..0x4270, D_BDW_PLUS); fences:
 * `FENCE_REG_GEN6_LO(i)` = 0x100000 + 8 i.
 */

import { bit } from "../bits.ts";
import { D_BDW, D_SKL_PLUS } from "../platform.ts";
import { type RegRow, SEM_FENCE, SEM_FORCEWAKE, SEM_GDRST } from "./row.ts";

/** GDRST (GEN6_GDRST) fields. */
export const GDRST_FIELDS = {
  /** GEN6_GRDOM_FULL: the whole GT. */
  full: bit(0),
  /** GEN6_GRDOM_RENDER. */
  render: bit(1),
  /** GEN6_GRDOM_MEDIA (VCS0). */
  media: bit(2),
  /** GEN6_GRDOM_BLT. */
  blt: bit(3),
  /** GEN6_GRDOM_VECS. */
  vecs: bit(4),
} as const;

/** GDRST offset. */
export const GDRST = 0x941c;

/** One forcewake domain: request register and its ACK. */
export interface ForcewakePair {
  /** Domain name ("render", "blitter", "media"; gen8 has one "render" domain). */
  readonly domain: string;
  /** Request register (masked). */
  readonly req: number;
  /** Name of the request register. */
  readonly reqName: string;
  /** ACK register. */
  readonly ack: number;
  /** Name of the ACK register. */
  readonly ackName: string;
  /** Platforms (D_*). */
  readonly exists: number;
}

/** Forcewake domains (request, ACK) per platform. */
export const FORCEWAKE: readonly ForcewakePair[] = [
  {
    domain: "render",
    req: 0xa278,
    reqName: "FORCEWAKE_RENDER_GEN9",
    ack: 0x0d84,
    ackName: "FORCEWAKE_ACK_RENDER_GEN9",
    exists: D_SKL_PLUS,
  },
  {
    domain: "blitter",
    req: 0xa188,
    reqName: "FORCEWAKE_GT_GEN9",
    ack: 0x130044,
    ackName: "FORCEWAKE_ACK_GT_GEN9",
    exists: D_SKL_PLUS,
  },
  {
    domain: "media",
    req: 0xa270,
    reqName: "FORCEWAKE_MEDIA_GEN9",
    ack: 0x0d88,
    ackName: "FORCEWAKE_ACK_MEDIA_GEN9",
    exists: D_SKL_PLUS,
  },
  {
    domain: "render",
    req: 0xa188,
    reqName: "FORCEWAKE_MT",
    ack: 0x130044,
    ackName: "FORCEWAKE_ACK_HSW",
    exists: D_BDW,
  },
];

/** FENCE_REG_GEN6_LO(0). */
export const FENCE_REG_BASE = 0x100000;

/** The GT control rows; `fences` fence registers. */
export function gtRows(fences: number): RegRow[] {
  const rows: RegRow[] = [
    { name: "GDRST", offset: GDRST, sem: SEM_GDRST, fields: GDRST_FIELDS },
    { name: "GEN8_RTCR", group: "TLB_INV", offset: 0x4260 },
    { name: "GEN8_M1TCR", group: "TLB_INV", offset: 0x4264 },
    { name: "GEN8_M2TCR", group: "TLB_INV", offset: 0x4268 },
    { name: "GEN8_BTCR", group: "TLB_INV", offset: 0x426c },
    { name: "GEN8_VTCR", group: "TLB_INV", offset: 0x4270 },
    {
      name: "FENCE_REG_GEN6",
      offset: FENCE_REG_BASE,
      count: 2 * fences,
      sem: SEM_FENCE,
      nameOf: (i) => `FENCE_REG_GEN6_${i & 1 ? "HI" : "LO"}(${i >> 1})`,
    },
  ];
  FORCEWAKE.forEach((p, i) => {
    rows.push({
      name: p.reqName,
      group: "FORCEWAKE_REQ",
      offset: p.req,
      access: "masked",
      sem: SEM_FORCEWAKE,
      unit: i,
      exists: p.exists,
    });
    rows.push({
      name: p.ackName,
      group: "FORCEWAKE_ACK",
      offset: p.ack,
      access: "ro",
      exists: p.exists,
    });
  });
  return rows;
}
