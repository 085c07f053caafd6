/**
 * Virtual execlists (i915 gvt/execlist.c): the ELSP port collects four dword writes into
 * two context descriptors (the 4th write submits), two virtual slots (running, pending)
 * track what the guest believes runs, and the context status buffer (core/hw/csb.ts; after
 * a reset the read pointer is 0 and the write pointer 7, `reset_execlist`) plus the
 * execlist status register (`struct execlist_status_format`) are emulated in the vreg. CSB
 * events are mirrored into the guest's hardware status page when it programmed one.
 */

import { ENGINES } from "../hw/engines.ts";
import { setField } from "../hw/bits.ts";
import {
  CSB_ENTRIES,
  CSB_RESET_PTR,
  csbEntryOffset,
  csbNext,
  csbPtrOffset,
  csbPtrValue,
  csbReadPtr,
  csbWritePtr,
} from "../hw/csb.ts";
import { EXECLIST_STATUS_FIELDS as ST } from "../hw/registers/ring.ts";
import {
  GEN8_CTX_STATUS_ACTIVE_IDLE,
  GEN8_CTX_STATUS_COMPLETE,
  GEN8_CTX_STATUS_ELEMENT_SWITCH,
  GEN8_CTX_STATUS_IDLE_ACTIVE,
  GEN8_CTX_STATUS_LITE_RESTORE,
  GEN8_CTX_STATUS_PREEMPTED,
  GEN8_CTX_VALID,
  RING_EXECLIST_STATUS_HI,
  RING_EXECLIST_STATUS_LO,
} from "../hw/regs.ts";

/** One ELSP submission: two descriptors (lo, hi dwords each). */
export class ExeclistSlot {
  /** Descriptor dwords: [lo0, hi0, lo1, hi1]. */
  readonly desc: Uint32Array = new Uint32Array(4);
  /** Element currently running inside the slot (0 or 1). */
  element = 0;

  /** True if element `i` is valid. */
  valid(i: number): boolean {
    return (this.desc[2 * i] & GEN8_CTX_VALID) !== 0;
  }
}

/** Per-engine virtual execlist state of one vGPU. */
export class VirtualExeclist {
  /** ELSP dwords collected so far (index 3 - writes, as the kernel stores them). */
  readonly elsp: Uint32Array = new Uint32Array(4);
  /** ELSP writes collected (0..3). */
  elspIndex = 0;
  /** The two virtual slots. */
  readonly slots = [new ExeclistSlot(), new ExeclistSlot()];
  /** Running slot index or -1. */
  running: number = -1;
  /** Pending slot index or -1. */
  pending: number = -1;

  /** Creates a VirtualExeclist.
   * @param engine engine id */
  constructor(readonly engine: number) {}

  /** Clears everything (engine reset). */
  reset(): void {
    this.elsp.fill(0);
    this.elspIndex = 0;
    this.running = -1;
    this.pending = -1;
    for (const s of this.slots) {
      s.desc.fill(0);
      s.element = 0;
    }
  }

  /**
   * Records one ELSP dword write. Returns true on the 4th write (the submission is then in
   * `elsp`: [lo0, hi0, lo1, hi1]).
   */
  writeElsp(value: number): boolean {
    this.elsp[3 - this.elspIndex] = value >>> 0;
    const submit = this.elspIndex === 3;
    this.elspIndex = (this.elspIndex + 1) & 3;
    return submit;
  }
}

/** Mirror of CSB events into guest memory (the HWSP), provided by the mediator. */
export interface CsbSink {
  /** Writes a CSB entry and the write pointer into the guest HWSP (if one is set). */
  mirrorCsb(engine: number, entry: number, status: number, ctxId: number, writePtr: number): void;
}

/** Appends a CSB entry to the vreg (`emulate_csb_update`); returns the entry index used. */
export function emulateCsbUpdate(
  vreg: Uint32Array,
  engine: number,
  status: number,
  ctxId: number,
  sink: CsbSink | null,
): number {
  const ptrIdx = csbPtrOffset(engine) >>> 2;
  const ptr = vreg[ptrIdx];
  const w = csbNext(csbWritePtr(ptr));
  const at = csbEntryOffset(engine, w) >>> 2;
  vreg[at] = status >>> 0;
  vreg[at + 1] = ctxId >>> 0;
  vreg[ptrIdx] = csbPtrValue(csbReadPtr(ptr), w);
  if (sink) sink.mirrorCsb(engine, w, status, ctxId, w);
  return w;
}

/** Resets an engine's virtual CSB (`reset_execlist`: read pointer 0, write pointer 7). */
export function resetCsb(vreg: Uint32Array, engine: number): void {
  vreg[csbPtrOffset(engine) >>> 2] = csbPtrValue(0, CSB_RESET_PTR);
  const at = csbEntryOffset(engine, 0) >>> 2;
  vreg.fill(0, at, at + 2 * CSB_ENTRIES);
}

/**
 * Updates EXECLIST_STATUS (`emulate_execlist_status`): current and write pointer, element 0
 * or 1 valid and active by the running slot, queue full while a submission is pending, the
 * running context's id in the upper dword; other bits keep their value.
 */
export function emulateExeclistStatus(vreg: Uint32Array, el: VirtualExeclist): void {
  const base = ENGINES[el.engine].mmioBase;
  const loIdx = (base + RING_EXECLIST_STATUS_LO) >>> 2;
  let lo = vreg[loIdx], hi = 0;
  const run = el.running;
  const one = run === 1 ? 1 : 0, zero = run === 0 ? 1 : 0;
  if (run >= 0) {
    lo = setField(lo, ST.currentPointer, one);
    lo = setField(lo, ST.writePointer, 1 - one);
  }
  lo = setField(lo, ST.el0Valid, zero);
  lo = setField(lo, ST.el0Active, zero);
  lo = setField(lo, ST.el1Valid, one);
  lo = setField(lo, ST.el1Active, one);
  lo = setField(lo, ST.queueFull, el.pending >= 0 ? 1 : 0);
  if (run >= 0) {
    const s = el.slots[run];
    hi = s.desc[2 * s.element + 1];
  }
  vreg[loIdx] = lo;
  vreg[(base + RING_EXECLIST_STATUS_HI) >>> 2] = hi >>> 0;
}

/**
 * Schedule-in of an ELSP submission (`emulate_execlist_schedule_in`). Returns true if a CSB
 * event was written (idle-to-active or lite restore), so the caller raises the
 * context-switch interrupt.
 */
export function emulateScheduleIn(
  vreg: Uint32Array,
  el: VirtualExeclist,
  desc: ArrayLike<number>,
  sink: CsbSink | null,
): boolean {
  if (el.running < 0) {
    const s = el.slots[0];
    s.desc.set(desc);
    s.element = 0;
    el.running = 0;
    emulateExeclistStatus(vreg, el);
    emulateCsbUpdate(vreg, el.engine, GEN8_CTX_STATUS_IDLE_ACTIVE, 0, sink);
    return true;
  }
  const run = el.slots[el.running];
  const cur = run.desc[2 * run.element + 1];
  const slotIdx = el.running ^ 1;
  const s = el.slots[slotIdx];
  s.desc.set(desc);
  s.element = 0;
  if (desc[1] === cur) {
    // Lite restore: the running context was resubmitted with a new tail.
    el.running = slotIdx;
    el.pending = -1;
    emulateExeclistStatus(vreg, el);
    emulateCsbUpdate(
      vreg,
      el.engine,
      GEN8_CTX_STATUS_LITE_RESTORE | GEN8_CTX_STATUS_PREEMPTED,
      desc[1],
      sink,
    );
    return true;
  }
  el.pending = slotIdx;
  emulateExeclistStatus(vreg, el);
  return false;
}

/**
 * Schedule-out of the context `ctxId` (`emulate_execlist_ctx_schedule_out`): element
 * switch inside a slot, or completion of the slot (active-to-idle when nothing is
 * pending, else the pending slot starts). Returns true if a CSB event was written.
 */
export function emulateScheduleOut(
  vreg: Uint32Array,
  el: VirtualExeclist,
  ctxId: number,
  sink: CsbSink | null,
): boolean {
  if (el.running < 0) return false;
  const run = el.slots[el.running];
  if (run.element === 0 && run.valid(1) && run.desc[1] === ctxId) {
    run.element = 1;
    emulateExeclistStatus(vreg, el);
    emulateCsbUpdate(
      vreg,
      el.engine,
      GEN8_CTX_STATUS_ELEMENT_SWITCH | GEN8_CTX_STATUS_COMPLETE,
      ctxId,
      sink,
    );
    return true;
  }
  const status = GEN8_CTX_STATUS_COMPLETE | (el.pending < 0 ? GEN8_CTX_STATUS_ACTIVE_IDLE : 0);
  emulateCsbUpdate(vreg, el.engine, status, ctxId, sink);
  el.running = el.pending;
  el.pending = -1;
  if (el.running >= 0) el.slots[el.running].element = 0;
  emulateExeclistStatus(vreg, el);
  return true;
}
