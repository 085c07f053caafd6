/**
 * Graphics memory and fence partitioning (i915 gvt/aperture_gm.c): each vGPU gets one
 * contiguous aperture slice, one contiguous hidden slice and `fences` physical fence
 * registers; the host keeps the bottom of each range. Slices are allocated first fit.
 */

import type { HostSpec, VgpuTypeSpec } from "../scenario.ts";
import {
  availableInstances,
  type FreeResources,
  GSCALE_FENCE_POOL,
  GSCALE_MAX_VGPU,
  GVT_MAX_VGPU,
} from "../vgpu_types.ts";

/** One allocated range of graphics addresses. */
export interface GmRange {
  /** First graphics address. */
  base: number;
  /** Size in bytes. */
  size: number;
}

/** A vGPU's share of the GPU's graphics memory and fences. */
export interface VgpuResources {
  /** vGPU id. */
  id: number;
  /** Aperture (low) slice. */
  aperture: GmRange;
  /** Hidden (high) slice. */
  hidden: GmRange;
  /**
   * Physical fence register numbers, in the order the guest sees them. In gScale mode the
   * fences are virtual: -1 until the fence pool lends one (core/gvt/gscale.ts).
   */
  fences: number[];
}

/** Why a type cannot be created: every resource's need and what is free. */
export interface ResourceShortage {
  /** Per-instance need. */
  need: FreeResources;
  /** Free now. */
  free: FreeResources;
}

const MiB = 1024 * 1024;

/** First-fit allocator over one address range. */
export class RangeAllocator {
  private readonly used: GmRange[] = [];

  constructor(readonly start: number, readonly end: number) {}

  get free(): number {
    let u = 0;
    for (const r of this.used) u += r.size;
    return this.end - this.start - u;
  }

  alloc(size: number): GmRange | null {
    let at = this.start;
    for (let i = 0; i <= this.used.length; i++) {
      const next = i < this.used.length ? this.used[i].base : this.end;
      if (next - at >= size) {
        const r = { base: at, size };
        this.used.splice(i, 0, r);
        return r;
      }
      if (i < this.used.length) at = this.used[i].base + this.used[i].size;
    }
    return null;
  }

  /** Allocates exactly [base, base + size) if it lies inside and is free, else null. */
  allocAt(base: number, size: number): GmRange | null {
    if (base < this.start || base + size > this.end) return null;
    let i = 0;
    while (i < this.used.length && this.used[i].base < base) i++;
    const prev = i > 0 ? this.used[i - 1] : null;
    if (prev !== null && prev.base + prev.size > base) return null;
    if (i < this.used.length && this.used[i].base < base + size) return null;
    const r = { base, size };
    this.used.splice(i, 0, r);
    return r;
  }

  release(r: GmRange): void {
    const i = this.used.findIndex((u) => u.base === r.base);
    if (i >= 0) this.used.splice(i, 1);
  }
}

/**
 * A slice of graphics memory that several vGPUs of gScale mode share (slot sharing): each
 * sees the same graphics addresses; only one vGPU's entries are in the physical GGTT.
 */
interface SharedSlot {
  /** The range. */
  range: GmRange;
  /** vGPUs using it. */
  users: number;
}

/** The host's partitioning state. */
export class GmPartition {
  /** Host-reserved aperture range (the mediator's own objects live in the host ranges). */
  readonly hostAperture: GmRange;
  /** Host-reserved hidden range. */
  readonly hostHidden: GmRange;
  /** gScale mode: the fence memory space pool at the top of the aperture (else size 0). */
  readonly fencePool: GmRange;
  /** gScale mode: slices are shared when the ranges run out (slot sharing). */
  readonly shared: boolean;
  private readonly low: RangeAllocator;
  private readonly high: RangeAllocator;
  private readonly fenceUsed: Uint8Array;
  private readonly idUsed: Uint8Array;
  private readonly slots: SharedSlot[] = [];

  /** Creates a GmPartition.
   * @param host the host's sizes */
  constructor(readonly host: HostSpec) {
    this.shared = host.gscale === true;
    const pool = this.shared ? GSCALE_FENCE_POOL : 0;
    this.hostAperture = { base: 0, size: host.hostAperture };
    this.hostHidden = { base: host.aperture, size: host.hostHidden };
    this.fencePool = { base: host.aperture - pool, size: pool };
    this.low = new RangeAllocator(host.hostAperture, host.aperture - pool);
    this.high = new RangeAllocator(host.aperture + host.hostHidden, host.ggtt);
    this.fenceUsed = new Uint8Array(host.fences);
    for (let i = 0; i < host.hostFences && i < host.fences; i++) this.fenceUsed[i] = 1;
    this.idUsed = new Uint8Array((this.shared ? GSCALE_MAX_VGPU : GVT_MAX_VGPU) + 1);
    this.idUsed[0] = 1; // the idle vGPU
  }

  /** Free resources now (gScale mode: the sharable ranges, which sharing never uses up). */
  free(): FreeResources {
    let fences = 0, ids = 0;
    for (const f of this.fenceUsed) if (f === 0) fences++;
    for (const u of this.idUsed) if (u === 0) ids++;
    if (this.shared) {
      return {
        aperture: this.low.end - this.low.start,
        hidden: this.high.end - this.high.start,
        fences,
        ids,
      };
    }
    return { aperture: this.low.free, hidden: this.high.free, fences, ids };
  }

  /** The id the next successful allocation will get (0 if none is free). */
  nextId(): number {
    for (let id = 1; id < this.idUsed.length; id++) if (this.idUsed[id] === 0) return id;
    return 0;
  }

  /** Instances of `t` that can still be created. */
  available(t: VgpuTypeSpec): number {
    return availableInstances(t, this.free(), this.shared);
  }

  /**
   * Allocates a vGPU's resources, or describes the shortage. With `at`, the slices must start
   * at exactly those graphics addresses (a migrated guest keeps the slices it ballooned for).
   */
  allocate(
    t: VgpuTypeSpec,
    at?: { aperture: number; hidden: number },
  ): VgpuResources | ResourceShortage {
    const free = this.free();
    const need = { aperture: t.aperture, hidden: t.hidden, fences: t.fences, ids: 1 };
    if (availableInstances(t, free, this.shared) < 1) return { need, free };
    if (this.shared) return this.allocateShared(t, at) ?? { need, free };
    const aperture = at ? this.low.allocAt(at.aperture, t.aperture) : this.low.alloc(t.aperture);
    const hidden = !aperture
      ? null
      : at
      ? this.high.allocAt(at.hidden, t.hidden)
      : this.high.alloc(t.hidden);
    if (!aperture || !hidden) {
      if (aperture) this.low.release(aperture);
      return { need, free }; // fragmented
    }
    const id = this.takeId();
    const fences: number[] = [];
    for (let i = 0; i < this.fenceUsed.length && fences.length < t.fences; i++) {
      if (this.fenceUsed[i] === 0) {
        this.fenceUsed[i] = 1;
        fences.push(i);
      }
    }
    return { id, aperture, hidden, fences };
  }

  /** The lowest free vGPU id (the caller checked one is free). */
  private takeId(): number {
    let id = 1;
    while (this.idUsed[id] === 1) id++;
    this.idUsed[id] = 1;
    return id;
  }

  /**
   * gScale: a fresh slice while the range has room, else the slot of the same size with the
   * fewest users (slot sharing); fences are virtual until the fence pool lends one.
   */
  private allocateShared(
    t: VgpuTypeSpec,
    at?: { aperture: number; hidden: number },
  ): VgpuResources | null {
    const aperture = this.sharedSlot(this.low, t.aperture, at?.aperture);
    const hidden = aperture ? this.sharedSlot(this.high, t.hidden, at?.hidden) : null;
    if (!aperture || !hidden) {
      if (aperture) this.unshare(aperture);
      return null; // a size no slot can hold (mixed types filled the range with smaller ones)
    }
    return { id: this.takeId(), aperture, hidden, fences: new Array(t.fences).fill(-1) };
  }

  /**
   * A new slot in `r`, or the least shared existing slot of that size (a larger one when no
   * slot has the size: the vGPU uses its first `size` bytes); null if no slot can hold it.
   * With `base` (a migrated guest keeps its addresses): the slot starting there, or a new one.
   */
  private sharedSlot(r: RangeAllocator, size: number, base?: number): GmRange | null {
    if (base !== undefined) {
      const s = this.slots.find((x) => x.range.base === base && x.range.size >= size);
      if (s) {
        s.users++;
        return { base, size };
      }
      const placed = r.allocAt(base, size);
      if (placed) this.slots.push({ range: placed, users: 1 });
      return placed;
    }
    const fresh = r.alloc(size);
    if (fresh) {
      this.slots.push({ range: fresh, users: 1 });
      return fresh;
    }
    let best: SharedSlot | null = null;
    for (const s of this.slots) {
      const inRange = s.range.base >= r.start && s.range.base < r.end;
      if (inRange && s.range.size === size && (best === null || s.users < best.users)) best = s;
    }
    if (best === null) {
      // Only sizes never allocated before can miss (mixed types): take the first that fits.
      for (const s of this.slots) {
        if (s.range.base >= r.start && s.range.base < r.end && s.range.size >= size) {
          best = s;
          break;
        }
      }
    }
    if (best === null) return null;
    best.users++;
    return { base: best.range.base, size };
  }

  /** Drops one user of the slot at `g.base`; the last one frees the range. */
  private unshare(g: GmRange): void {
    const i = this.slots.findIndex((s) => s.range.base === g.base);
    if (i >= 0 && --this.slots[i].users === 0) {
      const whole = this.slots[i].range;
      this.slots.splice(i, 1);
      this.low.release(whole);
      this.high.release(whole);
    }
  }

  /** How many vGPUs share the slot starting at graphics address `base` (0: none). */
  slotUsers(base: number): number {
    for (const s of this.slots) if (s.range.base === base) return s.users;
    return 0;
  }

  /** Returns a vGPU's resources. */
  release(r: VgpuResources): void {
    if (this.shared) {
      this.unshare(r.aperture);
      this.unshare(r.hidden);
    } else {
      this.low.release(r.aperture);
      this.high.release(r.hidden);
      for (const f of r.fences) this.fenceUsed[f] = 0;
    }
    this.idUsed[r.id] = 0;
  }
}

/** Formats a shortage as a clear message with the numbers. */
export function shortageMessage(type: string, vm: string, s: ResourceShortage): string {
  const mib = (b: number) => `${Math.round(b / MiB)} MiB`;
  const parts: string[] = [];
  const row = (what: string, need: string, free: string, short: boolean) =>
    parts.push(`${what} needs ${need}, free ${free}${short ? " (short)" : ""}`);
  row("aperture", mib(s.need.aperture), mib(s.free.aperture), s.free.aperture < s.need.aperture);
  row("hidden", mib(s.need.hidden), mib(s.free.hidden), s.free.hidden < s.need.hidden);
  row("fences", `${s.need.fences}`, `${s.free.fences}`, s.free.fences < s.need.fences);
  row("vGPU ids", "1", `${s.free.ids}`, s.free.ids < 1);
  return `cannot create vGPU of type ${type} for vm "${vm}": ${parts.join("; ")}`;
}

/** Is `shortageOrRes` a shortage? */
export function isShortage(x: VgpuResources | ResourceShortage): x is ResourceShortage {
  return (x as ResourceShortage).need !== undefined;
}
