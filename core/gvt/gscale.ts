/**
 * gScale mode (beyond upstream; docs/fidelity.md "Beyond upstream"). After M. Xue et al.,
 * "gScale: Scaling up GPU Virtualization with Dynamic Sharing of Graphics Memory Space",
 * USENIX ATC 2016. Upstream partitions the GGTT: every vGPU owns disjoint slices, so graphics
 * memory caps the number of vGPUs (3 guests on a 2 GiB GGTT / 512 MiB aperture). gScale
 * shares the slices instead:
 *
 * - **Private shadow GTT**: every vGPU keeps its own host entries for its slices
 *   ({@link PrivateGtt}); the physical GGTT holds, per shared slot, the entries of the one
 *   vGPU that last ran there (the slot's holder).
 * - **Copy on switch** ({@link Gscale.load}): before a vGPU's first workload after a switch,
 *   its entries are copied into each slot it does not hold. The cost is the number of
 *   entries written times {@link GSCALE_ENTRY_NS}. Dirty entries only (gvtsim's reading of
 *   gScale's on-demand copy, not its exact algorithm): the entries the incoming vGPU has
 *   populated and those the outgoing holder populated (scrubbed to scratch) are written,
 *   not the whole slot; {@link GscaleOptions.dirtyOnly} false copies whole slots.
 * - **No switch-in of idle vGPUs**: the copy happens when a workload is dispatched, so a vGPU
 *   the scheduler passes over, or one without work, costs no copy.
 * - **Ladder mapping**: the CPU reaches a vGPU's aperture through BAR2; upstream maps BAR2 to
 *   the host aperture, which goes through the physical GGTT and so would land on the holder's
 *   pages while the vGPU is not running. gScale maps each guest aperture page straight to
 *   the frame its private entry points at (an EPT mapping per entry, `mapGfnToMfn`).
 * - **Fence memory space pool**: a fence (tiled CPU access through the aperture) only works
 *   through the real aperture, which ladder mapping bypasses. Fences are virtual; a guest's
 *   enabled fence borrows a physical fence and a range of the pool at the top of the
 *   aperture, where the fenced pages are mapped; the least recently lent one is taken back
 *   when the pool runs out and lent again when its vGPU next runs.
 * - **Slot sharing** (core/gvt/resources.ts): slices are fresh while the ranges have room,
 *   then shared slot by slot, the least shared first.
 */

import { PAGE_SIZE } from "../hw/memory.ts";
import { entryPresent, pteFrame } from "../hw/pte.ts";
import { FENCE_REG_GEN6_LO } from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { Gpu } from "../hw/gpu.ts";
import type { VirtualGgtt } from "./gtt.ts";
import type { GvtTracer } from "./tracer.ts";
import { type GmRange, RangeAllocator } from "./resources.ts";
import type { Vgpu } from "./vgpu_state.ts";

/**
 * Cost of writing one GGTT entry during a copy (ns). gvtsim's assumption, not a paper figure:
 * the GSM is mapped write-combined, so a copy streams 8-byte stores at a few ns each.
 */
export const GSCALE_ENTRY_NS = 4;

/** A fence register's valid bit (lower dword bit 0) and the address bits 31:12. */
const FENCE_VALID = 1, FENCE_ADDR = 0xfffff000;

/** One vGPU's private shadow GTT: host entries of its slices and its ladder mappings. */
export class PrivateGtt {
  /** Host entry per slot of the vGPU's slices (aperture slots, then hidden slots; 0: never set). */
  readonly entries: Float64Array;
  /** Aperture slots: host frame the ladder mapping points the guest page at (-1: none). */
  readonly ladder: Int32Array;
  /** Slots ever written (the dirty entries a copy considers), in first-write order. */
  used: Int32Array = new Int32Array(64);
  /** Number of valid items of {@link used}. */
  usedCount = 0;
  /** GGTT entries copied in for this vGPU. */
  entriesCopied = 0;
  /** Copy time charged to this vGPU's dispatches (ns). */
  copyNs = 0;
  private readonly isUsed: Uint8Array;

  /** Creates a PrivateGtt.
   * @param slots entries of both slices
   * @param apertureSlots entries of the aperture slice */
  constructor(slots: number, apertureSlots: number) {
    this.entries = new Float64Array(slots);
    this.ladder = new Int32Array(apertureSlots).fill(-1);
    this.isUsed = new Uint8Array(slots);
  }

  /** Stores a host entry. */
  set(s: number, entry: number): void {
    this.entries[s] = entry;
    if (this.isUsed[s] === 0) {
      this.isUsed[s] = 1;
      if (this.usedCount === this.used.length) {
        const grown = new Int32Array(this.used.length * 2);
        grown.set(this.used);
        this.used = grown;
      }
      this.used[this.usedCount++] = s;
    }
  }

  /** True if slot `s` was ever written. */
  written(s: number): boolean {
    return this.isUsed[s] === 1;
  }
}

/** A physical fence lent from the pool. */
interface FenceLoan {
  /** Borrowing vGPU. */
  vgpu: number;
  /** Its virtual fence number. */
  fence: number;
  /** Pool range the fenced pages are mapped at. */
  range: GmRange;
  /** Lend order (the least recent is taken back first). */
  seq: number;
}

/** What gScale mode did, for the results (`gscale.*` counters). */
export interface GscaleStats {
  /** Slot loads that copied entries. */
  copies: number;
  /** Slot loads skipped: the vGPU still held the slot. */
  copiesSkipped: number;
  /** GGTT entries written by copies. */
  entriesCopied: number;
  /** Time charged for copies (ns). */
  copyNs: number;
  /** Ladder mappings made / removed (one `mapGfnToMfn` each). */
  ladderMaps: number;
  /** Ladder mappings removed. */
  ladderUnmaps: number;
  /** Physical fences lent from the pool. */
  fenceLends: number;
  /** Loans taken back because the pool ran out. */
  fenceReclaims: number;
}

/** Options of {@link Gscale}. */
export interface GscaleOptions {
  /** Ladder mapping on (default). Off only to show what it prevents (tests). */
  ladder?: boolean;
  /** Copy only dirty entries (default); false copies whole slots (the unoptimised design). */
  dirtyOnly?: boolean;
}

/** gScale's shared-GGTT state: slot holders, copies, ladder mapping, fence pool. */
export class Gscale {
  /** What it did. */
  readonly stats: GscaleStats = {
    copies: 0,
    copiesSkipped: 0,
    entriesCopied: 0,
    copyNs: 0,
    ladderMaps: 0,
    ladderUnmaps: 0,
    fenceLends: 0,
    fenceReclaims: 0,
  };
  /** Trace hooks (null: not tracing). */
  tracer: GvtTracer | null = null;
  /** Ladder mapping on. */
  readonly ladderOn: boolean;
  /** Dirty-entry optimisation on. */
  readonly dirtyOnly: boolean;
  /** First GGTT index of a slot -> id of the vGPU whose entries it holds. */
  private readonly holders = new Map<number, number>();
  private readonly pool: RangeAllocator;
  private readonly loans: (FenceLoan | null)[];
  private readonly firstPoolFence: number;
  private loanSeq = 0;

  /**
   * Creates the gScale state.
   * @param port the physical GPU (GGTT, its IOMMU domains, fence registers)
   * @param gate MPT gate (ladder mappings)
   * @param blank the entry of an unmapped slot (scratch, not present)
   * @param vgpuById live vGPUs
   * @param fencePool the fence memory space pool range
   * @param fences physical fence registers: [first lendable, end)
   * @param opts options
   */
  constructor(
    private readonly port: Gpu,
    private readonly gate: MptGate,
    private readonly blank: number,
    private readonly vgpuById: (id: number) => Vgpu | null,
    readonly fencePool: GmRange,
    fences: readonly [number, number],
    opts: GscaleOptions = {},
  ) {
    this.ladderOn = opts.ladder ?? true;
    this.dirtyOnly = opts.dirtyOnly ?? true;
    this.pool = new RangeAllocator(fencePool.base, fencePool.base + fencePool.size);
    this.firstPoolFence = fences[0];
    this.loans = new Array(Math.max(0, fences[1] - fences[0])).fill(null);
  }

  /** A live vGPU by id. */
  vgpu(id: number): Vgpu | null {
    return this.vgpuById(id);
  }

  /** Gives a new vGPU its private GTT. */
  attach(g: VirtualGgtt): void {
    g.priv = new PrivateGtt(g.guest.length, g.apCount);
  }

  /** The vGPU id whose entries the slot holding GGTT index `index` has (0: none / not shared). */
  holderOf(index: number): number {
    for (const [first, id] of this.holders) {
      const v = this.vgpuById(id);
      if (v === null) continue;
      const g = v.ggtt;
      const count = first === g.apIndex ? g.apCount : g.hiCount;
      if (index >= first && index < first + count) return id;
    }
    return 0;
  }

  /** True if vGPU `id` holds the slot of its slice entry `s`. */
  holds(id: number, g: VirtualGgtt, s: number): boolean {
    return this.holders.get(s < g.apCount ? g.apIndex : g.hiIndex) === id;
  }

  /**
   * A host entry of a vGPU's slice changed (GgttShadow): kept in its private GTT, written to
   * the physical GGTT only while it holds the slot, and the ladder mapping follows.
   */
  write(id: number, g: VirtualGgtt, s: number, index: number, entry: number): void {
    g.priv!.set(s, entry);
    if (this.holds(id, g, s)) this.port.ggttWrite(index, entry);
    if (s < g.apCount && this.ladderOn) this.ladder(id, g, s, entry);
  }

  /** Points the guest's aperture page of slot `s` at the entry's frame (EPT, `mapGfnToMfn`). */
  private ladder(id: number, g: VirtualGgtt, s: number, entry: number): void {
    const p = g.priv!;
    const frame = this.frameOf(id, entry);
    const old = p.ladder[s];
    if (old === frame) return;
    const v = this.vgpuById(id);
    const gfn = Math.floor(((v ? v.bar2 : 0) + (g.apIndex + s) * PAGE_SIZE) / PAGE_SIZE);
    if (old >= 0) {
      this.stats.ladderUnmaps++;
      this.gate.mapGfnToMfn(id, gfn, old, 1, false);
    }
    p.ladder[s] = frame;
    if (frame >= 0) {
      this.stats.ladderMaps++;
      this.gate.mapGfnToMfn(id, gfn, frame, 1, true);
    }
  }

  /** The host frame a present entry's device address reaches in IOMMU `domain` (-1: none). */
  private frameOf(domain: number, entry: number): number {
    if (!entryPresent(entry)) return -1;
    const pa = this.port.iommu.resolve(domain, pteFrame(entry) * PAGE_SIZE);
    return pa < 0 ? -1 : Math.floor(pa / PAGE_SIZE);
  }

  /**
   * The host frame a CPU access of vGPU `v` to aperture slot `s` reaches: its ladder mapping,
   * or (ladder mapping off) the host aperture, i.e. whatever the physical GGTT holds there.
   */
  cpuApertureFrame(v: Vgpu, s: number): number {
    if (this.ladderOn) return v.ggtt.priv!.ladder[s];
    const gpu = this.port, idx = v.ggtt.apIndex + s;
    return this.frameOf(gpu.ggttDomain[idx], gpu.ggttLo[idx] + gpu.ggttHi[idx] * 2 ** 32);
  }

  /**
   * Copy on switch: makes `v`'s entries the physical GGTT's in both its slots and re-lends
   * its enabled fences. Returns the time it costs (ns), 0 when it already held them.
   */
  load(v: Vgpu): number {
    const g = v.ggtt;
    let written = this.loadSlot(v, g.apIndex, 0, g.apCount) +
      this.loadSlot(v, g.hiIndex, g.apCount, g.hiCount);
    for (let n = 0; n < v.res.fences.length; n++) {
      if (v.res.fences[n] < 0 && this.fenceEnabled(v, n)) written += this.lendFence(v, n);
    }
    const ns = written * GSCALE_ENTRY_NS;
    this.stats.copyNs += ns;
    g.priv!.copyNs += ns;
    if (written > 0 && this.tracer !== null) this.tracer.gttCopy(v.id, written, ns);
    return ns;
  }

  /** Loads one slot (`first` GGTT index, slots [from, from + count) of v's arrays). */
  private loadSlot(v: Vgpu, first: number, from: number, count: number): number {
    const prevId = this.holders.get(first) ?? 0;
    if (prevId === v.id) {
      this.stats.copiesSkipped++;
      return 0;
    }
    const p = v.ggtt.priv!, port = this.port, blank = this.blank;
    let written = 0;
    const prev = prevId > 0 ? this.vgpuById(prevId) : null;
    if (!this.dirtyOnly) {
      const pg = prev ? prev.ggtt : null;
      const n = Math.max(count, pg ? (first === pg.apIndex ? pg.apCount : pg.hiCount) : 0);
      for (let k = 0; k < n; k++) {
        const mine = k < count && p.written(from + k);
        port.ggttWrite(first + k, mine ? p.entries[from + k] : blank);
        written++;
      }
    } else {
      for (let i = 0; i < p.usedCount; i++) {
        const s = p.used[i];
        if (s < from || s >= from + count) continue;
        port.ggttWrite(first + s - from, p.entries[s]);
        written++;
      }
      if (prev !== null) {
        const pg = prev.ggtt, pp = pg.priv!;
        const pFrom = first === pg.apIndex ? 0 : pg.apCount;
        const pCount = first === pg.apIndex ? pg.apCount : pg.hiCount;
        for (let i = 0; i < pp.usedCount; i++) {
          const s = pp.used[i];
          if (s < pFrom || s >= pFrom + pCount) continue;
          const k = s - pFrom;
          if (k < count && p.written(from + k)) continue; // overwritten above
          port.ggttWrite(first + k, blank);
          written++;
        }
      }
    }
    this.port.setGgttDomain(first, count, v.id); // its device addresses, its IOMMU domain
    this.holders.set(first, v.id);
    this.stats.copies++;
    this.stats.entriesCopied += written;
    p.entriesCopied += written;
    return written;
  }

  /** A vGPU goes away: its slots hold nobody, its fences return to the pool. */
  detach(v: Vgpu): void {
    const g = v.ggtt;
    for (const [first, count] of [[g.apIndex, g.apCount], [g.hiIndex, g.hiCount]]) {
      if (this.holders.get(first) !== v.id) continue;
      this.holders.delete(first);
      this.port.setGgttDomain(first, count, 0);
    }
    this.returnFences(v);
  }

  /** Gives every fence `v` borrowed back to the pool (reset, destroy). */
  returnFences(v: Vgpu): void {
    for (let n = 0; n < v.res.fences.length; n++) this.returnFence(v, n);
  }

  // ---- fence memory space pool -----------------------------------------------------------

  /** The guest's fence `n` as written (lower, upper dword). */
  private fenceValue(v: Vgpu, n: number): [number, number] {
    const idx = (FENCE_REG_GEN6_LO + 8 * n) >>> 2;
    return [v.vreg[idx], v.vreg[idx + 1]];
  }

  private fenceEnabled(v: Vgpu, n: number): boolean {
    const [lo, hi] = this.fenceValue(v, n);
    return (lo & FENCE_VALID) !== 0 && (hi & FENCE_ADDR) >>> 0 >= (lo & FENCE_ADDR) >>> 0;
  }

  /**
   * The guest wrote its fence `n` (FenceHandler): an enabled fence borrows a physical fence
   * and a pool range now; a disabled one gives them back.
   */
  fenceWritten(v: Vgpu, n: number): void {
    this.returnFence(v, n);
    if (this.fenceEnabled(v, n)) this.lendFence(v, n);
  }

  /**
   * Lends fence `n` of `v` a physical fence and a pool range, maps the fenced pages there
   * and programs the fence over the pool range. Returns GGTT entries written.
   */
  private lendFence(v: Vgpu, n: number): number {
    const [lo, hi] = this.fenceValue(v, n);
    const start = (lo & FENCE_ADDR) >>> 0, end = (hi & FENCE_ADDR) >>> 0;
    const pages = (end - start) / PAGE_SIZE + 1;
    const g = v.ggtt, p = g.priv!;
    const first = g.slot(start / PAGE_SIZE);
    if (first < 0 || first >= g.apCount || first + pages > g.apCount) return 0; // not its aperture
    let slot = this.loans.indexOf(null);
    let range = this.pool.alloc(pages * PAGE_SIZE);
    while (slot < 0 || range === null) {
      if (!this.reclaimOldest(v)) return 0; // the pool cannot hold it at all
      slot = this.loans.indexOf(null);
      range ??= this.pool.alloc(pages * PAGE_SIZE);
    }
    this.loans[slot] = { vgpu: v.id, fence: n, range, seq: this.loanSeq++ };
    const phys = this.firstPoolFence + slot;
    v.res.fences[n] = phys;
    const base = range.base / PAGE_SIZE;
    for (let k = 0; k < pages; k++) {
      const e = p.written(first + k) ? p.entries[first + k] : this.blank;
      this.port.ggttWrite(base + k, e);
    }
    this.port.setGgttDomain(base, pages, v.id);
    const off = FENCE_REG_GEN6_LO + 8 * phys;
    this.port.mmioWrite(off, 4, ((lo & ~FENCE_ADDR) | range.base) >>> 0);
    this.port.mmioWrite(
      off + 4,
      4,
      ((hi & ~FENCE_ADDR) | (range.base + (pages - 1) * PAGE_SIZE)) >>> 0,
    );
    this.stats.fenceLends++;
    return pages;
  }

  /** Takes back the least recently lent fence of another vGPU; false if there is none. */
  private reclaimOldest(except: Vgpu): boolean {
    let best = -1;
    for (let i = 0; i < this.loans.length; i++) {
      const l = this.loans[i];
      if (l !== null && l.vgpu !== except.id && (best < 0 || l.seq < this.loans[best]!.seq)) {
        best = i;
      }
    }
    if (best < 0) return false;
    const l = this.loans[best]!;
    const owner = this.vgpuById(l.vgpu);
    if (owner) this.returnFence(owner, l.fence);
    else this.dropLoan(best);
    this.stats.fenceReclaims++;
    return true;
  }

  /** Gives fence `n` of `v` back to the pool (physical fence cleared, pool range unmapped). */
  private returnFence(v: Vgpu, n: number): void {
    const phys = v.res.fences[n];
    if (phys < 0) return;
    v.res.fences[n] = -1;
    this.dropLoan(phys - this.firstPoolFence);
  }

  private dropLoan(slot: number): void {
    const l = this.loans[slot];
    if (!l) return;
    this.loans[slot] = null;
    const off = FENCE_REG_GEN6_LO + 8 * (this.firstPoolFence + slot);
    this.port.mmioWrite(off, 4, 0);
    this.port.mmioWrite(off + 4, 4, 0);
    const base = l.range.base / PAGE_SIZE, pages = l.range.size / PAGE_SIZE;
    for (let k = 0; k < pages; k++) this.port.ggttWrite(base + k, this.blank);
    this.port.setGgttDomain(base, pages, 0);
    this.pool.release(l.range);
  }

  /** GGTT index ranges [first, end) of the pool that `v`'s fence loans map. */
  loanRanges(v: Vgpu): [number, number][] {
    const out: [number, number][] = [];
    for (const l of this.loans) {
      if (l === null || l.vgpu !== v.id) continue;
      const first = l.range.base / PAGE_SIZE;
      out.push([first, first + l.range.size / PAGE_SIZE]);
    }
    return out;
  }

  /** The vGPU whose fenced pages pool entry `index` maps (0: none). */
  poolOwnerOf(index: number): number {
    for (const l of this.loans) {
      if (l === null) continue;
      const first = l.range.base / PAGE_SIZE;
      if (index >= first && index < first + l.range.size / PAGE_SIZE) return l.vgpu;
    }
    return 0;
  }
}
