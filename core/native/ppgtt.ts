/**
 * A gen8 4-level PPGTT built by a driver in memory: PML4 [47:39] -> PDP [38:30] -> PD
 * [29:21] -> PT [20:12], 8-byte entries with present (bit 0) and writable (bit 1).
 * Page-table frames are allocated from host memory with the driver's owner tag.
 */

import { type HostMemory, PAGE_SIZE } from "../hw/memory.ts";
import {
  entryAddress,
  entryHi,
  entryLo,
  entryPresent,
  GEN8_PAGE_PRESENT,
  GEN8_PAGE_RW,
  LEVEL_PD,
  LEVEL_PDP,
  LEVEL_PML4,
  LEVEL_PT,
  ptIndex,
} from "../hw/pte.ts";

const PTE_FLAGS = GEN8_PAGE_PRESENT | GEN8_PAGE_RW;

/** A 4-level page table. */
export class Ppgtt4 {
  /** Physical address of the PML4 page (goes into the context's PDP0). */
  readonly pml4: number;
  /** Page-table frames allocated (including the PML4). */
  tableFrames = 1;
  /** PTE writes performed. */
  pteWrites = 0;

  /**
   * Creates the instance.
   * @param memory host memory
   * @param owner owner tag for page-table frames
   */
  constructor(private readonly memory: HostMemory, private readonly owner: number) {
    this.pml4 = this.newTable();
  }

  /** Allocates a zeroed page-table frame. */
  private newTable(): number {
    const mfn = this.memory.allocFrame(this.owner);
    if (mfn < 0) return -1;
    this.tableFrames++;
    return mfn * PAGE_SIZE;
  }

  /** The next-level table of an entry, created on demand. */
  private next(table: number, index: number, create: boolean): number {
    const a = table + index * 8;
    const lo = this.memory.read32(a);
    if (entryPresent(lo)) return entryAddress(lo, this.memory.read32(a + 4));
    if (!create) return -1;
    const t = this.newTable();
    if (t < 0) return -1;
    this.setEntry(a, t);
    return t;
  }

  /** Physical address of the PTE of `va`, or -1. */
  private ptAddr(va: number, create: boolean): number {
    const pdp = this.next(this.pml4, ptIndex(va, LEVEL_PML4), create);
    if (pdp < 0) return -1;
    const pd = this.next(pdp, ptIndex(va, LEVEL_PDP), create);
    if (pd < 0) return -1;
    const pt = this.next(pd, ptIndex(va, LEVEL_PD), create);
    if (pt < 0) return -1;
    return pt + ptIndex(va, LEVEL_PT) * 8;
  }

  /** Maps the page at `va` to frame `mfn`; false if a table could not be allocated. */
  map(va: number, mfn: number): boolean {
    const a = this.ptAddr(va, true);
    if (a < 0) return false;
    this.setEntry(a, mfn * PAGE_SIZE);
    this.pteWrites++;
    return true;
  }

  /** Writes the entry at `a` pointing at `addr`, present and writable. */
  private setEntry(a: number, addr: number): void {
    this.memory.write32(a, entryLo(addr, PTE_FLAGS));
    this.memory.write32(a + 4, entryHi(addr));
  }

  /** Clears the PTE of `va`. */
  unmap(va: number): void {
    const a = this.ptAddr(va, false);
    if (a < 0) return;
    this.memory.write32(a, 0);
    this.memory.write32(a + 4, 0);
    this.pteWrites++;
  }

  /** Physical address of the PTE of `va`, or -1 (for PTE rewrites). */
  pteAddress(va: number): number {
    return this.ptAddr(va, false);
  }

  /** Rewrites the PTE of `va` with its current value (a page-table write). */
  rewrite(va: number): void {
    const a = this.ptAddr(va, false);
    if (a < 0) return;
    this.memory.write32(a, this.memory.read32(a));
    this.memory.write32(a + 4, this.memory.read32(a + 4));
    this.pteWrites++;
  }
}
