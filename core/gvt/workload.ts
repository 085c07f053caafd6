/**
 * Workloads (i915 gvt/scheduler.h `struct intel_vgpu_workload`): one per valid context
 * descriptor of an ELSP submission. Creation reads the fields it needs from the guest's ring
 * context (head, tail, start, ctl, context control; the render engine's per-context and
 * indirect-context pointers; the PDPs), one 4-byte guest-memory read each, as upstream does;
 * checks that the ring and the render context's workaround batches lie in the vGPU's slices
 * and finds (or creates) the PPGTT mm. The caller scans and shadows the first workload of
 * an empty queue at once, the others at dispatch (dispatch.ts `scanAndShadow`).
 */

import {
  contextRing,
  contextRoot,
  CTX_BB_PER_CTX_PTR,
  CTX_CONTEXT_CONTROL,
  CTX_PDP0_LDW,
  CTX_PDP0_UDW,
  CTX_PDP1_LDW,
  CTX_PDP1_UDW,
  CTX_PDP2_LDW,
  CTX_PDP2_UDW,
  CTX_PDP3_LDW,
  CTX_PDP3_UDW,
  CTX_RCS_INDIRECT_CTX,
  CTX_RING_BUFFER_CONTROL,
  CTX_RING_BUFFER_START,
  CTX_RING_HEAD,
  CTX_RING_TAIL,
  ctxValueOffset,
  descAddressingMode,
  descLrca,
  LRC_STATE_PN,
  readContextRing,
} from "../hw/context.ts";
import { getField, isSet, le32 } from "../hw/bits.ts";
import { ENGINES } from "../hw/engines.ts";
import { BB_PER_CTX_PTR_FIELDS, INDIRECT_CTX_FIELDS } from "../hw/registers/ring.ts";
import { CACHELINE_BYTES, PAGE_SIZE } from "../hw/memory.ts";
import type { Platform } from "../hw/platform.ts";
import { LEGACY_32B_CONTEXT, RCS } from "../hw/regs.ts";
import { MPT_OK } from "../mpt/types.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { ViolationKind } from "./counters.ts";
import type { HostBuffer } from "./host_gm.ts";
import type { PpgttMm, PpgttShadow, VgpuPpgtt } from "./ppgtt.ts";
import { ScanResult } from "./scanner.ts";
import type { Vgpu } from "./vgpu_state.ts";

/**
 * Pages of an engine's context image (the engine table's, per graphics version) and how
 * many of them the mediator copies to and from the shadow context: all of them, except
 * 19 for Broadwell's render engine (scheduler.c `populate_shadow_context`,
 * `update_guest_context`).
 */
export function contextCopyPages(p: Platform, engine: number): number {
  return p.gen === 8 && engine === RCS ? 19 : ENGINES[engine].contextPages[p.gen];
}

/** Workload states. */
export const WL_QUEUED = 0, WL_PREPARING = 1, WL_RUNNING = 2, WL_DONE = 3, WL_DROPPED = 4;

/** One workload. */
export class Workload {
  /** State (WL_*). */
  state: number = WL_QUEUED;
  /** Descriptor low dword (LRCA, mode, valid). */
  descLo = 0;
  /** Descriptor high dword (context id). */
  ctxId = 0;
  /** The ELSP submission it came from: [lo0, hi0, lo1, hi1] (a plain array: cheap to make). */
  readonly elsp: number[] = [0, 0, 0, 0];
  /** First workload of its ELSP submission (emulates schedule-in at dispatch). */
  emulateScheduleIn = false;
  /** Guest ring start (GGTT address). */
  ringStart = 0;
  /** Guest ring size (bytes). */
  ringSize = 0;
  /** Guest ring control register value. */
  ringCtl = 0;
  /** Head offset (bytes). */
  head = 0;
  /** Tail offset (bytes). */
  tail = 0;
  /** PPGTT levels (3 or 4). */
  levels: 3 | 4 = 4;
  /** The PPGTT mm (reference held while the workload lives). */
  mm: PpgttMm | null = null;
  /** Its mm is pinned (from `prepare_workload` until the workload is finished). */
  mmPinned = false;
  /** Scan results (shadow ring, batches, patched interrupts, flips). */
  readonly scan: ScanResult = new ScanResult();
  /** Scanned and shadowed already (`workload->shadow`): at creation, else at dispatch. */
  shadowed = false;
  /** The vGPU's shadow context on the engine, while the workload uses it. */
  shadowCtx: HostBuffer | null = null;
  /** Guest-physical address of its context's register-state page (`ring_context_gpa`). */
  ringContextGpa = 0;
  /** Host context id used on the hardware. */
  hwCtxId = 0;
  /** ELSP submission time (ns). */
  submitTime = 0;
  /** Hardware start time (ns). */
  startTime = 0;
  /** Completed with an error (hang) or dropped by a reset. */
  failed = false;
  /** Discard results at completion (a reset happened while it ran). */
  discard = false;
  /** Trace flow id of the guest submission that created it (0: none / not tracing). */
  flow = 0;
  /** Context image pages copied to and from the shadow context. */
  ctxPages = 0;
  /** Render: the indirect-context workaround batch's graphics address (`wa_ctx.indirect_ctx`). */
  indirectCtxGma = 0;
  /** Its size in bytes (0: none). */
  indirectCtxSize = 0;
  /** Render: the per-context workaround batch's graphics address (`wa_ctx.per_ctx`). */
  perCtxGma = 0;
  /** The per-context pointer is valid. */
  perCtxValid = false;

  /**
   * Creates a Workload.
   * @param vgpu owner
   * @param engine engine id
   */
  constructor(readonly vgpu: Vgpu, readonly engine: number) {}

  /** LRCA (GGTT address of the context image). */
  get lrca(): number {
    return descLrca(this.descLo);
  }
}

/** Why a workload could not be created. */
export interface WorkloadError {
  /** Violation kind. */
  kind: ViolationKind;
  /** Detail. */
  detail: string;
}

/**
 * Ring-context fields workload creation reads, one 4-byte `intel_gvt_read_gpa` each, in
 * upstream's order (scheduler.c `intel_vgpu_create_workload`): before the ring check, ring
 * head, tail, start, control and context control; after it, on the render engine only, the
 * per-context and indirect-context pointers; then (`prepare_mm` -> `read_guest_pdps`) the
 * eight PDP dwords, `pdps[0]` (PDP3's upper dword) first.
 */
const RING_READS: readonly number[] = [
  CTX_RING_HEAD,
  CTX_RING_TAIL,
  CTX_RING_BUFFER_START,
  CTX_RING_BUFFER_CONTROL,
  CTX_CONTEXT_CONTROL,
];
const RCS_READS: readonly number[] = [CTX_BB_PER_CTX_PTR, CTX_RCS_INDIRECT_CTX];
const PDP_READS: readonly number[] = [
  CTX_PDP3_UDW,
  CTX_PDP3_LDW,
  CTX_PDP2_UDW,
  CTX_PDP2_LDW,
  CTX_PDP1_UDW,
  CTX_PDP1_LDW,
  CTX_PDP0_UDW,
  CTX_PDP0_LDW,
];

/** The fields read so far, at their places in a register-state page (only those are used). */
const ctxWords = new Uint32Array(PAGE_SIZE / 4);
const word = new Uint8Array(4);
const ctxRing = contextRing();
const ctxRoots = new Float64Array(4);
const READ_FAILED: WorkloadError = {
  kind: "context_read",
  detail: "reading the guest ring context failed",
};

/**
 * Reads ring-context `slots` of the register-state page at guest-physical `gpa` into
 * `ctxWords`, one 4-byte read each. False if a read failed (upstream ignores the result and
 * goes on with whatever the variable held; gvtsim refuses the element instead, below).
 */
function readSlots(gate: MptGate, id: number, gpa: number, slots: readonly number[]): boolean {
  for (let i = 0; i < slots.length; i++) {
    if (gate.readGpa(id, gpa + ctxValueOffset(slots[i]), word) !== MPT_OK) return false;
    ctxWords[slots[i] + 1] = le32(word, 0);
  }
  return true;
}

/**
 * Creates a workload for descriptor `i` of an ELSP submission (`intel_vgpu_create_workload`):
 * reads the ring-context fields through the GGTT (the three tables above) and checks the
 * ring. `last` is the newest queued or running workload of the engine (its tail is the head
 * when it has the same context). A read that fails refuses the element as `context_read`.
 */
export function createWorkload(
  v: Vgpu,
  engine: number,
  elsp: Uint32Array,
  i: number,
  env: { gate: MptGate; ppgtt: PpgttShadow; space: VgpuPpgtt; now: number; platform: Platform },
  last: Workload | null,
): Workload | WorkloadError {
  const { gate, ppgtt, space, now, platform } = env;
  const w = new Workload(v, engine);
  for (let k = 0; k < 4; k++) w.elsp[k] = elsp[k];
  w.descLo = elsp[2 * i];
  w.ctxId = elsp[2 * i + 1];
  w.submitTime = now;
  const gfn = v.ggtt.gmaToGfn(w.lrca + LRC_STATE_PN * PAGE_SIZE);
  w.ctxPages = contextCopyPages(platform, engine);
  w.ringContextGpa = gfn * PAGE_SIZE;
  if (gfn < 0 || !v.gmaInSlices(w.lrca, ENGINES[engine].contextPages[platform.gen] * PAGE_SIZE)) {
    return { kind: "context_read", detail: `context at 0x${w.lrca.toString(16)} not mapped` };
  }
  if (!readSlots(gate, v.id, w.ringContextGpa, RING_READS)) return READ_FAILED;
  const ring = readContextRing(ctxWords, ctxRing);
  w.ringCtl = ring.ctl;
  w.ringSize = ring.size;
  w.ringStart = ring.start;
  // The guest's context head may not be updated yet while an earlier workload of the same
  // context is queued or running: continue from that workload's tail.
  w.head = last && last.lrca === w.lrca && last.ctxId === w.ctxId ? last.tail : ring.head;
  w.tail = ring.tail;
  if (!ring.valid || !v.gmaInSlices(w.ringStart, w.ringSize)) {
    return { kind: "ring_range", detail: `ring at 0x${w.ringStart.toString(16)} outside slices` };
  }
  if (engine === RCS) {
    if (!readSlots(gate, v.id, w.ringContextGpa, RCS_READS)) return READ_FAILED;
    const bad = readWaCtx(v, w);
    if (bad !== null) return bad;
  }
  w.levels = descAddressingMode(w.descLo) === LEGACY_32B_CONTEXT ? 3 : 4;
  if (!readSlots(gate, v.id, w.ringContextGpa, PDP_READS)) return READ_FAILED; // prepare_mm
  for (let k = 0; k < 4; k++) ctxRoots[k] = contextRoot(ctxWords, k);
  if (ctxRoots[0] !== 0) w.mm = ppgtt.getMm(space, w.levels, ctxRoots);
  v.counters.workloadsCreated++;
  return w;
}

/**
 * The render context's workaround batches (`intel_vgpu_create_workload`): the
 * indirect-context batch (RING_INDIRECT_CTX: address, size in cache lines) and the
 * per-context one (RING_BB_PER_CTX_PTR: address, valid bit), read into `w`; each, if
 * present, must lie in the vGPU's slices (`intel_gvt_ggtt_validate_range`), else the
 * element is refused (-EINVAL: no failsafe).
 */
function readWaCtx(v: Vgpu, w: Workload): WorkloadError | null {
  const indirect = ctxWords[CTX_RCS_INDIRECT_CTX + 1], perCtx = ctxWords[CTX_BB_PER_CTX_PTR + 1];
  w.indirectCtxGma = (indirect & INDIRECT_CTX_FIELDS.address.mask) >>> 0;
  w.indirectCtxSize = getField(indirect, INDIRECT_CTX_FIELDS.size) * CACHELINE_BYTES;
  if (w.indirectCtxSize !== 0 && !v.gmaInSlices(w.indirectCtxGma, w.indirectCtxSize)) {
    return { kind: "wa_ctx_range", detail: `invalid wa_ctx at 0x${w.indirectCtxGma.toString(16)}` };
  }
  w.perCtxGma = (perCtx & BB_PER_CTX_PTR_FIELDS.address.mask) >>> 0;
  w.perCtxValid = isSet(perCtx, BB_PER_CTX_PTR_FIELDS.valid);
  if (w.perCtxValid && !v.gmaInSlices(w.perCtxGma, CACHELINE_BYTES)) {
    return { kind: "wa_ctx_range", detail: `invalid per_ctx at 0x${w.perCtxGma.toString(16)}` };
  }
  return null;
}

/** True if `x` is a creation error. */
export function isWorkloadError(x: Workload | WorkloadError): x is WorkloadError {
  return (x as WorkloadError).kind !== undefined;
}
