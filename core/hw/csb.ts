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
