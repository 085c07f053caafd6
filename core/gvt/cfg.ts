/**
 * Virtual PCI config space (i915 gvt/cfg_space.c): identity registers, the command
 * register (memory enable maps the trap area and the aperture slice), BAR sizing and
 * relocation, and the MSI capability the guest enables and programs.
 */

import { hi32, join64 } from "../hw/bits.ts";
import { PCI_AF_CTRL, PCI_CAP_ID_AF } from "../mpt/pci.ts";
import {
  BAR_MEM_FLAGS,
  barFlags,
  MSI_ADDRESS_HI,
  MSI_ADDRESS_LO,
  MSI_CAP,
  MSI_DATA,
  MSI_FLAGS,
  msiFlagsWrite,
  PCI_ASLS,
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_2,
  PCI_BASE_ADDRESS_4,
  PCI_COMMAND,
  PCI_VENDOR_ID_INTEL,
} from "../hw/pci.ts";
import { BAR0_SIZE } from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { Vgpu } from "./vgpu_state.ts";
import { opregionBaseWrite } from "./opregion.ts";

/** PCI_COMMAND memory-space enable. */
export const PCI_COMMAND_MEMORY = 1 << 1;
/** BAR0 (GTTMMADR, 64-bit memory). */
export const PCI_BAR0: number = PCI_BASE_ADDRESS_0;
/** BAR2 (GMADR, aperture, 64-bit prefetchable). */
export const PCI_BAR2: number = PCI_BASE_ADDRESS_2;
/** BAR4 (I/O). */
export const PCI_BAR4: number = PCI_BASE_ADDRESS_4;
/** Guest-physical base the host aperture appears at in host physical space. */
export const HOST_APERTURE_PA = 0x40_0000_0000;
const BAR4_SIZE = 64;

function rd(cfg: Uint8Array, off: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + cfg[off + i];
  return v;
}

function wr(cfg: Uint8Array, off: number, size: number, value: number): void {
  let v = value;
  for (let i = 0; i < size; i++) {
    cfg[off + i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

/**
 * Where the Advanced Features capability (FLR) sits. A guest's FLR request is not acted on by
 * the mediator: the hypervisor's device model sees the write and calls `GvtOps.vgpuReset`.
 */
export const AF_CAP = 0xd0;

/**
 * Initial config space of a vGPU (`intel_vgpu_init_cfg_space`), identified as the physical
 * device `deviceId`.
 */
export function initCfgSpace(v: Vgpu, deviceId: number): void {
  const c = v.vcfg;
  c.fill(0);
  wr(c, 0x00, 2, PCI_VENDOR_ID_INTEL);
  wr(c, 0x02, 2, deviceId);
  wr(c, 0x06, 2, 1 << 4); // status: capability list
  wr(c, 0x08, 4, 0x03000000 | 0x06); // display controller, revision 6
  wr(c, PCI_BAR0, 4, 0x4); // 64-bit memory
  wr(c, PCI_BAR2, 4, 0xc); // 64-bit prefetchable memory
  wr(c, PCI_BAR4, 4, 0x1); // I/O
  wr(c, 0x2c, 4, (deviceId << 16) | PCI_VENDOR_ID_INTEL);
  c[0x34] = MSI_CAP;
  c[0x3d] = 1; // INTA
  c[MSI_CAP] = 0x05; // MSI capability id
  c[MSI_CAP + 1] = AF_CAP; // next: Advanced Features (FLR), the end of the list
  wr(c, MSI_FLAGS, 2, 0x0080); // 64-bit capable, disabled
  c[AF_CAP] = PCI_CAP_ID_AF;
  c[AF_CAP + 2] = 6; // length
  c[AF_CAP + 3] = 0x03; // AF_CAP: transactions pending, FLR capable
  v.bar0 = 0;
  v.bar2 = 0;
}

/** True if the guest enabled MSI. */
export function msiEnabled(cfg: Uint8Array): boolean {
  return (cfg[MSI_FLAGS] & 1) !== 0;
}

/** The MSI address the guest programmed. */
export function msiAddress(cfg: Uint8Array): number {
  return join64(rd(cfg, MSI_ADDRESS_LO, 4), rd(cfg, MSI_ADDRESS_HI, 4));
}

/** The MSI data the guest programmed. */
export function msiData(cfg: Uint8Array): number {
  return rd(cfg, MSI_DATA, 2);
}

/** Emulates a config-space read. */
export function cfgRead(v: Vgpu, off: number, size: number): number {
  if (off < 0 || off + size > v.vcfg.length || (size !== 1 && size !== 2 && size !== 4)) {
    return 0;
  }
  return rd(v.vcfg, off, size);
}

/** BAR size mask for sizing reads (low dword / high dword). */
function barSize(bar: number, apertureSize: number): number {
  return bar === PCI_BAR0 ? BAR0_SIZE : bar === PCI_BAR2 ? apertureSize : BAR4_SIZE;
}

/**
 * Emulates a config-space write: identity and status are read-only, BAR writes of all ones
 * size the BAR, BAR relocation and memory enable (re)map the trap area and the aperture.
 */
export function cfgWrite(
  v: Vgpu,
  gate: MptGate,
  apertureSize: number,
  off: number,
  size: number,
  value: number,
): void {
  if (off < 0 || off + size > v.vcfg.length || (size !== 1 && size !== 2 && size !== 4)) return;
  const c = v.vcfg;
  if (off < 0x04 || (off >= 0x06 && off < 0x10) || (off >= 0x2c && off < 0x36)) return; // RO
  if (off >= PCI_BAR0 && off < PCI_BAR4 + 4) {
    const bar = off < PCI_BAR2 ? PCI_BAR0 : off < PCI_BAR4 ? PCI_BAR2 : PCI_BAR4;
    const hi = bar !== PCI_BAR4 && off === bar + 4;
    const low = rd(c, bar, 4);
    const flagBits = barFlags(bar === PCI_BAR4).mask;
    const flags = low & flagBits;
    if (size === 4 && value >>> 0 === 0xffffffff) {
      const sz = barSize(bar, apertureSize);
      if (hi) wr(c, off, 4, ~hi32(sz - 1) >>> 0);
      else wr(c, off, 4, ((~(sz - 1) & ~flagBits) | flags) >>> 0);
      return;
    }
    const enabled = (c[PCI_COMMAND] & PCI_COMMAND_MEMORY) !== 0;
    if (enabled) mapBars(v, gate, false);
    if (hi) wr(c, off, 4, value >>> 0);
    else wr(c, off, 4, ((value & ~flagBits) | flags) >>> 0);
    updateBars(v);
    if (enabled) mapBars(v, gate, true);
    return;
  }
  if (off === PCI_COMMAND || (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND)) {
    const was = (c[PCI_COMMAND] & PCI_COMMAND_MEMORY) !== 0;
    wr(c, off, size, value);
    const now = (c[PCI_COMMAND] & PCI_COMMAND_MEMORY) !== 0;
    if (!was && now) mapBars(v, gate, true);
    else if (was && !now) mapBars(v, gate, false);
    return;
  }
  if (off >= MSI_CAP && off < MSI_CAP + 2) return; // cap id / next pointer
  if (off >= AF_CAP && off < AF_CAP + PCI_AF_CTRL) return; // AF id, next, length, caps
  if (off >= AF_CAP + PCI_AF_CTRL && off < AF_CAP + 6) return; // FLR: the hypervisor's job, self-clearing
  if (off === MSI_FLAGS) {
    c[off] = msiFlagsWrite(c[off], value);
    if (size > 1) c[off + 1] = 0;
    return;
  }
  wr(c, off, size, value);
  if (off === PCI_ASLS && size === 4) opregionBaseWrite(v, gate, value >>> 0);
}

function updateBars(v: Vgpu): void {
  const c = v.vcfg;
  v.bar0 = join64(rd(c, PCI_BAR0, 4) & ~BAR_MEM_FLAGS.mask, rd(c, PCI_BAR0 + 4, 4));
  v.bar2 = join64(rd(c, PCI_BAR2, 4) & ~BAR_MEM_FLAGS.mask, rd(c, PCI_BAR2 + 4, 4));
}

/**
 * Memory decoding on (`map`) or off: claims or releases BAR0 as a trap area and maps the
 * vGPU's aperture slice into guest-physical space behind BAR2 (`map_aperture`/`trap_gttmmio`).
 */
function mapBars(v: Vgpu, gate: MptGate, map: boolean): void {
  if (map) updateBars(v);
  gate.setTrapArea(v.id, v.bar0, v.bar0 + BAR0_SIZE, map);
  if (v.ggtt.priv !== null) return; // gScale: ladder mapping, entry by entry (gscale.ts)
  const a = v.res.aperture;
  gate.mapGfnToMfn(
    v.id,
    Math.floor((v.bar2 + a.base) / 4096),
    Math.floor((HOST_APERTURE_PA + a.base) / 4096),
    a.size / 4096,
    map,
  );
}
