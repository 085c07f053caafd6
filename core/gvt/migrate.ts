/**
 * The vGPU state protocol of a live migration (gMig; the device-state part the mediator
 * saves on the source and loads on the target): virtual registers (PVINFO, ring, CSB and
 * display registers, fences as the guest sees them), the guest's GGTT entries of its slices,
 * the PPGTT roots the guest announced, the virtual execlists (ELSP port, slots, CSB state in
 * the vregs) and the workloads queued but not yet dispatched. The running workload is never
 * part of it: the source first takes the vGPU off its run queue and lets the engines finish
 * what they run (quiesce), as a context cannot be moved mid-batch.
 *
 * Config space is not restored here: the device model on the target replays the guest's
 * config writes through the hypervisor (core/migration.ts), so the backend sees MSI enabled.
 * The target's slices are the source's (the guest ballooned for them); gMig's dynamic
 * graphics address remapping, which lets them differ, is not modelled.
 */

import { FENCE_REG_GEN6_LO, NUM_ENGINES } from "../hw/regs.ts";
import { entryPresent, pteFrame } from "../hw/pte.ts";
import type { Vgpu } from "./vgpu_state.ts";
import type { Gvt } from "./vgpu.ts";
import { createWorkload, isWorkloadError, type Workload } from "./workload.ts";

/** One queued workload as the protocol carries it. */
export interface SavedWorkload {
  /** Engine. */
  engine: number;
  /** Its ELSP submission [lo0, hi0, lo1, hi1]. */
  elsp: number[];
  /** Which element of the submission (0 or 1). */
  element: number;
  /** Ring head and tail (bytes) it covers. */
  head: number;
  /** Ring tail (bytes). */
  tail: number;
  /** First of its submission: schedule-in is emulated at its dispatch. */
  scheduleIn: boolean;
  /** When the guest submitted it (ns; latency keeps counting from there). */
  submitTime: number;
}

/** One engine's virtual execlist state. */
export interface SavedExeclist {
  /** ELSP dwords collected. */
  elsp: number[];
  /** ELSP writes collected (0..3). */
  elspIndex: number;
  /** The two slots: descriptors and running element. */
  slots: { desc: number[]; element: number }[];
  /** Running slot or -1. */
  running: number;
  /** Pending slot or -1. */
  pending: number;
}

/** A vGPU's device state in transit. */
export interface VgpuMigrationState {
  /** Virtual registers (one dword per register). */
  vreg: Uint32Array;
  /** Guest GGTT entries of its slices (aperture then hidden). */
  ggtt: Float64Array;
  /** PPGTT roots the guest announced (g2v create), with how many references it holds. */
  mms: { levels: 3 | 4; pdps: number[]; refs: number }[];
  /** Per engine. */
  execlists: SavedExeclist[];
  /** Workloads queued and not dispatched, in queue order per engine. */
  workloads: SavedWorkload[];
  /** Execlist submission enabled per engine. */
  runList: number[];
  /** The guest read PVINFO. */
  pvAware: boolean;
  /** Pending flip-done events per pipe. */
  flipPending: number[];
  /** On the run queue (execlists enabled and not reset since). */
  active: boolean;
  /** Scheduler weight. */
  weight: number;
}

/** Bytes the state takes on the wire (registers, GGTT entries, roots, execlists, workloads). */
export function stateBytes(s: VgpuMigrationState): number {
  return s.vreg.byteLength + s.ggtt.length * 8 + s.mms.length * 40 + s.execlists.length * 64 +
    s.workloads.length * 48;
}

/** Why a vGPU cannot be saved now, or undefined. */
export function cannotSave(v: Vgpu): string | undefined {
  if (v.destroyed) return "its vGPU is destroyed";
  if (v.failsafe) return `its vGPU is in failsafe (${v.failsafeReason})`;
  if (v.inFlight > 0) return "a workload is still running on the GPU";
  return undefined;
}

/** Element (0 or 1) of its ELSP submission a workload came from. */
function elementOf(w: Workload): number {
  return w.elsp[0] === w.descLo && w.elsp[1] === w.ctxId ? 0 : 1;
}

/** Saves a quiesced vGPU's state (call {@link cannotSave} first). */
export function saveVgpuState(v: Vgpu): VgpuMigrationState {
  const workloadRefs = new Map<unknown, number>();
  const workloads: SavedWorkload[] = [];
  for (let e = 0; e < NUM_ENGINES; e++) {
    for (const w of v.queues[e]) {
      workloads.push({
        engine: e,
        elsp: [...w.elsp],
        element: elementOf(w),
        head: w.head,
        tail: w.tail,
        scheduleIn: w.emulateScheduleIn,
        submitTime: w.submitTime,
      });
      if (w.mm) workloadRefs.set(w.mm, (workloadRefs.get(w.mm) ?? 0) + 1);
    }
  }
  const mms = (v.ppgtt?.mms ?? []).map((mm) => ({
    levels: mm.levels,
    pdps: [...mm.pdps],
    refs: mm.refcount - (workloadRefs.get(mm) ?? 0),
  })).filter((m) => m.refs > 0);
  return {
    vreg: v.vreg.slice(),
    ggtt: v.ggtt.guest.slice(),
    mms,
    execlists: v.execlists.map((el) => ({
      elsp: [...el.elsp],
      elspIndex: el.elspIndex,
      slots: el.slots.map((s) => ({ desc: [...s.desc], element: s.element })),
      running: el.running,
      pending: el.pending,
    })),
    workloads,
    runList: [...v.runList],
    pvAware: v.pvAware,
    flipPending: [...v.flipPending],
    active: v.sched.active,
    weight: v.sched.weight,
  };
}

/**
 * Loads a state into a freshly created vGPU of the target mediator, whose slices are the
 * source's: registers, physical fences, GGTT shadow (DMA-mapping every present entry through
 * the target's backend), PPGTT shadows, execlists, queued workloads, display timer, run
 * queue. Returns a message if a workload could not be re-created (the guest's context or
 * ring is gone), else undefined.
 */
export function restoreVgpuState(gvt: Gvt, v: Vgpu, s: VgpuMigrationState): string | undefined {
  v.vreg.set(s.vreg);
  v.pvAware = s.pvAware;
  v.runList.set(s.runList);
  v.flipPending.set(s.flipPending);
  // The target's physical fences get what the guest programmed into its virtual ones.
  for (let n = 0; n < v.res.fences.length; n++) {
    const idx = (FENCE_REG_GEN6_LO >>> 2) + 2 * n;
    gvt.gpu.mmioWrite(FENCE_REG_GEN6_LO + 8 * v.res.fences[n], 4, v.vreg[idx]);
    gvt.gpu.mmioWrite(FENCE_REG_GEN6_LO + 8 * v.res.fences[n] + 4, 4, v.vreg[idx + 1]);
  }
  for (let slot = 0; slot < s.ggtt.length; slot++) {
    const e = s.ggtt[slot];
    if (e === 0) continue;
    gvt.ggtt.write(v.id, v.ggtt, v.counters, v.ggtt.indexOf(slot) * 8, 8, e, false);
  }
  if (v.ppgtt) {
    for (const m of s.mms) {
      for (let r = 0; r < m.refs; r++) {
        const mm = gvt.ppgtt.getMm(v.ppgtt, m.levels, m.pdps);
        gvt.ppgtt.pin(v.ppgtt, mm);
        gvt.ppgtt.unpin(mm);
      }
    }
  }
  s.execlists.forEach((x, e) => {
    const el = v.execlists[e];
    el.elsp.set(x.elsp);
    el.elspIndex = x.elspIndex;
    x.slots.forEach((sl, i) => {
      el.slots[i].desc.set(sl.desc);
      el.slots[i].element = sl.element;
    });
    el.running = x.running;
    el.pending = x.pending;
  });
  v.tlbPending = (1 << NUM_ENGINES) - 1; // new shadows: invalidate on the first switch-in
  let problem: string | undefined;
  for (const sw of s.workloads) {
    const q = v.queues[sw.engine];
    const w = createWorkload(v, sw.engine, Uint32Array.from(sw.elsp), sw.element, {
      gate: gvt.gate,
      ppgtt: gvt.ppgtt,
      space: v.ppgtt!,
      now: gvt.sim.now,
      platform: gvt.gpu.config.platform,
    }, q.length > 0 ? q[q.length - 1] : null);
    if (isWorkloadError(w)) {
      problem ??= `queued workload on engine ${sw.engine} lost: ${w.detail}`;
      continue;
    }
    w.head = sw.head;
    w.tail = sw.tail;
    w.emulateScheduleIn = sw.scheduleIn;
    w.submitTime = sw.submitTime;
    q.push(w);
  }
  gvt.display.update(v);
  gvt.setWeight(v.id, s.weight);
  if (s.active) gvt.vgpuActivate(v.id);
  gvt.sched.kick();
  gvt.dispatcher.kick();
  return problem;
}

/** Guest frames the vGPU's GPU can write now: present GGTT entries and PPGTT leaves. */
export function gpuWritableFrames(gvt: Gvt, v: Vgpu, mem: { frames: number }): Uint8Array {
  const out = new Uint8Array(mem.frames);
  const g = v.ggtt.guest;
  for (let s = 0; s < g.length; s++) {
    const e = g[s];
    if (!entryPresent(e)) continue;
    const gfn = pteFrame(e);
    if (gfn < out.length) out[gfn] = 1;
  }
  if (v.ppgtt) {
    gvt.ppgtt.forEachGuestLeaf(v.ppgtt, (gfn) => {
      if (gfn >= 0 && gfn < out.length) out[gfn] = 1;
    });
  }
  return out;
}
