/**
 * The PVINFO page (docs/domain.md section 3, i915 `struct vgt_if`): the contract through which a
 * guest learns it runs on a vGPU and which slices of graphics memory are its own.
 */

import {
  PVINFO,
  VGT_CAPS_FULL_PPGTT,
  VGT_CAPS_HUGE_GTT,
  VGT_CAPS_HWSP_EMULATION,
  VGT_MAGIC_HI,
  VGT_MAGIC_LO,
  VGT_PVINFO_PAGE,
  VGT_PVINFO_SIZE,
} from "../hw/regs.ts";
import type { VgpuResources } from "./resources.ts";

/** Dword index of a PVINFO field in a vreg array. */
export function pvinfoIndex(field: number): number {
  return (VGT_PVINFO_PAGE + field) >>> 2;
}

/** Fills the PVINFO page of a vreg array for a vGPU (`populate_pvinfo_page`). */
export function populatePvinfo(vreg: Uint32Array, res: VgpuResources): void {
  vreg.fill(0, VGT_PVINFO_PAGE >>> 2, (VGT_PVINFO_PAGE + VGT_PVINFO_SIZE) >>> 2);
  vreg[pvinfoIndex(PVINFO.magic)] = VGT_MAGIC_LO;
  vreg[pvinfoIndex(PVINFO.magic) + 1] = VGT_MAGIC_HI;
  vreg[pvinfoIndex(PVINFO.versionMajor)] = 1 | (0 << 16); // major 1 at 0x08, minor 0 at 0x0a
  vreg[pvinfoIndex(PVINFO.vgtId)] = res.id;
  vreg[pvinfoIndex(PVINFO.vgtCaps)] = VGT_CAPS_FULL_PPGTT | VGT_CAPS_HWSP_EMULATION |
    VGT_CAPS_HUGE_GTT;
  vreg[pvinfoIndex(PVINFO.apertureBase)] = res.aperture.base >>> 0;
  vreg[pvinfoIndex(PVINFO.apertureSize)] = res.aperture.size >>> 0;
  vreg[pvinfoIndex(PVINFO.hiddenBase)] = res.hidden.base >>> 0;
  vreg[pvinfoIndex(PVINFO.hiddenSize)] = res.hidden.size >>> 0;
  vreg[pvinfoIndex(PVINFO.fenceNum)] = res.fences.length;
  vreg[pvinfoIndex(PVINFO.cursorXHot)] = 0xffffffff; // UINT_MAX: no hot spot yet
  vreg[pvinfoIndex(PVINFO.cursorYHot)] = 0xffffffff;
}

/** True if BAR0 offset `off` lies in the PVINFO page. */
export function inPvinfo(off: number): boolean {
  return off >= VGT_PVINFO_PAGE && off < VGT_PVINFO_PAGE + VGT_PVINFO_SIZE;
}
