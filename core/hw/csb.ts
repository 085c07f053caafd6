/**
 * Context status buffer arithmetic, in one place for the hardware model, the mediator's
 * virtual CSB, and the guest and native drivers: 6 entries of two dwords (status, context
 * id) at ring base + 0x370, and a pointer register at + 0x3a0 holding the write pointer in
 * bits 2:0 and the read pointer in bits 10:8 (gvt/execlist.h
 * `execlist_context_status_pointer_format`). After a reset the write pointer is 7, "no
 * entry written": the first entry written is entry 0 (i915 execlists_reset_csb).
 */

import { ENGINES } from "./engines.ts";
import { fieldValue, getField } from "./bits.ts";
import { CSB_ENTRIES, CSB_PTR_FIELDS } from "./registers/ring.ts";
import { RING_CONTEXT_STATUS_BUF, RING_CONTEXT_STATUS_PTR } from "./regs.ts";

export { CSB_ENTRIES };

/** Pointer value after reset: no entry written yet. */
export const CSB_RESET_PTR = 7;

/** The entry after `ptr` (entry 0 after the reset value). */
export function csbNext(ptr: number): number {
  return ptr >= CSB_ENTRIES ? 0 : (ptr + 1) % CSB_ENTRIES;
}

/** The write pointer in a CONTEXT_STATUS_PTR value. */
export function csbWritePtr(reg: number): number {
  return getField(reg, CSB_PTR_FIELDS.writePtr);
}

/** The read pointer in a CONTEXT_STATUS_PTR value. */
export function csbReadPtr(reg: number): number {
  return getField(reg, CSB_PTR_FIELDS.readPtr);
}

/** A CONTEXT_STATUS_PTR value with these pointers. */
export function csbPtrValue(read: number, write: number): number {
  return fieldValue(CSB_PTR_FIELDS.readPtr, read) | fieldValue(CSB_PTR_FIELDS.writePtr, write);
}

/** A masked write of CONTEXT_STATUS_PTR that sets the read pointer (software consumed up to it). */
export function csbReadPtrWrite(read: number): number {
  return ((CSB_PTR_FIELDS.readPtr.mask << 16) | fieldValue(CSB_PTR_FIELDS.readPtr, read)) >>> 0;
}

/** BAR0 offset of an engine's CONTEXT_STATUS_PTR. */
export function csbPtrOffset(engine: number): number {
  return ENGINES[engine].mmioBase + RING_CONTEXT_STATUS_PTR;
}

/** BAR0 offset of the status dword of entry `i` of an engine's CSB (the context id follows). */
export function csbEntryOffset(engine: number, i: number): number {
  return ENGINES[engine].mmioBase + RING_CONTEXT_STATUS_BUF + 8 * i;
}

/** HWSP dword index of the first CSB entry (I915_HWS_CSB_BUF0_INDEX). */
export const I915_HWS_CSB_BUF0_INDEX = 0x10;
/** HWSP dword index of the CSB write pointer (gen9 I915_HWS_CSB_WRITE_INDEX). */
export const I915_HWS_CSB_WRITE_INDEX = 0x1f;

/**
 * What a driver's CSB walk goes through ({@link walkCsb}): its own register accessors (a
 * guest's trap to the mediator and cost time, the native driver's do not) and what it does
 * with each entry. A driver implements it itself, so the walk makes no closure.
 */
export interface CsbReader {
  /** Reads the 32-bit register at a BAR0 offset. */
  csbRead(offset: number): number;
  /** Writes the 32-bit register at a BAR0 offset. */
  csbWrite(offset: number, value: number): void;
  /** One new entry of `engine`'s CSB: its status and context id dwords. */
  csbEntry(engine: number, status: number, ctxId: number): void;
}

/**
 * i915's `process_csb` walk: reads `engine`'s CONTEXT_STATUS_PTR, then every entry after
 * read pointer `read` up to the write pointer (status dword, then context id), and writes the
 * new read pointer back. Returns it; `read` unchanged, with nothing written, while the write
 * pointer still holds its reset value.
 */
export function walkCsb(driver: CsbReader, engine: number, read: number): number {
  const ptr = csbPtrOffset(engine);
  const write = csbWritePtr(driver.csbRead(ptr));
  if (write >= CSB_ENTRIES) return read; // nothing written since the reset
  let rp = read;
  while (rp !== write) {
    rp = csbNext(rp);
    const at = csbEntryOffset(engine, rp);
    const status = driver.csbRead(at);
    driver.csbEntry(engine, status, driver.csbRead(at + 4));
  }
  driver.csbWrite(ptr, csbReadPtrWrite(rp));
  return rp;
}
