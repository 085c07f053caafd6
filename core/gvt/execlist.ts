/**
 * Virtual execlists (i915 gvt/execlist.c): the ELSP port collects four dword writes into
 * two context descriptors (the 4th write submits), two virtual slots (running, pending)
 * track what the guest believes runs, and the context status buffer (CSB: 6 entries at
 * ring base + 0x370, write pointer at + 0x3a0 starting at 7 and cycling mod 6) plus the
 * execlist status register are emulated in the vreg. CSB events are mirrored into the
 * guest's hardware status page when it programmed one.
 */

import {
  CSB_ENTRIES,
  CSB_RESET_WRITE_PTR,
  GEN8_CTX_STATUS_ACTIVE_IDLE,
  GEN8_CTX_STATUS_COMPLETE,
  GEN8_CTX_STATUS_ELEMENT_SWITCH,
  GEN8_CTX_STATUS_IDLE_ACTIVE,
  GEN8_CTX_STATUS_LITE_RESTORE,
  GEN8_CTX_STATUS_PREEMPTED,
  GEN8_CTX_VALID,
  RING_BASE,
  RING_CONTEXT_STATUS_BUF,
  RING_CONTEXT_STATUS_PTR,
  RING_EXECLIST_STATUS_HI,
  RING_EXECLIST_STATUS_LO,
} from "../hw/regs.ts";

/** HWSP dword index of the first CSB entry (I915_HWS_CSB_BUF0_INDEX). */
export const I915_HWS_CSB_BUF0_INDEX = 0x10;
/** HWSP dword index of the CSB write pointer (gen9 I915_HWS_CSB_WRITE_INDEX). */
export const I915_HWS_CSB_WRITE_INDEX = 0x1f;

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
  const base = RING_BASE[engine];
  const ptrIdx = (base + RING_CONTEXT_STATUS_PTR) >>> 2;
  const ptr = vreg[ptrIdx];
  let w = ptr & 0xf;
  w = w === CSB_RESET_WRITE_PTR || w >= CSB_ENTRIES ? 0 : (w + 1) % CSB_ENTRIES;
  const buf = (base + RING_CONTEXT_STATUS_BUF) >>> 2;
  vreg[buf + 2 * w] = status >>> 0;
  vreg[buf + 2 * w + 1] = ctxId >>> 0;
  vreg[ptrIdx] = ((ptr & ~0xf) | w) >>> 0;
  if (sink) sink.mirrorCsb(engine, w, status, ctxId, w);
  return w;
}

/** Resets the CSB pointers of an engine (read and write pointer 7). */
export function resetCsb(vreg: Uint32Array, engine: number): void {
  const base = RING_BASE[engine];
  vreg[(base + RING_CONTEXT_STATUS_PTR) >>> 2] = (CSB_RESET_WRITE_PTR << 8) | CSB_RESET_WRITE_PTR;
  const buf = (base + RING_CONTEXT_STATUS_BUF) >>> 2;
  vreg.fill(0, buf, buf + 2 * CSB_ENTRIES);
}

/** Updates EXECLIST_STATUS (`emulate_execlist_status`). */
export function emulateExeclistStatus(vreg: Uint32Array, el: VirtualExeclist): void {
  const base = RING_BASE[el.engine];
  let lo = 0, hi = 0;
  if (el.running >= 0) {
    const s = el.slots[el.running];
    lo |= el.running; // current execlist pointer
    lo |= (el.running ^ 1) << 1; // write pointer
    lo |= 1 << (14 + s.element); // active element
    hi = s.desc[2 * s.element + 1];
  }
  if (el.pending >= 0) lo |= 1 << 4; // queue full
  vreg[(base + RING_EXECLIST_STATUS_LO) >>> 2] = lo >>> 0;
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
  desc: Uint32Array,
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
