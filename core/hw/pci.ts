/**
 * PCI configuration space of the GPU (bus 0, device 2): identification, BAR0 (MMIO + GTT,
 * 16 MiB, 64-bit), BAR2 (aperture, 64-bit prefetchable), BAR4 (I/O, 64 bytes) with sizing
 * semantics, and an MSI capability (single vector, 64-bit address).
 */

import { bit, type BitField, byteOf, field, hi32, join64, le32 } from "./bits.ts";
import { MmioFault } from "./fault.ts";

/** Intel's PCI vendor id. */
export const PCI_VENDOR_ID_INTEL = 0x8086;
/** Config offset of BAR0. */
export const PCI_BASE_ADDRESS_0 = 0x10;
/** Config offset of BAR2. */
export const PCI_BASE_ADDRESS_2 = 0x18;
/** Config offset of BAR4. */
export const PCI_BASE_ADDRESS_4 = 0x20;
/** Config offset of the command register. */
export const PCI_COMMAND = 0x04;
/** ASLS: guest-physical address of the ACPI OpRegion, written by firmware (i915 `ASLS`). */
export const PCI_ASLS = 0xfc;
/** Offset of the MSI capability. */
export const MSI_CAP = 0x90;
/** MSI message control register (cap + 2): enable bit 0, 64-bit bit 7. */
export const MSI_FLAGS: number = MSI_CAP + 2;
/** MSI address low (cap + 4). */
export const MSI_ADDRESS_LO: number = MSI_CAP + 4;
/** MSI address high (cap + 8). */
export const MSI_ADDRESS_HI: number = MSI_CAP + 8;
/** MSI data (cap + 0xc). */
export const MSI_DATA: number = MSI_CAP + 0xc;

/** MSI message control fields (pci_regs.h): enable (writable), 64-bit address (read-only). */
export const MSI_FLAGS_FIELDS = {
  /** PCI_MSI_FLAGS_ENABLE. */
  enable: bit(0),
  /** PCI_MSI_FLAGS_64BIT. */
  is64: bit(7),
} as const;

/** The low flag bits of a BAR: memory BARs 3:0 (type, prefetchable), I/O BARs 1:0. */
export const BAR_MEM_FLAGS: BitField = field(3, 0), BAR_IO_FLAGS: BitField = field(1, 0);

/** The flag field of BAR `io` (I/O) or memory. */
export function barFlags(io: boolean): BitField {
  return io ? BAR_IO_FLAGS : BAR_MEM_FLAGS;
}

/** The MSI control byte after writing `byte` over `old`: only the enable bit changes. */
export function msiFlagsWrite(old: number, byte: number): number {
  return (old & MSI_FLAGS_FIELDS.is64.mask) | (byte & MSI_FLAGS_FIELDS.enable.mask);
}

/** The 256-byte configuration space. */
export class PciConfig {
  private readonly b = new Uint8Array(256);
  private readonly barSize: number[] = [];

  /**
   * Creates the instance.
   * @param bar0Size size of BAR0 (MMIO + GTT)
   * @param apertureSize size of BAR2 (the aperture)
   * @param deviceId PCI device id (the platform's)
   */
  constructor(bar0Size: number, apertureSize: number, readonly deviceId: number) {
    this.barSize[0] = bar0Size;
    this.barSize[2] = apertureSize;
    this.barSize[4] = 64;
    this.reset();
  }

  /** Restores reset values. */
  reset(): void {
    const b = this.b;
    b.fill(0);
    this.w16(0x00, PCI_VENDOR_ID_INTEL);
    this.w16(0x02, this.deviceId);
    this.w16(0x06, 0x0010); // status: capabilities list
    b[0x08] = 0x06; // revision
    b[0x0b] = 0x03; // class: display controller
    this.w32(PCI_BASE_ADDRESS_0, 0x4); // 64-bit memory
    this.w32(PCI_BASE_ADDRESS_2, 0xc); // 64-bit prefetchable memory
    this.w32(PCI_BASE_ADDRESS_4, 0x1); // I/O
    this.w16(0x2c, PCI_VENDOR_ID_INTEL);
    this.w16(0x2e, this.deviceId);
    b[0x34] = MSI_CAP;
    b[0x3d] = 1; // interrupt pin INTA
    b[MSI_CAP] = 0x05; // capability id: MSI
    b[MSI_CAP + 1] = 0; // next
    this.w16(MSI_FLAGS, 0x0080); // 64-bit capable, disabled
  }

  /** Reads `size` (1, 2, 4) bytes at `offset`, or a fault. */
  read(offset: number, size: number): number | MmioFault {
    const f = this.check(offset, size, false);
    if (f) return f;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.b[offset + i];
    return v;
  }

  /** Writes `size` bytes at `offset`; returns a fault or null. */
  write(offset: number, size: number, value: number): MmioFault | null {
    const f = this.check(offset, size, true);
    if (f) return f;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const byte = (value >>> (8 * i)) & 0xff;
      if (o >= 0x10 && o < 0x28) this.barByte(o, byte);
      else if (o === PCI_COMMAND || o === PCI_COMMAND + 1) this.b[o] = byte;
      else if (o === MSI_FLAGS) this.b[o] = msiFlagsWrite(this.b[o], byte);
      else if (o >= MSI_ADDRESS_LO && o < MSI_DATA + 2) this.b[o] = byte;
      else if (o === 0x3c) this.b[o] = byte; // interrupt line
    }
    return null;
  }

  /** True when the driver enabled MSI. */
  get msiEnabled(): boolean {
    return (this.b[MSI_FLAGS] & MSI_FLAGS_FIELDS.enable.mask) !== 0;
  }

  /** MSI address (64-bit as a number). */
  get msiAddress(): number {
    return join64(this.r32(MSI_ADDRESS_LO), this.r32(MSI_ADDRESS_HI));
  }

  /** MSI data. */
  get msiData(): number {
    return this.b[MSI_DATA] | (this.b[MSI_DATA + 1] << 8);
  }

  /** Guest-physical/host-physical base programmed into BAR `n` (0, 2 or 4). */
  barBase(n: number): number {
    const off = PCI_BASE_ADDRESS_0 + 4 * n;
    if (n === 4) return (this.r32(off) & ~BAR_IO_FLAGS.mask) >>> 0;
    return join64(this.r32(off) & ~BAR_MEM_FLAGS.mask, this.r32(off + 4));
  }

  /** Writes one BAR byte with size-mask semantics. */
  private barByte(o: number, byte: number): void {
    const rel = o - 0x10;
    const bar = rel >> 2, k = rel & 3;
    if (bar === 0 || bar === 2 || bar === 4) {
      const size = this.barSize[bar];
      const lowBits = barFlags(bar === 4).mask;
      const mask = (~(size - 1) >>> (8 * k)) & 0xff;
      const keep = k === 0 ? lowBits : 0;
      this.b[o] = (byte & mask & ~keep) | (this.b[o] & keep);
    } else if (bar === 1 || bar === 3) {
      const size = this.barSize[bar - 1];
      const hiMask = size > 0xffffffff ? byteOf(~(hi32(size) - 1), k) : 0xff;
      this.b[o] = byte & hiMask;
    }
  }

  /** Validates a config access. */
  private check(offset: number, size: number, write: boolean): MmioFault | null {
    if (size > 4) return new MmioFault("too_large", offset, size, write);
    if ((size !== 1 && size !== 2 && size !== 4) || offset % size !== 0) {
      return new MmioFault("misaligned", offset, size, write);
    }
    if (offset < 0 || offset + size > 256) {
      return new MmioFault("out_of_range", offset, size, write);
    }
    return null;
  }

  /** W16. */
  private w16(o: number, v: number): void {
    this.b[o] = v & 0xff;
    this.b[o + 1] = (v >>> 8) & 0xff;
  }
  /** W32. */
  private w32(o: number, v: number): void {
    this.w16(o, v & 0xffff);
    this.w16(o + 2, (v >>> 16) & 0xffff);
  }
  /** R32. */
  private r32(o: number): number {
    return le32(this.b, o);
  }
}
