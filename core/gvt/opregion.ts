/**
 * The virtual OpRegion (i915 gvt/opregion.c): two host pages per vGPU holding the ACPI
 * OpRegion the guest's graphics driver reads. The guest's firmware writes the guest-physical
 * address it reserved for them to ASLS (config space 0xfc). A hypervisor that maps host frames
 * into the guest (a foreign mapping) is asked for the machine frame of each page's host
 * address (`fromVirtToMfn`) and maps it at the guest's frame (`mapGfnToMfn`), as
 * `map_vgpu_opregion` does; a backend that exposes the OpRegion its own way (a device region,
 * through `setOpregion`) answers -1 and nothing is mapped. A new ASLS value moves the mapping.
 *
 * Host addresses in the simulation are host physical addresses (the host's direct map).
 */

import { type HostMemory, PAGE_SIZE } from "../hw/memory.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** Pages of the OpRegion (INTEL_GVT_OPREGION_PAGES). */
export const OPREGION_PAGES = 2;
/** The OpRegion header signature (`OPREGION_SIGNATURE`). */
const SIGNATURE = "IntelGraphicsMem";

/** The OpRegion of one vGPU. */
export class VgpuOpregion {
  /** Host frames of the pages (-1: not allocated). */
  readonly mfns: Int32Array = new Int32Array(OPREGION_PAGES).fill(-1);
  /** First guest frame the pages are mapped at (-1: not mapped). */
  gfn = -1;
}

/** Allocates the OpRegion pages of a new vGPU (owned by its VM: they are mapped into it). */
export function allocOpregion(o: VgpuOpregion, mem: HostMemory, owner: number): void {
  for (let i = 0; i < OPREGION_PAGES; i++) o.mfns[i] = mem.allocFrame(owner);
  if (o.mfns[0] < 0) return;
  const p = mem.page(o.mfns[0]);
  for (let i = 0; i < SIGNATURE.length; i += 4) {
    let w = 0;
    for (let b = 3; b >= 0; b--) w = w * 256 + SIGNATURE.charCodeAt(i + b);
    p[i / 4] = w >>> 0;
  }
}

/** The guest wrote ASLS (`intel_vgpu_opregion_base_write_handler`). */
export function opregionBaseWrite(v: Vgpu, gate: MptGate, gpa: number): void {
  const o = v.opregion;
  unmapOpregion(v, gate);
  if (gpa === 0 || gpa % PAGE_SIZE !== 0) return;
  const gfn = gpa / PAGE_SIZE;
  for (let i = 0; i < OPREGION_PAGES; i++) {
    const mfn = o.mfns[i] < 0 ? -1 : gate.fromVirtToMfn(o.mfns[i] * PAGE_SIZE);
    if (mfn < 0) return; // exposed otherwise (setOpregion), or nothing to map
    gate.mapGfnToMfn(v.id, gfn + i, mfn, 1, true);
    o.gfn = gfn;
  }
}

/** Removes the OpRegion's mapping from the guest, if any. */
export function unmapOpregion(v: Vgpu, gate: MptGate): void {
  const o = v.opregion;
  if (o.gfn < 0) return;
  for (let i = 0; i < OPREGION_PAGES; i++) {
    const mfn = gate.fromVirtToMfn(o.mfns[i] * PAGE_SIZE);
    if (mfn >= 0) gate.mapGfnToMfn(v.id, o.gfn + i, mfn, 1, false);
  }
  o.gfn = -1;
}

/** Frees the OpRegion of a destroyed vGPU (after {@link unmapOpregion}). */
export function freeOpregion(o: VgpuOpregion, mem: HostMemory): void {
  for (let i = 0; i < OPREGION_PAGES; i++) {
    if (o.mfns[i] >= 0) mem.freeFrame(o.mfns[i]);
    o.mfns[i] = -1;
  }
}
