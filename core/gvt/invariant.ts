/**
 * The isolation invariant checker (switchable): every physical GGTT entry in a vGPU's
 * slices and every PPGTT shadow leaf must point to a frame owned by that vGPU's VM or to
 * scratch (HostMemory.ownerOf). Entries hold device addresses: the checker resolves each
 * through the vGPU's IOMMU domain (core/hw/iommu.ts), as the GPU does, so an IOVA that maps
 * to another VM's frame is a violation, and so is one that maps to nothing (owner -3: the
 * backend handed out an address its domain does not map). No command of a guest's workload may write outside that
 * VM — the GPU runs shadow contexts tagged with the VM's owner and refuses (and records as
 * an "isolation" fault) any write to a frame of another owner; the checker counts those.
 */

import type { Gpu } from "../hw/gpu.ts";
import { OWNER_SCRATCH, PAGE_SIZE } from "../hw/memory.ts";
import { entryAddress, entryPresent } from "../hw/pte.ts";
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
   * {@link legality} then. While both hold, the slices can only have changed through entries
   * written since, which are in the GPU's dirty list: a sweep checks those alone and finds
   * what a full one would.
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

  /**
   * -999 if device address `addr` of IOMMU domain `domain` reaches a frame of the VM or
   * scratch, else the owner tag of what it reaches (-3: nothing).
   */
  private reachOk(owner: number, domain: number, addr: number): number {
    const pa = this.gpu.iommu.resolve(domain, addr);
    const o = pa < 0 ? -3 : this.gpu.memory.ownerOf(Math.floor(pa / PAGE_SIZE));
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
    const lo = gpu.ggttLo, hi = gpu.ggttHi, dom = gpu.ggttDomain;
    let found = 0;
    for (let i = 0; i < n; i++) {
      const idx = list[i];
      if (!entryPresent(lo[idx])) continue;
      const v = sliceOwner(vgpus, idx);
      if (v === null) continue; // the host's own entries
      const bad = this.reachOk(v.owner, dom[idx], entryAddress(lo[idx], hi[idx]));
      if (bad !== -999) {
        this.record(v, "ggtt", idx, bad);
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
    const g = v.ggtt, lo = this.gpu.ggttLo, hi = this.gpu.ggttHi, dom = this.gpu.ggttDomain;
    const epoch = this.legality();
    const clean = this.cleanGgtt[v.id] === g && this.cleanAt[v.id] === epoch &&
      this.dirtyClean(g, owner);
    for (let r = 0; r < 2 && !clean; r++) {
      const first = r === 0 ? g.apIndex : g.hiIndex;
      const end = first + (r === 0 ? g.apCount : g.hiCount);
      for (let idx = first; idx < end; idx++) {
        const l = lo[idx];
        if (!entryPresent(l)) continue;
        const bad = this.reachOk(owner, dom[idx], entryAddress(l, hi[idx]));
        if (bad !== -999) {
          this.record(v, "ggtt", idx, bad);
          found++;
        }
      }
    }
    this.cleanGgtt[v.id] = found === 0 ? g : null;
    this.cleanAt[v.id] = epoch;
    if (v.ppgtt) {
      this.ppgtt.forEachLeaf(v.ppgtt, (addr) => {
        const bad = this.reachOk(owner, v.id, addr);
        if (bad !== -999) {
          this.record(v, "ppgtt", Math.floor(addr / PAGE_SIZE), bad);
          found++;
        }
      });
    }
    return found;
  }

  /**
   * Changes that can make an unwritten entry illegal: a frame that stopped being a VM's or
   * scratch, an IOMMU mapping removed or a domain attached or reset. Only grows.
   */
  private legality(): number {
    return this.gpu.memory.ownerLosses + this.gpu.iommu.changes;
  }

  /** Whether every entry of `g`'s slices in the GPU's dirty list reaches a legal frame. */
  private dirtyClean(g: VirtualGgtt, owner: number): boolean {
    const gpu = this.gpu, list = gpu.ggttDirty, n = gpu.ggttDirtyCount;
    const lo = gpu.ggttLo, hi = gpu.ggttHi, dom = gpu.ggttDomain;
    for (let i = 0; i < n; i++) {
      const idx = list[i];
      if (g.slot(idx) < 0 || !entryPresent(lo[idx])) continue;
      if (this.reachOk(owner, dom[idx], entryAddress(lo[idx], hi[idx])) !== -999) return false;
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
