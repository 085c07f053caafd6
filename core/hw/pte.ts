/**
 * The gen8 page-table entry format, shared by the GGTT and the 4-level PPGTT, and how a
 * graphics address indexes the tables: one place for the bits the GPU model, the mediator's
 * shadows and both drivers read and write.
 *
 * Sources (Linux drivers/gpu/drm/i915/): gt/intel_gtt.h (GEN8_PAGE_PRESENT, GEN8_PAGE_RW,
 * GEN8_PDE_PS_2M, GEN8_PDE_IPS_64K, GEN8_PTE_ADDR_MASK bits 38:12, `gen8_pd_index` with 9 bits
 * per level over 4 KiB pages), gvt/gtt.c (`gen8_gtt_get_pfn`, `gen8_gtt_set_pfn`).
 */

import { type BitField, field, getField, hi32, join64, lo32 } from "./bits.ts";
import { PAGE_SIZE } from "./memory.ts";

/** Entry present. */
export const GEN8_PAGE_PRESENT = 1 << 0;
/** Entry writable. */
export const GEN8_PAGE_RW = 1 << 1;
/** PDE / PDPE: a 2 MiB (1 GiB) leaf instead of a next-level table. */
export const GEN8_PDE_PS_2M = 1 << 7;
/** PDE: the page table it points to maps 64 KiB pages. */
export const GEN8_PDE_IPS_64K = 1 << 11;
/** Bytes of a 2 MiB page (a PDE with GEN8_PDE_PS_2M; I915_GTT_PAGE_SIZE_2M). */
export const PAGE_SIZE_2M = 0x200000;
/** Address bits of an entry (38:12), as a number. */
export const GEN8_PTE_ADDR_MASK = 0x7ffffff000;

/** Page-table levels: PT (maps pages), PD, PDP, PML4. */
export const LEVEL_PT = 1, LEVEL_PD = 2, LEVEL_PDP = 3, LEVEL_PML4 = 4;
/** Entries per table (512 eight-byte entries in a page). */
export const PT_ENTRIES = 512;

/** Bytes an entry's address covers below bit 39. */
const ADDR_SPAN = 2 ** 39;
/** Flag bits of an entry's lower dword (11:0). */
const ENTRY_FLAGS: BitField = field(11, 0);
/** Address bits 31:12 in an entry's lower dword. */
const ENTRY_ADDR_LO: BitField = field(31, 12);
/** Address bits 38:32 in an entry's upper dword (its bits 6:0). */
const ENTRY_ADDR_HI: BitField = field(6, 0);
/** Which of a legacy PPGTT's four PDPs maps an address: its bits 31:30. */
const LEGACY_PDP: BitField = field(31, 30);
const FLAG_MASK = ENTRY_FLAGS.mask;

/** Bytes one entry of a level-`level` table maps (4 KiB, 2 MiB, 1 GiB, 512 GiB), by level. */
const LEVEL_SPAN = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];

/** Index into the level-`level` table of the address `gma` (`gen8_pd_index`). */
export function ptIndex(gma: number, level: number): number {
  return Math.floor(gma / LEVEL_SPAN[level]) % PT_ENTRIES;
}

/** Which of the 4 PDPs of a legacy 32-bit (3-level) PPGTT maps `gma`. */
export function legacyPdpIndex(gma: number): number {
  return getField(gma, LEGACY_PDP);
}

/** True if an entry (its lower dword, or the whole entry as a number) is present. */
export function entryPresent(lo: number): boolean {
  return (lo & GEN8_PAGE_PRESENT) !== 0;
}

/** Address an entry given as its two dwords points at (bits 38:12). */
export function entryAddress(lo: number, hi: number): number {
  return join64(lo & ENTRY_ADDR_LO.mask, getField(hi, ENTRY_ADDR_HI));
}

/** Frame an entry given as its two dwords points at. */
export function entryFrame(lo: number, hi: number): number {
  return entryAddress(lo, hi) / PAGE_SIZE;
}

/** Frame of an entry held as one number (`gen8_gtt_get_pfn`). */
export function pteFrame(e: number): number {
  return Math.floor((e % ADDR_SPAN) / PAGE_SIZE);
}

/** The flag bits (11:0) of an entry held as one number. */
export function pteFlags(e: number): number {
  return e & FLAG_MASK;
}

/** Entry `e` pointed at the page-aligned address `addr`, flags kept (`gen8_gtt_set_pfn`). */
export function pteWithAddr(e: number, addr: number): number {
  return addr - (addr % PAGE_SIZE) + (e & FLAG_MASK);
}

/** An entry as one number: `addr` with `flags`. */
export function pteOf(addr: number, flags: number): number {
  return addr - (addr % PAGE_SIZE) + flags;
}

/** Lower dword of an entry pointing at `addr` with `flags`. */
export function entryLo(addr: number, flags: number): number {
  return (lo32(addr) | flags) >>> 0;
}

/** Upper dword of an entry pointing at `addr`. */
export function entryHi(addr: number): number {
  return hi32(addr);
}

/** An entry given as its two dwords, as one number (address bits 38:12 and the flags). */
export function entryValue(lo: number, hi: number): number {
  return join64(lo, getField(hi, ENTRY_ADDR_HI));
}
