/**
 * Failsafe and reset (docs/domain.md section 9, i915 gvt/vgpu.c `intel_gvt_reset_vgpu_locked`,
 * handlers.c `enter_failsafe_mode`). Failsafe: MMIO and GTT accesses become plain copies,
 * nothing is shadowed or submitted; queued workloads are dropped and running ones
 * discarded. Resets: per-engine (GDRST bits: clean that engine's workloads, reset its
 * virtual execlist and CSB), full GT (all engines, PPGTT shadows invalidated, engine MMIO
 * below 0x44200 reloaded), device-model level (FLR: additionally destroy every PPGTT mm,
 * point the slices' GGTT entries at scratch, clear fences, reload the whole MMIO snapshot,
 * PVINFO and config space, stop the display, and clear failsafe). Every reset stops
 * scheduling the vGPU until its guest enables execlists again. Other vGPUs are untouched.
 */

import { NUM_ENGINES } from "../hw/regs.ts";
import type { FailsafeReason } from "./counters.ts";
import { resetCsb } from "./execlist.ts";
import type { Workload } from "./workload.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** GVT_GEN8_MMIO_RESET_OFFSET: a GT reset reloads registers below this offset only. */
export const GVT_GEN8_MMIO_RESET_OFFSET = 0x44200;

/** Reset kinds. */
export type ResetKind = "dmlr" | "gt" | number;

/** What resets need from the mediator. */
export interface ResetHost {
  /** Workload in flight per engine. */
  readonly running: readonly (Workload | null)[];
  /** Destroys a queued workload (`intel_vgpu_destroy_workload`): shadows freed, mm put. */
  destroyQueued(w: Workload): void;
  /** Invalidates (keeps) or destroys (`destroy`) the vGPU's PPGTT shadows. */
  resetPpgtt(v: Vgpu, destroy: boolean): void;
  /** Points the slices' GGTT entries at scratch. */
  resetGgtt(v: Vgpu): void;
  /** Clears the vGPU's physical fences. */
  clearFences(v: Vgpu): void;
  /** Reloads vreg [from, to) from the hardware snapshot. */
  reloadMmio(v: Vgpu, from: number, to: number): void;
  /** Rewrites PVINFO. */
  populatePvinfo(v: Vgpu): void;
  /** Stops the display timer and clears pending flips. */
  resetDisplay(v: Vgpu): void;
  /** Restores default config space. */
  resetCfg(v: Vgpu): void;
  /** Takes the vGPU off the scheduler's run queue (`intel_vgpu_stop_schedule`). */
  stopSchedule(v: Vgpu): void;
}

/** Drops queued workloads of `engineMask` and marks running ones to be discarded. */
export function cleanWorkloads(h: ResetHost, v: Vgpu, engineMask: number): void {
  for (let e = 0; e < NUM_ENGINES; e++) {
    if (!(engineMask & (1 << e))) continue;
    const q = v.queues[e];
    v.counters.workloadsDropped += q.length;
    for (const w of q) h.destroyQueued(w);
    q.length = 0;
    const r = h.running[e];
    if (r && r.vgpu === v) r.discard = true;
  }
}

/** `enter_failsafe_mode`. */
export function enterFailsafe(h: ResetHost, v: Vgpu, reason: FailsafeReason): void {
  if (v.failsafe) return;
  v.failsafe = true;
  v.failsafeReason = reason;
  v.counters.failsafeEntries++;
  cleanWorkloads(h, v, (1 << NUM_ENGINES) - 1);
}

/**
 * Resets a vGPU (`intel_gvt_reset_vgpu_locked`). Every reset takes it off the run queue;
 * it rejoins, with fresh start-up priority, when its guest enables execlists again.
 */
export function resetVgpu(h: ResetHost, v: Vgpu, kind: ResetKind): void {
  const all = (1 << NUM_ENGINES) - 1;
  const mask = kind === "dmlr" || kind === "gt" || kind === -1 ? all : kind & all;
  h.stopSchedule(v);
  cleanWorkloads(h, v, mask);
  for (let e = 0; e < NUM_ENGINES; e++) {
    if (!(mask & (1 << e))) continue;
    v.execlists[e].reset();
    resetCsb(v.vreg, e);
  }
  if (kind === "dmlr") {
    h.resetPpgtt(v, true);
    h.resetGgtt(v);
    h.clearFences(v);
    h.reloadMmio(v, 0, v.vreg.length * 4);
    h.populatePvinfo(v);
    for (let e = 0; e < NUM_ENGINES; e++) resetCsb(v.vreg, e);
    h.resetDisplay(v);
    h.resetCfg(v);
    v.runList.fill(0);
    v.tlbPending = 0;
    v.failsafe = false;
    v.failsafeReason = null;
    v.pvAware = false;
    v.counters.resetsDmlr++;
  } else if (mask === all) {
    h.resetPpgtt(v, false);
    h.reloadMmio(v, 0, GVT_GEN8_MMIO_RESET_OFFSET);
    h.populatePvinfo(v);
    for (let e = 0; e < NUM_ENGINES; e++) resetCsb(v.vreg, e);
    v.runList.fill(0);
    v.counters.resetsGt++;
  } else {
    v.counters.resetsEngine++;
  }
}
