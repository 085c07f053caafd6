/**
 * GGTT shadowing (docs/domain.md section 5, i915 gvt/gtt.c `emulate_ggtt_mmio_write`): the guest
 * writes 8-byte entries through the GTT window of BAR0; index = offset / 8 maps graphics
 * address index * 4 KiB. Writes outside the vGPU's slices are dropped (counted); 4-byte
 * halves are held until the other half arrives (the host entry points at scratch
 * meanwhile); a present entry's guest frame is DMA-mapped through the gate and the host
 * entry gets the device address (scratch when the frame is invalid or the map fails). The
 * virtual GGTT keeps the guest's value for reads; the previous host mapping is unmapped.
 */

import { bytesAt, hi32, join64, lo32, withByte } from "../hw/bits.ts";
import { PAGE_SIZE } from "../hw/memory.ts";
import { entryPresent, GEN8_PAGE_PRESENT, pteFrame, pteWithAddr } from "../hw/pte.ts";
import { SCRATCH_IOVA } from "../hw/iommu.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { VgpuCounters } from "./counters.ts";
import type { Gscale, PrivateGtt } from "./gscale.ts";
import type { VgpuResources } from "./resources.ts";

/** The physical GGTT as the mediator writes it. */
export interface GgttPort {
  /** Writes physical GGTT entry `index` (a 64-bit value as a number); the result is ignored. */
  ggttWrite(index: number, entry: number): unknown;
}

/** Bytes a {@link VirtualGgtt} holds per entry of its slices: guest value, DMA address, halves. */
export const VGGTT_ENTRY_BYTES: number = Float64Array.BYTES_PER_ELEMENT * 2 +
  Uint8Array.BYTES_PER_ELEMENT;

/** Per-vGPU virtual GGTT over its two slices. */
export class VirtualGgtt {
  /** First GGTT index of the aperture slice. */
  readonly apIndex: number;
  /** Entries in the aperture slice. */
  readonly apCount: number;
  /** First GGTT index of the hidden slice. */
  readonly hiIndex: number;
  /** Entries in the hidden slice. */
  readonly hiCount: number;
  /** Guest entry values (aperture slice entries, then hidden slice entries). */
  readonly guest: Float64Array;
  /** Device address mapped for each entry (-1: none). */
  readonly dma: Float64Array;
  /** Halves written of an incomplete entry (bit 0 low, bit 1 high). */
  readonly partial: Uint8Array;
  /** gScale mode: the private shadow GTT (null upstream: host entries go to the GGTT). */
  priv: PrivateGtt | null = null;

  /** Creates a VirtualGgtt.
   * @param res the vGPU's slices */
  constructor(res: VgpuResources) {
    this.apIndex = res.aperture.base / PAGE_SIZE;
    this.apCount = res.aperture.size / PAGE_SIZE;
    this.hiIndex = res.hidden.base / PAGE_SIZE;
    this.hiCount = res.hidden.size / PAGE_SIZE;
    const n = this.apCount + this.hiCount;
    this.guest = new Float64Array(n);
    this.dma = new Float64Array(n).fill(-1);
    this.partial = new Uint8Array(n);
  }

  /** Slot of GGTT index `index` in the arrays, or -1 when outside both slices. */
  slot(index: number): number {
    const a = index - this.apIndex;
    if (a >= 0 && a < this.apCount) return a;
    const h = index - this.hiIndex;
    if (h >= 0 && h < this.hiCount) return this.apCount + h;
    return -1;
  }

  /** GGTT index of a slot. */
  indexOf(slot: number): number {
    return slot < this.apCount ? this.apIndex + slot : this.hiIndex + slot - this.apCount;
  }

  /** Guest frame of graphics address `gma` through the virtual GGTT, or -1 if unmapped/outside. */
  gmaToGfn(gma: number): number {
    const s = this.slot(Math.floor(gma / PAGE_SIZE));
    if (s < 0) return -1;
    const e = this.guest[s];
    return entryPresent(e) ? pteFrame(e) : -1;
  }
}

/** GGTT emulation shared by all vGPUs. */
export class GgttShadow {
  /**
   * Host entry for scratch (present, pointing at the host's scratch page at its reserved
   * device address, valid in every IOMMU domain).
   */
  readonly scratchEntry: number;
  /** gScale mode: host entries go through the private GTTs (null: upstream). */
  gscale: Gscale | null = null;

  /**
   * Creates a GgttShadow.
   * @param gate MPT gate (DMA map/unmap, gfn validity)
   * @param port the physical GGTT
   */
  constructor(
    private readonly gate: MptGate,
    private readonly port: GgttPort,
  ) {
    this.scratchEntry = SCRATCH_IOVA + GEN8_PAGE_PRESENT;
  }

  /**
   * Emulates a guest write of `size` bytes at byte offset `off` of the GTT window.
   * `failsafe`: only the virtual GGTT is updated (plain copy; nothing shadowed).
   */
  write(
    vgpuId: number,
    g: VirtualGgtt,
    c: VgpuCounters,
    off: number,
    size: number,
    value: number,
    failsafe: boolean,
  ): void {
    const index = Math.floor(off / 8);
    const s = g.slot(index);
    if (s < 0) {
      c.ggttDropped++;
      return;
    }
    const byte = off & 7;
    if (size === 8 && byte === 0) {
      g.partial[s] = 0;
      if (failsafe) {
        g.guest[s] = value;
        return;
      }
      this.commit(vgpuId, g, c, s, index, value);
      return;
    }
    // Partial write: merge the bytes into the guest value, hold until both halves arrive.
    c.ggttPartialWrites++;
    let lo = lo32(g.guest[s]), hi = hi32(g.guest[s]);
    for (let i = 0; i < size && byte + i < 8; i++) {
      const b = Math.floor(value / 2 ** (8 * i)) & 0xff;
      const at = byte + i;
      if (at < 4) lo = withByte(lo, at, b);
      else hi = withByte(hi, at - 4, b);
    }
    g.guest[s] = join64(lo, hi);
    if (failsafe) return;
    g.partial[s] |= byte < 4 ? 1 : 2;
    if (byte + size > 4 && byte < 4) g.partial[s] |= 2;
    if (g.partial[s] === 3) {
      g.partial[s] = 0;
      this.commit(vgpuId, g, c, s, index, g.guest[s]);
    } else {
      this.unmapSlot(vgpuId, g, c, s);
      this.put(vgpuId, g, s, index, this.scratchEntry - GEN8_PAGE_PRESENT);
    }
  }

  /** Writes a host entry of a vGPU's slice: to the GGTT, or through its private GTT (gScale). */
  private put(vgpuId: number, g: VirtualGgtt, s: number, index: number, entry: number): void {
    if (g.priv === null) this.port.ggttWrite(index, entry);
    else this.gscale!.write(vgpuId, g, s, index, entry);
  }

  /** Guest read of `size` bytes at `off` of the GTT window: the guest value, 0 outside. */
  read(g: VirtualGgtt, off: number, size: number): number {
    const s = g.slot(Math.floor(off / 8));
    if (s < 0) return 0;
    const e = g.guest[s];
    const byte = off & 7;
    if (size === 8 && byte === 0) return e;
    return bytesAt(e, byte, size);
  }

  /** Shadows a complete guest entry into the physical GGTT. */
  private commit(
    vgpuId: number,
    g: VirtualGgtt,
    c: VgpuCounters,
    s: number,
    index: number,
    e: number,
  ): void {
    c.ggttWrites++;
    if (g.guest[s] === e && g.dma[s] >= 0) c.ggttCacheHits++;
    g.guest[s] = e;
    this.unmapSlot(vgpuId, g, c, s);
    let host: number;
    if ((e % 2) !== 1) {
      host = this.scratchEntry - GEN8_PAGE_PRESENT;
    } else {
      const gfn = pteFrame(e);
      if (!this.gate.isValidGfn(vgpuId, gfn)) {
        c.ggttScratch++;
        host = this.scratchEntry;
      } else {
        c.dmaMaps++;
        const dma = this.gate.dmaMapGuestPage(vgpuId, gfn, PAGE_SIZE);
        if (dma < 0) {
          c.dmaMapFailures++;
          c.ggttScratch++;
          host = this.scratchEntry;
        } else {
          g.dma[s] = dma;
          host = pteWithAddr(e, dma);
        }
      }
    }
    this.put(vgpuId, g, s, index, host);
  }

  /** Unmaps the DMA mapping of a slot, if any. */
  private unmapSlot(vgpuId: number, g: VirtualGgtt, c: VgpuCounters, s: number): void {
    const old = g.dma[s];
    if (old >= 0) {
      c.dmaUnmaps++;
      this.gate.dmaUnmapGuestPage(vgpuId, old);
      g.dma[s] = -1;
    }
  }

  /**
   * Points every entry of the vGPU's slices at scratch (not present), unmapping all
   * mappings and clearing the virtual GGTT (device-model reset and destroy).
   */
  resetSlices(vgpuId: number, g: VirtualGgtt, c: VgpuCounters): void {
    const p = g.priv;
    // gScale: only the entries ever written hold anything (shared slots stay the holder's).
    const n = p === null ? g.guest.length : p.usedCount;
    const blank = this.scratchEntry - GEN8_PAGE_PRESENT;
    for (let i = 0; i < n; i++) {
      const s = p === null ? i : p.used[i];
      this.unmapSlot(vgpuId, g, c, s);
      g.guest[s] = 0;
      g.partial[s] = 0;
      this.put(vgpuId, g, s, g.indexOf(s), blank);
    }
  }
}
