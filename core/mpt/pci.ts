/**
 * PCI config-space facts a hypervisor's device model needs to follow a guest's MSI set-up and
 * its function-level resets (pci_regs.h names): the capability list, the MSI capability and the
 * Advanced Features capability (FLR) of integrated GPUs.
 */

import { MSI_FLAGS_FIELDS } from "../hw/pci.ts";

/** Bytes of a PCI Express function's config space (PCI_CFG_SPACE_EXP_SIZE). */
export const PCI_CFG_SPACE_EXP_SIZE = 4096;
/** Offset of the capability-list pointer in config space. */
export const PCI_CAPABILITY_LIST = 0x34;
/** Capability id of MSI. */
export const PCI_CAP_ID_MSI = 0x05;
/** MSI message control (within the capability). */
export const PCI_MSI_FLAGS = 0x02;
/** MSI enable bit of the message control word. */
export const PCI_MSI_FLAGS_ENABLE: number = MSI_FLAGS_FIELDS.enable.mask;
/** 64-bit address capable bit of the message control word. */
export const PCI_MSI_FLAGS_64BIT: number = MSI_FLAGS_FIELDS.is64.mask;
/** MSI message address, low dword. */
export const PCI_MSI_ADDRESS_LO = 0x04;
/** MSI message data for 32-bit capabilities. */
export const PCI_MSI_DATA_32 = 0x08;
/** MSI message data for 64-bit capabilities. */
export const PCI_MSI_DATA_64 = 0x0c;
/** Where gen9 integrated GPUs place their MSI capability (used if the list has none). */
export const GEN9_MSI_CAP_OFFSET = 0xac;
/** The x86 MSI address window base (0xFEExxxxx). */
export const MSI_ADDRESS_BASE = 0xfee00000;

/** A config-space reader: (offset, size) -> value. */
export interface CfgReader {
  /** Reads `size` bytes of config space at `offset`. */
  cfgRead(offset: number, size: number): number;
}

/** Capability id of Advanced Features (FLR of conventional-PCI functions such as the iGPU). */
export const PCI_CAP_ID_AF = 0x13;
/** Advanced Features control register (within the capability). */
export const PCI_AF_CTRL = 0x04;
/** "Initiate function level reset" bit of the AF control register (self-clearing). */
export const PCI_AF_CTRL_FLR = 0x01;

/** Walks the capability list for capability `id`; its offset, or -1 (at most 48 hops). */
export function findCap(r: CfgReader, id: number): number {
  let p = r.cfgRead(PCI_CAPABILITY_LIST, 1) & 0xfc;
  for (let hops = 0; p >= 0x40 && p < 0x100 && hops < 48; hops++) {
    if ((r.cfgRead(p, 1) & 0xff) === id) return p;
    p = r.cfgRead(p + 1, 1) & 0xfc;
  }
  return -1;
}

/**
 * The MSI capability's offset, or {@link GEN9_MSI_CAP_OFFSET} when the list is empty or has
 * no MSI entry.
 */
export function findMsiCap(r: CfgReader): number {
  const p = findCap(r, PCI_CAP_ID_MSI);
  return p >= 0 ? p : GEN9_MSI_CAP_OFFSET;
}

/** Capability offsets a device model finds on the first config write (-1: not yet / none). */
export interface CfgCaps {
  /** MSI capability offset (-1 until found). */
  msiCap: number;
  /** Advanced Features (FLR) capability offset (-1 if none). */
  afCap: number;
}

/** What a guest config write meant to the device model. */
export type CfgWriteEvent = "flr" | "msi-on" | "msi-off" | "none";

/** What the device model needs of the mediator to follow config space. */
export interface CfgPort {
  /** Emulates a config-space read. */
  emulateCfgRead(vgpuId: number, offset: number, size: number): number;
  /** Emulates a config-space write. */
  emulateCfgWrite(vgpuId: number, offset: number, size: number, value: number): void;
}

/**
 * Forwards a guest config write (any width) to the mediator and says what it meant: "flr"
 * (the guest asked for a function-level reset: drop per-device state, then `ops.vgpuReset`),
 * "msi-on"/"msi-off" (the write covered the MSI control word), or "none". The capabilities are
 * found on the first write and kept in `caps` (part of the backend's saved state).
 */
export function forwardCfgWrite(
  ops: CfgPort,
  id: number,
  caps: CfgCaps,
  off: number,
  size: number,
  value: number,
): CfgWriteEvent {
  ops.emulateCfgWrite(id, off, size, value);
  const r = { cfgRead: (a: number, n: number) => ops.emulateCfgRead(id, a, n) };
  if (caps.msiCap < 0) {
    caps.msiCap = findMsiCap(r);
    caps.afCap = findCap(r, PCI_CAP_ID_AF);
  }
  if (isFlrWrite(off, size, value, caps.afCap)) return "flr";
  const on = msiEnableAfter(r, caps.msiCap, off, size);
  return on === null ? "none" : on ? "msi-on" : "msi-off";
}

/**
 * The guest's MSI enable bit after a config write the device model forwarded, when the write
 * covered the MSI control word (any width); null when it did not.
 */
export function msiEnableAfter(
  r: CfgReader,
  msiCap: number,
  off: number,
  size: number,
): boolean | null {
  const ctl = msiCap + PCI_MSI_FLAGS;
  if (!(off <= ctl && ctl < off + size)) return null;
  return (r.cfgRead(ctl, 2) & PCI_MSI_FLAGS_ENABLE) !== 0;
}

/** The byte a config write of `size` bytes at `off` puts at offset `at`, or -1 if it misses it. */
export function byteWritten(off: number, size: number, value: number, at: number): number {
  if (at < off || at >= off + size) return -1;
  return Math.floor(value / 2 ** (8 * (at - off))) & 0xff;
}

/**
 * Whether a config write asks for a function-level reset: it sets the FLR bit of the AF
 * control register (any width, any offset covering it). `afCap` is the AF capability's
 * offset (-1: the device has none).
 */
export function isFlrWrite(off: number, size: number, value: number, afCap: number): boolean {
  if (afCap < 0) return false;
  const b = byteWritten(off, size, value, afCap + PCI_AF_CTRL);
  return b >= 0 && (b & PCI_AF_CTRL_FLR) !== 0;
}
