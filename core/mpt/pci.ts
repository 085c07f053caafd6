/**
 * PCI config-space facts a hypervisor's device model needs to follow a guest's MSI setup
 * (pci_regs.h names): the capability list and the MSI capability layout.
 */

/** Offset of the capability-list pointer in config space. */
export const PCI_CAPABILITY_LIST = 0x34;
/** Capability id of MSI. */
export const PCI_CAP_ID_MSI = 0x05;
/** MSI message control (within the capability). */
export const PCI_MSI_FLAGS = 0x02;
/** MSI enable bit of the message control word. */
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
/** 64-bit address capable bit of the message control word. */
export const PCI_MSI_FLAGS_64BIT = 0x0080;
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

/**
 * Walks the capability list and returns the MSI capability's offset, or
 * {@link GEN9_MSI_CAP_OFFSET} when the list is empty or has no MSI entry (at most 48 hops).
 */
export function findMsiCap(r: CfgReader): number {
  let p = r.cfgRead(PCI_CAPABILITY_LIST, 1) & 0xfc;
  for (let hops = 0; p >= 0x40 && p < 0x100 && hops < 48; hops++) {
    if ((r.cfgRead(p, 1) & 0xff) === PCI_CAP_ID_MSI) return p;
    p = r.cfgRead(p + 1, 1) & 0xfc;
  }
  return GEN9_MSI_CAP_OFFSET;
}
