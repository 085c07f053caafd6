/**
 * The isolation invariant checker (switchable): every physical GGTT entry in a vGPU's
 * slices and every PPGTT shadow leaf must point to a frame owned by that vGPU's VM or to
 * scratch (HostMemory.ownerOf), and no command of a guest's workload may write outside that
 * VM — the GPU runs shadow contexts tagged with the VM's owner and refuses (and records as
 * an "isolation" fault) any write to a frame of another owner; the checker counts those.
 */

import type { Gpu } from "../hw/gpu.ts";
import { OWNER_SCRATCH } from "../hw/memory.ts";
import { entryFrame, entryPresent } from "../hw/pte.ts";
import type { GvtCounters } from "./counters.ts";
import type { VirtualGgtt } from "./gtt.ts";
import type { PpgttShadow } from "./ppgtt.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** One violation found. */
export interface InvariantViolation {
  /** vGPU id. */
  vgpuId: number;
  /** "ggtt", "ppgtt" or "gpu_write". */
  where: string;
  /** GGTT index, frame or graphics address concerned. */
  at: number;
  /** Owner found. */
  owner: number;
  /** Simulated time (ns). */
  time: number;
}

/** The checker. */
export class InvariantChecker {
  /** Checks enabled. */
  enabled: boolean;
  /** Violations found (first 1000). */
  readonly violations: InvariantViolation[] = [];
  private faultsSeen = 0;
  /**
   * By vGPU id: the virtual GGTT whose slices the last sweep found clean (no violation), and
   * `HostMemory.ownerLosses` then. While both hold, the slices can only have changed through
   * entries written since, which are in the GPU's dirty list: a sweep checks those alone and
   * finds what a full one would.
   */
  private readonly cleanGgtt: (VirtualGgtt | null)[] = [];
  private readonly cleanAt: number[] = [];

  /**
   * Creates a InvariantChecker.
   * @param gpu physical GPU
   * @param ppgtt PPGTT shadows
   * @param counters global counters
   * @param enabled initially on?
   */
  constructor(
    private readonly gpu: Gpu,
    private readonly ppgtt: PpgttShadow,
    private readonly counters: GvtCounters,
    enabled: boolean,
  ) {
    this.enabled = enabled;
  }

  /** Counts and records one violation. */
  private record(v: Vgpu | null, where: string, at: number, owner: number): void {
    if (v && where === "ggtt") this.cleanGgtt[v.id] = null;
    this.counters.invariantViolations++;
    if (v) v.counters.invariantViolations++;
    if (this.violations.length < 1000) {
      this.violations.push({ vgpuId: v ? v.id : 0, where, at, owner, time: this.gpu.sim.now });
    }
  }

  /** -999 if `frame` is the VM's or scratch, else its owner tag. */
  private frameOk(owner: number, frame: number): number {
    const o = this.gpu.memory.ownerOf(frame);
    return o === owner || o === OWNER_SCRATCH ? -999 : o;
  }

  /**
   * Checks only the physical GGTT entries written since the last call (the cheap periodic
   * check); a full sweep ({@link checkVgpu}) still catches owner changes of frames that
   * unchanged entries point to. Returns violations found.
   */
  checkDirtyGgtt(vgpus: readonly (Vgpu | null)[]): number {
    if (!this.enabled) return 0;
    const gpu = this.gpu, list = gpu.ggttDirty, n = gpu.ggttDirtyCount;
    const lo = gpu.ggttLo, hi = gpu.ggttHi, mem = gpu.memory;
    let found = 0;
    for (let i = 0; i < n; i++) {
      const idx = list[i];
      if (!entryPresent(lo[idx])) continue;
      const v = sliceOwner(vgpus, idx);
      if (v === null) continue; // the host's own entries
      const frame = entryFrame(lo[idx], hi[idx]);
      const o = mem.ownerOf(frame);
      if (o !== v.owner && o !== OWNER_SCRATCH) {
        this.record(v, "ggtt", idx, o);
        found++;
      }
    }
    gpu.clearGgttDirty();
    return found;
  }

  /** Checks one vGPU's physical GGTT slices and PPGTT shadows; returns violations found. */
  checkVgpu(v: Vgpu, owner: number): number {
    if (!this.enabled) return 0;
    this.counters.invariantChecks++;
    let found = 0;
    const g = v.ggtt, lo = this.gpu.ggttLo, hi = this.gpu.ggttHi;
    const owners = this.gpu.memory, losses = owners.ownerLosses;
    const clean = this.cleanGgtt[v.id] === g && this.cleanAt[v.id] === losses &&
      this.dirtyClean(g, owner);
    for (let r = 0; r < 2 && !clean; r++) {
      const first = r === 0 ? g.apIndex : g.hiIndex;
      const end = first + (r === 0 ? g.apCount : g.hiCount);
      for (let idx = first; idx < end; idx++) {
        const l = lo[idx];
        if (!entryPresent(l)) continue;
        const frame = entryFrame(l, hi[idx]);
        const o = owners.ownerOf(frame);
        if (o !== owner && o !== OWNER_SCRATCH) {
          this.record(v, "ggtt", idx, o);
          found++;
        }
      }
    }
    this.cleanGgtt[v.id] = found === 0 ? g : null;
    this.cleanAt[v.id] = losses;
    if (v.ppgtt) {
      this.ppgtt.forEachLeaf(v.ppgtt, (frame) => {
        const bad = this.frameOk(owner, frame);
        if (bad !== -999) {
          this.record(v, "ppgtt", frame, bad);
          found++;
        }
      });
    }
    return found;
  }

  /** Whether every entry of `g`'s slices in the GPU's dirty list points at a legal frame. */
  private dirtyClean(g: VirtualGgtt, owner: number): boolean {
    const gpu = this.gpu, list = gpu.ggttDirty, n = gpu.ggttDirtyCount;
    const lo = gpu.ggttLo, hi = gpu.ggttHi, mem = gpu.memory;
    for (let i = 0; i < n; i++) {
      const idx = list[i];
      if (g.slot(idx) < 0 || !entryPresent(lo[idx])) continue;
      const o = mem.ownerOf(entryFrame(lo[idx], hi[idx]));
      if (o !== owner && o !== OWNER_SCRATCH) return false;
    }
    return true;
  }

  /**
   * Looks at the GPU's command faults since the last call: an "isolation" fault of a
   * context owned by a VM is a guest write that would have landed outside that VM.
   */
  checkGpuWrites(byOwner: (owner: number) => Vgpu | null): number {
    if (!this.enabled) return 0;
    const faults = this.gpu.faults;
    let found = 0;
    for (; this.faultsSeen < faults.length; this.faultsSeen++) {
      const f = faults[this.faultsSeen];
      this.counters.gpuWritesChecked++;
      if (f.kind === "isolation" && f.owner > 0) {
        this.record(byOwner(f.owner), "gpu_write", f.gma, f.owner);
        found++;
      }
    }
    return found;
  }
}

/** The vGPU whose aperture or hidden slice holds GGTT entry `idx`, or null. */
function sliceOwner(vgpus: readonly (Vgpu | null)[], idx: number): Vgpu | null {
  for (const v of vgpus) {
    if (v === null) continue;
    const g = v.ggtt;
    if (
      (idx >= g.apIndex && idx < g.apIndex + g.apCount) ||
      (idx >= g.hiIndex && idx < g.hiIndex + g.hiCount)
    ) {
      return v;
    }
  }
  return null;
}
