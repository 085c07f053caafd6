/**
 * The isolation invariant checker (switchable): every physical GGTT entry in a vGPU's
 * slices and every PPGTT shadow leaf must point to a frame owned by that vGPU's VM or to
 * scratch (HostMemory.ownerOf). Entries hold device addresses: the checker resolves each
 * through the vGPU's IOMMU domain (core/hw/iommu.ts), as the GPU does, so an IOVA that maps
 * to another VM's frame is a violation, and so is one that maps to nothing (owner -3: the
 * backend handed out an address its domain does not map). No command of a guest's workload may write outside that
 * VM — the GPU runs shadow contexts tagged with the VM's owner and refuses (and records as
 * an "isolation" fault) any write to a frame of another owner; the checker counts those.
 *
 * gScale mode (core/gvt/gscale.ts) shares slices, so a physical entry belongs to the vGPU
 * holding its slot (or borrowing its fence pool range), and each vGPU, running or not, is
 * checked through what it can reach: its private GTT (what the GPU uses when it runs, in its
 * own IOMMU domain) and the frames its CPU reaches through the aperture ("aperture").
 */

import type { Gpu } from "../hw/gpu.ts";
import { OWNER_SCRATCH, PAGE_SIZE } from "../hw/memory.ts";
import { entryAddress, entryPresent, pteFrame } from "../hw/pte.ts";
import { isZero } from "../hw/zero.ts";
import type { GvtCounters } from "./counters.ts";
import type { VirtualGgtt } from "./gtt.ts";
import type { Gscale } from "./gscale.ts";
import type { PpgttShadow } from "./ppgtt.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** Physical GGTT entries a sweep compares with zero at once (4 KiB of low words). */
const SWEEP_PIECE = 1024;

/** One violation found. */
export interface InvariantViolation {
  /** vGPU id. */
  vgpuId: number;
  /** "ggtt", "ppgtt", "gpu_write", or (gScale) "private_gtt" / "aperture". */
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
  /** gScale mode state (null: upstream, every slice belongs to one vGPU). */
  gscale: Gscale | null = null;
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
      const v = this.gscale === null ? sliceOwner(vgpus, idx) : this.sharedOwner(idx);
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

  /** gScale: the vGPU a physical entry belongs to (slot holder or fence pool borrower). */
  private sharedOwner(idx: number): Vgpu | null {
    const gs = this.gscale!;
    const id = gs.holderOf(idx) || gs.poolOwnerOf(idx);
    return id > 0 ? gs.vgpu(id) : null;
  }

  /**
   * gScale: the fence pool ranges a vGPU borrows, its private GTT entries and the frames its
   * CPU reaches through the aperture, whether it runs or not. Returns violations found.
   */
  private checkPrivate(v: Vgpu, owner: number): number {
    const gs = this.gscale!, g = v.ggtt, p = g.priv!;
    const lo = this.gpu.ggttLo, hi = this.gpu.ggttHi, dom = this.gpu.ggttDomain;
    let found = 0;
    const bad = (where: string, at: number, o: number) => {
      if (o === -999) return;
      this.record(v, where, at, o);
      found++;
    };
    for (const [first, end] of gs.loanRanges(v)) {
      for (let idx = first; idx < end; idx++) {
        if (entryPresent(lo[idx])) {
          bad("ggtt", idx, this.reachOk(owner, dom[idx], entryAddress(lo[idx], hi[idx])));
        }
      }
    }
    for (let i = 0; i < p.usedCount; i++) {
      const s = p.used[i], e = p.entries[s];
      if (entryPresent(e)) {
        bad("private_gtt", g.indexOf(s), this.reachOk(owner, v.id, pteFrame(e) * PAGE_SIZE));
      }
      if (s < g.apCount) {
        const frame = gs.cpuApertureFrame(v, s);
        if (frame >= 0) bad("aperture", g.indexOf(s), this.frameOk(owner, frame));
      }
    }
    return found;
  }

  /** -999 if host frame `frame` is the VM's or scratch, else its owner tag. */
  private frameOk(owner: number, frame: number): number {
    const o = this.gpu.memory.ownerOf(frame);
    return o === owner || o === OWNER_SCRATCH ? -999 : o;
  }

  /** Checks one vGPU's physical GGTT slices and PPGTT shadows; returns violations found. */
  checkVgpu(v: Vgpu, owner: number): number {
    if (!this.enabled) return 0;
    this.counters.invariantChecks++;
    let found = 0;
    const g = v.ggtt;
    if (g.priv !== null) found += this.checkPrivate(v, owner);
    const epoch = this.legality();
    // (not under gScale: who holds a shared slot changes without its entries changing)
    const clean = g.priv === null && this.cleanGgtt[v.id] === g && this.cleanAt[v.id] === epoch &&
      this.dirtyClean(g, owner);
    for (let r = 0; r < 2 && !clean; r++) {
      // gScale: a shared slot's physical entries are its holder's, checked with the holder
      if (g.priv !== null && !this.gscale!.holds(v.id, g, r === 0 ? 0 : g.apCount)) continue;
      const first = r === 0 ? g.apIndex : g.hiIndex;
      found += this.sweep(v, owner, first, first + (r === 0 ? g.apCount : g.hiCount));
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
   * Checks the present physical GGTT entries `first .. end - 1` of vGPU `v`, ascending;
   * returns violations found. A piece of entries that are all zero (none present: most of a
   * slice) is passed over with one native compare, so a sweep costs little even before the
   * JIT has compiled this loop (the first sweeps of a run).
   */
  private sweep(v: Vgpu, owner: number, first: number, end: number): number {
    const lo = this.gpu.ggttLo, hi = this.gpu.ggttHi, dom = this.gpu.ggttDomain;
    const bytes = new Uint8Array(lo.buffer, lo.byteOffset, lo.byteLength);
    let found = 0;
    for (let idx = first; idx < end;) {
      const stop = Math.min(end, idx - (idx % SWEEP_PIECE) + SWEEP_PIECE);
      if (isZero(bytes, idx * 4, stop * 4)) {
        idx = stop;
        continue;
      }
      for (; idx < stop; idx++) {
        const l = lo[idx];
        if (!entryPresent(l)) continue;
        const bad = this.reachOk(owner, dom[idx], entryAddress(l, hi[idx]));
        if (bad !== -999) {
          this.record(v, "ggtt", idx, bad);
          found++;
        }
      }
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
