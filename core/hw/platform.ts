/**
 * GPU platform profiles: what a scenario's `host broadwell | skylake | kabylake | coffeelake`
 * selects. A profile holds the facts that differ between the platforms GVT-g supports, and
 * the device bit the register tables (core/hw/registers/) use to say on which platforms a
 * register exists and is command-accessible, as gvt/handlers.c does with D_BDW, D_SKL,
 * D_KBL, D_CFL (gvt/gvt.h) and `intel_gvt_get_device_type`.
 *
 * Sources (Linux drivers/gpu/drm/i915/gvt/):
 * - device bits: handlers.c `intel_gvt_get_device_type`; graphics version 8 for Broadwell,
 *   9 for the others (i915_pci.c);
 * - vGPU type names `GVTg_V4_*` on gen8, `GVTg_V5_*` on gen9: vgpu.c
 *   `intel_gvt_init_vgpu_types`;
 * - the virtual monitor's port: display.c `intel_vgpu_init_display` (port D on SKL/KBL/CFL,
 *   port B otherwise), its AUX channel control register: handlers.c
 *   `dp_aux_ch_ctl_mmio_write` (`_REG_SKL_DP_AUX_CH_CTL`, `_REG_HSW_DP_AUX_CH_CTL`);
 * - RING_MODE bits a guest may not enable: handlers.c `ring_mode_mmio_write`
 *   (`_MASKED_BIT_ENABLE(1)`, i.e. bit 0, on all; `_MASKED_BIT_ENABLE(2)`, bit 1, too on
 *   Coffee Lake and Comet Lake);
 * - engines present on GT2 parts: i915_pci.c `platform_engine_mask` (RCS0, BCS0, VCS0, VECS0);
 * - PCI device id of a GT2 part: include/drm/i915_pciids.h (INTEL_BDW_GT2_IDS 0x1616,
 *   INTEL_SKL_GT2_IDS 0x1912, INTEL_KBL_GT2_IDS 0x5912, INTEL_CFL_S_GT2_IDS 0x3E92); the
 *   vGPU's config space reports the physical device's (gvt/cfg_space.c).
 */

import type { EngineName } from "../scenario.ts";

/** Device bit of Broadwell (gvt.h D_BDW). */
export const D_BDW = 1 << 0;
/** Device bit of Skylake (D_SKL). */
export const D_SKL = 1 << 1;
/** Device bit of Kaby Lake (D_KBL). */
export const D_KBL = 1 << 2;
/** Device bit of Coffee Lake / Comet Lake (D_CFL). */
export const D_CFL = 1 << 3;
/** Gen9 parts (D_SKL_PLUS as far as gvtsim models platforms). */
export const D_SKL_PLUS = D_SKL | D_KBL | D_CFL;
/** Every modelled platform (D_BDW_PLUS, D_ALL). */
export const D_ALL = D_BDW | D_SKL_PLUS;

/** Platform names a scenario may give. */
export type PlatformId = "broadwell" | "skylake" | "kabylake" | "coffeelake";

/** One platform. */
export interface Platform {
  /** Name as the DSL writes it. */
  readonly id: PlatformId;
  /** Marketing name. */
  readonly label: string;
  /** Device bit (D_*). */
  readonly device: number;
  /** Graphics version (8 or 9). */
  readonly gen: 8 | 9;
  /** PCI device id (GT2). */
  readonly deviceId: number;
  /** Engines present (GT2). */
  readonly engines: readonly EngineName[];
  /** vGPU type prefix: `V4` (gen8) or `V5` (gen9), as in `GVTg_V5_4`. */
  readonly typePrefix: "V4" | "V5";
  /** Port of the virtual DP monitor ("B" or "D"). */
  readonly monitorPort: "B" | "D";
  /** AUX channel control register of that port (EDID reads go through it). */
  readonly auxChCtl: number;
  /** RING_MODE bits whose masked enable puts the vGPU in failsafe (unsupported guest). */
  readonly ringModeForbidden: number;
}

const GT2: readonly EngineName[] = Object.freeze(["rcs", "bcs", "vcs", "vecs"]);
/** _REG_SKL_DP_AUX_CH_CTL(port D) = 0x64010 + 3 * 0x100. */
const SKL_AUX_D = 0x64310;
/** _REG_HSW_DP_AUX_CH_CTL(port B) = _PCH_DPB_AUX_CH_CTL. */
const HSW_AUX_B = 0xe4110;

/**
 * The platform profiles. Frozen, as every world of the process shares them (a checkpoint
 * records them as present only; nothing may write them).
 */
export const PLATFORMS: Readonly<Record<PlatformId, Platform>> = freezeEach({
  broadwell: {
    id: "broadwell",
    label: "Broadwell GT2 (gen8)",
    device: D_BDW,
    gen: 8,
    deviceId: 0x1616,
    engines: GT2,
    typePrefix: "V4",
    monitorPort: "B",
    auxChCtl: HSW_AUX_B,
    ringModeForbidden: 1 << 0,
  },
  skylake: {
    id: "skylake",
    label: "Skylake GT2 (gen9)",
    device: D_SKL,
    gen: 9,
    deviceId: 0x1912,
    engines: GT2,
    typePrefix: "V5",
    monitorPort: "D",
    auxChCtl: SKL_AUX_D,
    ringModeForbidden: 1 << 0,
  },
  kabylake: {
    id: "kabylake",
    label: "Kaby Lake GT2 (gen9.5)",
    device: D_KBL,
    gen: 9,
    deviceId: 0x5912,
    engines: GT2,
    typePrefix: "V5",
    monitorPort: "D",
    auxChCtl: SKL_AUX_D,
    ringModeForbidden: 1 << 0,
  },
  coffeelake: {
    id: "coffeelake",
    label: "Coffee Lake GT2 (gen9.5)",
    device: D_CFL,
    gen: 9,
    deviceId: 0x3e92,
    engines: GT2,
    typePrefix: "V5",
    monitorPort: "D",
    auxChCtl: SKL_AUX_D,
    ringModeForbidden: (1 << 0) | (1 << 1),
  },
});

function freezeEach<T extends object>(table: Record<string, T>): Readonly<Record<string, T>> {
  for (const v of Object.values(table)) Object.freeze(v);
  return Object.freeze(table);
}

/** Platform names in documentation order. */
export const PLATFORM_IDS: readonly PlatformId[] = [
  "skylake",
  "kabylake",
  "coffeelake",
  "broadwell",
];

/** The default platform. */
export const DEFAULT_PLATFORM: Platform = PLATFORMS.skylake;

/** The profile of a platform name, or undefined. */
export function platformOf(name: string): Platform | undefined {
  return Object.hasOwn(PLATFORMS, name) ? PLATFORMS[name as PlatformId] : undefined;
}

/** The platform of a PCI device id, or undefined. */
export function platformOfDeviceId(id: number): Platform | undefined {
  return PLATFORM_IDS.map((p) => PLATFORMS[p]).find((p) => p.deviceId === id);
}

/** True if a register row's device mask `mask` covers `p`. */
export function onPlatform(mask: number, p: Platform): boolean {
  return (mask & p.device) !== 0;
}
