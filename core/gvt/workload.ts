/**
 * Workloads (i915 gvt/scheduler.h `struct intel_vgpu_workload`): one per valid context
 * descriptor of an ELSP submission. Creation reads the guest's ring context (head, tail,
 * start, ctl, PDPs) through the vGPU's virtual GGTT, checks that the ring lies in the
 * vGPU's slices and finds (or creates) the PPGTT mm; scanning and shadowing happen at
 * dispatch (dispatch.ts).
 */

import {
  CTX_PDP0_LDW,
  CTX_PDP0_UDW,
  CTX_PDP1_LDW,
  CTX_PDP1_UDW,
  CTX_PDP2_LDW,
  CTX_PDP2_UDW,
  CTX_PDP3_LDW,
  CTX_PDP3_UDW,
  CTX_RING_BUFFER_CONTROL,
  CTX_RING_BUFFER_START,
  CTX_RING_HEAD,
  CTX_RING_TAIL,
  GEN8_CTX_ADDRESSING_MODE_SHIFT,
  LEGACY_32B_CONTEXT,
  LRC_STATE_PN,
  RING_NR_PAGES,
  RING_VALID,
} from "../hw/regs.ts";
import { ENGINES } from "../hw/engines.ts";
import type { Platform } from "../hw/platform.ts";
import { RCS } from "../hw/regs.ts";
import { MPT_OK } from "../mpt/types.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { ViolationKind } from "./counters.ts";
import type { HostBuffer } from "./host_gm.ts";
import type { PpgttMm, PpgttShadow, VgpuPpgtt } from "./ppgtt.ts";
import { ScanResult } from "./scanner.ts";
import type { Vgpu } from "./vgpu_state.ts";

const PAGE = 4096;
const TWO32 = 4294967296;
/**
 * Pages of an engine's context image (the engine table's, per graphics version) and how
 * many of them the mediator copies to and from the shadow context: all of them, except
 * 19 for Broadwell's render engine (scheduler.c `populate_shadow_context`,
 * `update_guest_context`).
 */
export function contextCopyPages(p: Platform, engine: number): number {
  return p.gen === 8 && engine === RCS ? 19 : ENGINES[engine].contextPages[p.gen];
}
const PDP_L = [CTX_PDP0_LDW, CTX_PDP1_LDW, CTX_PDP2_LDW, CTX_PDP3_LDW];
const PDP_U = [CTX_PDP0_UDW, CTX_PDP1_UDW, CTX_PDP2_UDW, CTX_PDP3_UDW];

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
  /** The ELSP submission it came from: [lo0, hi0, lo1, hi1]. */
  readonly elsp: Uint32Array = new Uint32Array(4);
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
  /** Guest PDP / PML4 values. */
  readonly pdps: Float64Array = new Float64Array(4);
  /** The PPGTT mm (reference held while the workload lives). */
  mm: PpgttMm | null = null;
  /** Scan results (shadow ring, batches, patched interrupts, flips). */
  readonly scan: ScanResult = new ScanResult();
  /** Shadow context buffer. */
  shadowCtx: HostBuffer | null = null;
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

  /**
   * Creates a Workload.
   * @param vgpu owner
   * @param engine engine id
   */
  constructor(readonly vgpu: Vgpu, readonly engine: number) {}

  /** LRCA (GGTT address of the context image). */
  get lrca(): number {
    return (this.descLo & 0xfffff000) >>> 0;
  }
}

/** Why a workload could not be created. */
export interface WorkloadError {
  /** Violation kind. */
  kind: ViolationKind;
  /** Detail. */
  detail: string;
}

const ctxPage = new Uint8Array(PAGE);
const ctxWords = new Uint32Array(ctxPage.buffer);

/**
 * Creates a workload for descriptor `i` of an ELSP submission (`intel_vgpu_create_workload`):
 * reads the ring context through the GGTT and checks the ring. `last` is the newest queued
 * or running workload of the engine (its tail is the head when it has the same context).
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
  w.elsp.set(elsp);
  w.descLo = elsp[2 * i];
  w.ctxId = elsp[2 * i + 1];
  w.submitTime = now;
  const gfn = v.ggtt.gmaToGfn(w.lrca + LRC_STATE_PN * PAGE);
  w.ctxPages = contextCopyPages(platform, engine);
  if (gfn < 0 || !v.gmaInSlices(w.lrca, ENGINES[engine].contextPages[platform.gen] * PAGE)) {
    return { kind: "context_read", detail: `context at 0x${w.lrca.toString(16)} not mapped` };
  }
  if (gate.readGpa(v.id, gfn * PAGE, ctxPage) !== MPT_OK) {
    return { kind: "context_read", detail: "reading the guest ring context failed" };
  }
  const ctl = ctxWords[CTX_RING_BUFFER_CONTROL + 1];
  w.ringCtl = ctl;
  w.ringSize = (((ctl & RING_NR_PAGES) >>> 12) + 1) * PAGE;
  w.ringStart = (ctxWords[CTX_RING_BUFFER_START + 1] & 0xfffff000) >>> 0;
  // The guest's context head may not be updated yet while an earlier workload of the same
  // context is queued or running: continue from that workload's tail.
  w.head = last && last.lrca === w.lrca && last.ctxId === w.ctxId
    ? last.tail
    : ctxWords[CTX_RING_HEAD + 1] & (w.ringSize - 1) & ~3;
  w.tail = ctxWords[CTX_RING_TAIL + 1] & (w.ringSize - 1) & ~3;
  if ((ctl & RING_VALID) === 0 || !v.gmaInSlices(w.ringStart, w.ringSize)) {
    return { kind: "ring_range", detail: `ring at 0x${w.ringStart.toString(16)} outside slices` };
  }
  const mode = (w.descLo >>> GEN8_CTX_ADDRESSING_MODE_SHIFT) & 3;
  w.levels = mode === LEGACY_32B_CONTEXT ? 3 : 4;
  for (let k = 0; k < 4; k++) {
    w.pdps[k] = ((ctxWords[PDP_L[k] + 1] & 0xfffff000) >>> 0) +
      (ctxWords[PDP_U[k] + 1] & 0x7f) * TWO32;
  }
  if (w.pdps[0] !== 0) w.mm = ppgtt.getMm(space, w.levels, w.pdps);
  v.counters.workloadsCreated++;
  return w;
}

/** True if `x` is a creation error. */
export function isWorkloadError(x: Workload | WorkloadError): x is WorkloadError {
  return (x as WorkloadError).kind !== undefined;
}
