/**
 * PPGTT shadow page tables (docs/domain.md section 5, i915 gvt/gtt.c): one shadow page per guest
 * page-table page, built by walking the guest tables (PML4 [47:39], PDP [38:30], PD [29:21],
 * PT [20:12]). Every guest page-table page is write-protected through the MPT gate; a
 * trapped 8-byte write updates the shadow entry at once, a 4-byte write points it at
 * nothing and marks it for post-shadow (re-shadowed before the next submission). Shadow
 * pages are refcounted (parent entries and mm roots); mms sit on an LRU and unpinned ones
 * are reclaimed under memory pressure. 64K pages (PDE IPS bit) are split into 16 x 4K,
 * 2M pages are mapped whole or split, 1G leaves are unsupported (scratch).
 * Optional out-of-sync pages: see oos.ts.
 */

import { hi32, join64, lo32 } from "../hw/bits.ts";
import { type HostMemory, OWNER_HOST, PAGE_SIZE } from "../hw/memory.ts";
import {
  entryPresent,
  GEN8_PDE_IPS_64K,
  GEN8_PDE_PS_2M,
  LEVEL_PD,
  LEVEL_PDP,
  LEVEL_PML4,
  LEVEL_PT,
  PT_ENTRIES,
  pteFlags,
  pteFrame,
} from "../hw/pte.ts";
import { SCRATCH_IOVA } from "../hw/iommu.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { VgpuCounters } from "./counters.ts";
import type { OosOwner, OosPage, OosPool } from "./oos.ts";

/** A leaf pointing at the host's scratch page (its device address is valid in every domain). */
const SCRATCH_LEAF = SCRATCH_IOVA + 1;

/** One shadow page table page. */
export class ShadowPage implements OosOwner {
  /** Guest entries as last shadowed. */
  readonly guest: Float64Array = new Float64Array(PT_ENTRIES);
  /** Device address mapped by each leaf entry (-1: none). */
  readonly dma: Float64Array = new Float64Array(PT_ENTRIES).fill(-1);
  /** Child shadow pages of non-leaf entries. */
  readonly children: (ShadowPage | null)[];
  /** Entries awaiting post-shadow. */
  readonly postShadow: Uint8Array = new Uint8Array(PT_ENTRIES);
  /** Number of entries flagged in `postShadow`. */
  postCount = 0;
  /** References (parent entries and mm roots). */
  refcount = 0;
  /** Trapped writes since the last sync (OOS trigger). */
  writeCount = 0;
  /** Attached OOS snapshot. */
  oos: OosPage | null = null;
  /** Unprotected (out of sync). */
  outOfSync = false;

  /**
   * Creates a ShadowPage.
   * @param gfn guest frame of the table (-1 for a page made by splitting a 2M entry)
   * @param level 1 PT .. 4 PML4
   * @param mfn host frame holding the shadow entries
   * @param ips64k PT of 64 KiB pages
   * @param splitBase first guest frame of a split 2M page (else -1)
   */
  constructor(
    readonly gfn: number,
    readonly level: number,
    readonly mfn: number,
    readonly ips64k: boolean,
    readonly splitBase: number,
  ) {
    this.children = level > LEVEL_PT ? new Array(PT_ENTRIES).fill(null) : [];
  }
}

/** One guest PPGTT address space (`intel_vgpu_mm` of type PPGTT). */
export class PpgttMm {
  /** Shadow roots (4-level: one PML4; 3-level: four PDs). */
  readonly roots: (ShadowPage | null)[] = [null, null, null, null];
  /** Shadows built. */
  shadowed = false;
  /** In-flight workloads using it. */
  pin = 0;
  /** References (g2v create, workloads). */
  refcount = 0;

  /**
   * Creates a PpgttMm.
   * @param levels 4 or 3
   * @param pdps guest root addresses (PML4 in [0] for 4-level)
   */
  constructor(readonly levels: 3 | 4, readonly pdps: Float64Array) {}

  /** True if this mm has the given roots. */
  matches(levels: number, pdps: ArrayLike<number>): boolean {
    if (levels !== this.levels) return false;
    const n = levels === 4 ? 1 : 4;
    for (let i = 0; i < n; i++) if (this.pdps[i] !== pdps[i]) return false;
    return true;
  }
}

/** Settings. */
export interface PpgttOptions {
  /** Out-of-sync pages enabled. */
  outOfSync: boolean;
  /** Most shadow pages alive at once over all vGPUs before the LRU reclaims (0: no limit). */
  maxShadowPages: number;
}

/** A vGPU's PPGTT shadowing state. */
export class VgpuPpgtt {
  /** Shadow pages by guest frame. */
  readonly byGfn: Map<number, ShadowPage> = new Map<number, ShadowPage>();
  /** mms in LRU order (least recently pinned first). */
  readonly mms: PpgttMm[] = [];
  /** Shadow pages with post-shadow entries. */
  readonly postList: ShadowPage[] = [];
  /** Out-of-sync pages. */
  readonly oosList: ShadowPage[] = [];
  /** Host frames of split pages (no guest frame). */
  splitPages = 0;

  /**
   * Creates a VgpuPpgtt.
   * @param vgpuId vGPU id
   * @param counters its counters
   */
  constructor(readonly vgpuId: number, readonly counters: VgpuCounters) {}
}

/** PPGTT shadowing for all vGPUs. */
export class PpgttShadow {
  /** Shadow pages alive over all vGPUs. */
  livePages = 0;
  /** Shadow pages could not be allocated (entries left not present). */
  allocFailures = 0;
  private readonly bufs: Uint8Array[] = [];
  private readonly words: Uint32Array[] = [];
  private readonly wbuf = new Uint8Array(8);
  private readonly wviews: Uint8Array[];
  private readonly spaces: VgpuPpgtt[] = [];
  private readonly recycleFn = (o: OosOwner) => this.recycle(o as ShadowPage);
  private recycleSpace: VgpuPpgtt | null = null;

  /**
   * Creates a PpgttShadow.
   * @param gate MPT gate
   * @param mem host memory (shadow pages are host frames)
   * @param oosPool shared out-of-sync pool
   * @param options settings
   */
  constructor(
    private readonly gate: MptGate,
    private readonly mem: HostMemory,
    private readonly oosPool: OosPool,
    readonly options: PpgttOptions,
  ) {
    for (let l = 0; l <= 4; l++) {
      const b = new Uint8Array(PAGE_SIZE);
      this.bufs.push(b);
      this.words.push(new Uint32Array(b.buffer));
    }
    this.wviews = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => this.wbuf.subarray(0, n));
  }

  /** Creates the state of a vGPU. */
  createSpace(vgpuId: number, counters: VgpuCounters): VgpuPpgtt {
    const s = new VgpuPpgtt(vgpuId, counters);
    this.spaces.push(s);
    return s;
  }

  /** Destroys every mm and shadow page of a vGPU (reset / destroy). */
  destroyAll(s: VgpuPpgtt): void {
    for (const mm of s.mms) {
      this.invalidate(s, mm);
      s.counters.ppgttDestroy++;
    }
    s.mms.length = 0;
    for (const spt of [...s.byGfn.values()]) this.freePage(s, spt);
    s.postList.length = 0;
    s.oosList.length = 0;
  }

  /** Forgets a vGPU entirely (after {@link destroyAll}). */
  dropSpace(s: VgpuPpgtt): void {
    this.destroyAll(s);
    const i = this.spaces.indexOf(s);
    if (i >= 0) this.spaces.splice(i, 1);
  }

  /** Finds or creates the mm for these roots and takes a reference. */
  getMm(s: VgpuPpgtt, levels: 3 | 4, pdps: ArrayLike<number>): PpgttMm {
    for (const mm of s.mms) {
      if (mm.matches(levels, pdps)) {
        mm.refcount++;
        return mm;
      }
    }
    const mm = new PpgttMm(levels, Float64Array.from({ length: 4 }, (_, i) => pdps[i] ?? 0));
    mm.refcount = 1;
    s.mms.push(mm);
    s.counters.ppgttCreate++;
    return mm;
  }

  /** Finds an mm without taking a reference. */
  findMm(s: VgpuPpgtt, levels: 3 | 4, pdps: ArrayLike<number>): PpgttMm | null {
    for (const mm of s.mms) if (mm.matches(levels, pdps)) return mm;
    return null;
  }

  /** Drops a reference; the mm is destroyed at zero. */
  putMm(s: VgpuPpgtt, mm: PpgttMm): void {
    if (--mm.refcount > 0) return;
    this.invalidate(s, mm);
    const i = s.mms.indexOf(mm);
    if (i >= 0) s.mms.splice(i, 1);
    s.counters.ppgttDestroy++;
  }

  /**
   * Pins an mm for a workload: shadows it if needed and moves it to the LRU tail. Returns
   * false if a root could not be shadowed.
   */
  pin(s: VgpuPpgtt, mm: PpgttMm): boolean {
    if (!mm.shadowed) this.shadowMm(s, mm);
    mm.pin++;
    const i = s.mms.indexOf(mm);
    if (i >= 0 && i !== s.mms.length - 1) {
      s.mms.splice(i, 1);
      s.mms.push(mm);
    }
    return mm.roots[0] !== null;
  }

  /** Unpins an mm after its workload completed. */
  unpin(mm: PpgttMm): void {
    if (mm.pin > 0) mm.pin--;
  }

  /** Host root addresses for a context image (scratch address for missing roots). */
  rootAddress(mm: PpgttMm, i: number): number {
    const r = mm.roots[i];
    return r ? r.mfn * PAGE_SIZE : this.mem.scratchMfn * PAGE_SIZE;
  }

  /** Builds the shadows of an mm's roots (`shadow_ppgtt_mm`). */
  private shadowMm(s: VgpuPpgtt, mm: PpgttMm): void {
    if (mm.levels === 4) {
      mm.roots[0] = this.getPage(s, pteFrame(mm.pdps[0]), LEVEL_PML4, false);
    } else {
      for (let i = 0; i < 4; i++) {
        mm.roots[i] = mm.pdps[i] !== 0
          ? this.getPage(s, pteFrame(mm.pdps[i]), LEVEL_PD, false)
          : null;
      }
    }
    mm.shadowed = true;
  }

  /** Drops an mm's shadows (they are rebuilt at the next pin). */
  invalidate(s: VgpuPpgtt, mm: PpgttMm): void {
    if (!mm.shadowed) return;
    for (let i = 0; i < 4; i++) {
      const r = mm.roots[i];
      if (r) this.putPage(s, r);
      mm.roots[i] = null;
    }
    mm.shadowed = false;
  }

  /** Reclaims the least recently used unpinned shadowed mm of any vGPU; false if none. */
  reclaimOne(): boolean {
    for (const s of this.spaces) {
      for (const mm of s.mms) {
        if (mm.pin === 0 && mm.shadowed) {
          this.invalidate(s, mm);
          s.counters.sptReclaims++;
          return true;
        }
      }
    }
    return false;
  }

  /** A host frame for a shadow page, reclaiming LRU mms over the limit or when memory is short. */
  private allocFrame(): number {
    const max = this.options.maxShadowPages;
    while (max > 0 && this.livePages >= max) if (!this.reclaimOne()) break;
    let m = this.mem.allocFrame(OWNER_HOST);
    while (m < 0 && this.reclaimOne()) m = this.mem.allocFrame(OWNER_HOST);
    return m;
  }

  /** Finds (taking a reference) or builds the shadow of guest table page `gfn`. */
  private getPage(s: VgpuPpgtt, gfn: number, level: number, ips64k: boolean): ShadowPage | null {
    const old = s.byGfn.get(gfn);
    if (old) {
      old.refcount++;
      return old;
    }
    const mfn = this.allocFrame();
    if (mfn < 0) {
      this.allocFailures++;
      return null;
    }
    const spt = new ShadowPage(gfn, level, mfn, ips64k, -1);
    spt.refcount = 1;
    s.byGfn.set(gfn, spt);
    this.livePages++;
    s.counters.sptAlloc++;
    this.gate.enablePageTrack(s.vgpuId, gfn);
    const buf = this.bufs[level], w = this.words[level];
    if (this.gate.readGpa(s.vgpuId, gfn * PAGE_SIZE, buf) < 0) buf.fill(0);
    for (let i = 0; i < PT_ENTRIES; i++) {
      const e = join64(w[2 * i], w[2 * i + 1]);
      spt.guest[i] = e;
      if (e % 2 === 1) this.shadowEntry(s, spt, i, e);
    }
    return spt;
  }

  /** Drops a reference; frees the shadow page at zero. */
  private putPage(s: VgpuPpgtt, spt: ShadowPage): void {
    if (--spt.refcount > 0) return;
    this.freePage(s, spt);
  }

  /** Frees a shadow page: children, mappings, write protection, OOS page, frame. */
  private freePage(s: VgpuPpgtt, spt: ShadowPage): void {
    for (let i = 0; i < PT_ENTRIES; i++) this.unshadowEntry(s, spt, i);
    if (spt.gfn >= 0 && s.byGfn.get(spt.gfn) === spt) {
      s.byGfn.delete(spt.gfn);
      if (!spt.outOfSync) this.gate.disablePageTrack(s.vgpuId, spt.gfn);
      if (spt.oos) {
        this.oosPool.detach(spt);
        s.counters.oosDetach++;
      }
      removeFrom(s.postList, spt);
      removeFrom(s.oosList, spt);
    } else if (spt.gfn < 0) s.splitPages--;
    spt.refcount = 0;
    this.mem.freeFrame(spt.mfn);
    this.livePages--;
    s.counters.sptFree++;
  }

  /** Writes shadow entry `i` into the shadow page's host frame. */
  private setShadow(spt: ShadowPage, i: number, v: number): void {
    const p = this.mem.page(spt.mfn);
    p[2 * i] = lo32(v);
    p[2 * i + 1] = hi32(v);
  }

  /** Reads a shadow entry (for checks and tests). */
  shadowEntry64(spt: ShadowPage, i: number): number {
    const p = this.mem.page(spt.mfn);
    return join64(p[2 * i], p[2 * i + 1]);
  }

  /** DMA-maps a leaf guest page; -1 (scratch) if invalid or the map fails. */
  private mapLeaf(s: VgpuPpgtt, gfn: number, size: number): number {
    if (!this.gate.isValidGfn(s.vgpuId, gfn)) return -1;
    s.counters.dmaMaps++;
    const dma = this.gate.dmaMapGuestPage(s.vgpuId, gfn, size);
    if (dma < 0) s.counters.dmaMapFailures++;
    return dma;
  }

  /** Shadows guest entry `e` (present) at index `i` of `spt`. */
  private shadowEntry(s: VgpuPpgtt, spt: ShadowPage, i: number, e: number): void {
    const flags = pteFlags(e);
    const gfn = pteFrame(e);
    const scratch = SCRATCH_LEAF;
    if (spt.level === LEVEL_PT) {
      if (spt.ips64k) {
        if (i % 16 !== 0) return;
        for (let k = 0; k < 16; k++) {
          const dma = this.mapLeaf(s, gfn + k, PAGE_SIZE);
          spt.dma[i + k] = dma;
          this.setShadow(spt, i + k, dma >= 0 ? dma + flags : scratch);
        }
        return;
      }
      const dma = this.mapLeaf(s, gfn, PAGE_SIZE);
      spt.dma[i] = dma;
      this.setShadow(spt, i, dma >= 0 ? dma + flags : scratch);
      return;
    }
    if (spt.level === LEVEL_PD && (flags & GEN8_PDE_PS_2M) !== 0) {
      const dma = this.mapLeaf(s, gfn, 512 * PAGE_SIZE);
      if (dma >= 0) {
        s.counters.huge2MWhole++;
        spt.dma[i] = dma;
        this.setShadow(spt, i, dma + flags);
        return;
      }
      s.counters.huge2MSplit++;
      this.setShadow(spt, i, this.split2M(s, spt, i, gfn, flags));
      return;
    }
    if (spt.level === LEVEL_PDP && (flags & GEN8_PDE_PS_2M) !== 0) {
      // 1G pages are not supported: a table pointer (host physical) to the empty scratch page
      this.setShadow(spt, i, this.mem.scratchMfn * PAGE_SIZE + 1);
      return;
    }
    const child = this.getPage(s, gfn, spt.level - 1, (flags & GEN8_PDE_IPS_64K) !== 0);
    spt.children[i] = child;
    this.setShadow(spt, i, child ? child.mfn * PAGE_SIZE + (flags & ~GEN8_PDE_IPS_64K) : 0);
  }

  /** Split2 m. */
  private split2M(s: VgpuPpgtt, spt: ShadowPage, i: number, gfn: number, flags: number): number {
    const mfn = this.allocFrame();
    if (mfn < 0) {
      this.allocFailures++;
      return 0;
    }
    const child = new ShadowPage(-1, LEVEL_PT, mfn, false, gfn);
    child.refcount = 1;
    this.livePages++;
    s.splitPages++;
    s.counters.sptAlloc++;
    const scratch = SCRATCH_LEAF;
    for (let k = 0; k < PT_ENTRIES; k++) {
      const dma = this.mapLeaf(s, gfn + k, PAGE_SIZE);
      child.dma[k] = dma;
      this.setShadow(child, k, dma >= 0 ? dma + (flags & ~GEN8_PDE_PS_2M) : scratch);
    }
    spt.children[i] = child;
    return mfn * PAGE_SIZE + (flags & ~GEN8_PDE_PS_2M);
  }

  /** Removes the shadow of entry `i` (unmaps leaves, drops children). */
  private unshadowEntry(s: VgpuPpgtt, spt: ShadowPage, i: number): void {
    if (spt.level > LEVEL_PT) {
      const ch = spt.children[i];
      if (ch) {
        spt.children[i] = null;
        this.putPage(s, ch);
      }
    }
    const d = spt.dma[i];
    if (d >= 0) {
      s.counters.dmaUnmaps++;
      this.gate.dmaUnmapGuestPage(s.vgpuId, d);
      spt.dma[i] = -1;
    }
    if (spt.level === LEVEL_PT && spt.ips64k && i % 16 === 0) {
      for (let k = 1; k < 16; k++) {
        const dk = spt.dma[i + k];
        if (dk >= 0) {
          s.counters.dmaUnmaps++;
          this.gate.dmaUnmapGuestPage(s.vgpuId, dk);
          spt.dma[i + k] = -1;
        }
        this.setShadow(spt, i + k, 0);
      }
    }
    this.setShadow(spt, i, 0);
  }

  /** Replaces the shadow of entry `i` with the shadow of guest entry `e`. */
  private updateEntry(s: VgpuPpgtt, spt: ShadowPage, i: number, e: number): void {
    this.unshadowEntry(s, spt, i);
    spt.guest[i] = e;
    if (e % 2 === 1) this.shadowEntry(s, spt, i, e);
  }

  /**
   * A trapped write while the vGPU is in failsafe: the write is done and the page's write
   * protection removed to prevent further traps (`intel_vgpu_page_track_handler`); nothing
   * is shadowed.
   */
  failsafeWrite(s: VgpuPpgtt, gpa: number, size: number, value: number): void {
    this.writeGuest(s, gpa, size, value);
    const spt = s.byGfn.get(Math.floor(gpa / PAGE_SIZE));
    if (spt && !spt.outOfSync) {
      this.gate.disablePageTrack(s.vgpuId, spt.gfn);
      spt.outOfSync = true;
    }
  }

  /** Applies a trapped write of `size` bytes to guest memory. */
  private writeGuest(s: VgpuPpgtt, gpa: number, size: number, value: number): void {
    const view = this.wviews[size > 8 ? 8 : size];
    let v = value;
    for (let i = 0; i < view.length; i++) {
      view[i] = v % 256;
      v = Math.floor(v / 256);
    }
    this.gate.writeGpa(s.vgpuId, gpa, view);
  }

  /**
   * A trapped write to a write-protected guest page (the gate's write-protect callback):
   * applies it to guest memory and updates the shadow. Returns false if the page is not a
   * shadowed page table (the write is still done).
   */
  handleWrite(s: VgpuPpgtt, gpa: number, size: number, value: number): boolean {
    this.writeGuest(s, gpa, size, value);
    const spt = s.byGfn.get(Math.floor(gpa / PAGE_SIZE));
    if (!spt) return false;
    const c = s.counters;
    c.wpTraps++;
    const off = gpa % PAGE_SIZE;
    const i = Math.floor(off / 8);
    if (size === 8 && off % 8 === 0) {
      this.updateEntry(s, spt, i, value);
      if (spt.postShadow[i]) {
        spt.postShadow[i] = 0;
        spt.postCount--;
      }
    } else {
      if (!spt.postShadow[i]) {
        this.unshadowEntry(s, spt, i);
        spt.postShadow[i] = 1;
        spt.postCount++;
        if (spt.postCount === 1) s.postList.push(spt);
      }
    }
    if (spt.oos) this.oosEntry(spt, i);
    if (this.options.outOfSync) {
      spt.writeCount++;
      if (spt.level === LEVEL_PT && spt.writeCount >= 2 && !spt.outOfSync) this.goOutOfSync(s, spt);
    }
    return true;
  }

  /** Keeps an attached OOS snapshot in step with a trapped write. */
  private oosEntry(spt: ShadowPage, i: number): void {
    // A half-written entry is unknown (-1) so the next sync re-shadows it.
    if (spt.oos) spt.oos.mem[i] = spt.postShadow[i] ? -1 : spt.guest[i];
  }

  /** Attaches an OOS page and drops write protection (`ppgtt_set_guest_page_oos`). */
  private goOutOfSync(s: VgpuPpgtt, spt: ShadowPage): void {
    if (!spt.oos) {
      this.recycleSpace = s;
      if (!this.oosPool.attach(spt, this.recycleFn)) return;
      spt.oos!.mem.set(spt.guest);
    }
    this.gate.disablePageTrack(s.vgpuId, spt.gfn);
    spt.outOfSync = true;
    s.oosList.push(spt);
    s.counters.oosAttach++;
  }

  /** Syncs and detaches the oldest OOS page so the pool can hand it out again. */
  private recycle(victim: ShadowPage): void {
    const s = this.spaceOf(victim);
    if (s && victim.outOfSync) this.syncPage(s, victim);
    if (s) {
      removeFrom(s.oosList, victim);
      s.counters.oosDetach++;
    }
    this.oosPool.detach(victim);
  }

  /** The vGPU state a shadow page belongs to. */
  private spaceOf(spt: ShadowPage): VgpuPpgtt | null {
    for (const s of this.spaces) if (spt.gfn >= 0 && s.byGfn.get(spt.gfn) === spt) return s;
    return this.recycleSpace;
  }

  /** Re-protects an OOS page, diffs it against the snapshot and re-shadows changes. */
  private syncPage(s: VgpuPpgtt, spt: ShadowPage): void {
    this.gate.enablePageTrack(s.vgpuId, spt.gfn);
    spt.outOfSync = false;
    spt.writeCount = 0;
    const buf = this.bufs[0], w = this.words[0];
    if (this.gate.readGpa(s.vgpuId, spt.gfn * PAGE_SIZE, buf) < 0) return;
    const snap = spt.oos!.mem;
    for (let i = 0; i < PT_ENTRIES; i++) {
      const e = join64(w[2 * i], w[2 * i + 1]);
      if (e !== snap[i]) {
        snap[i] = e;
        this.updateEntry(s, spt, i, e);
        if (spt.postShadow[i]) {
          spt.postShadow[i] = 0;
          spt.postCount--;
        }
      }
    }
    s.counters.oosSync++;
  }

  /** Re-protects, diffs and re-shadows every out-of-sync page of a vGPU (before submission). */
  syncOos(s: VgpuPpgtt): void {
    for (const spt of s.oosList) if (spt.outOfSync) this.syncPage(s, spt);
    s.oosList.length = 0;
  }

  /** Re-shadows every entry marked by 4-byte writes (before submission). */
  flushPostShadow(s: VgpuPpgtt): void {
    if (s.postList.length === 0) return;
    s.counters.postShadowFlushes++;
    const w = this.words[0];
    for (const spt of s.postList) {
      if (spt.postCount === 0) continue;
      if (this.gate.readGpa(s.vgpuId, spt.gfn * PAGE_SIZE, this.bufs[0]) < 0) continue;
      for (let i = 0; i < PT_ENTRIES; i++) {
        if (!spt.postShadow[i]) continue;
        spt.postShadow[i] = 0;
        const e = join64(w[2 * i], w[2 * i + 1]);
        spt.guest[i] = -1;
        this.updateEntry(s, spt, i, e);
        if (spt.oos) spt.oos.mem[i] = e;
        s.counters.postShadowEntries++;
      }
      spt.postCount = 0;
    }
    s.postList.length = 0;
  }

  /**
   * Visits the guest frame of every DMA-mapped leaf of a vGPU's shadows (the guest pages its
   * GPU can reach through PPGTT; a 2M leaf gives all 512 frames). Live migration hashes them.
   */
  forEachGuestLeaf(s: VgpuPpgtt, visit: (gfn: number) => void): void {
    for (const spt of s.byGfn.values()) {
      for (let i = 0; i < PT_ENTRIES; i++) {
        if (spt.level === LEVEL_PD) {
          const ch = spt.children[i];
          if (spt.dma[i] >= 0) {
            const g = pteFrame(spt.guest[i]);
            for (let k = 0; k < PT_ENTRIES; k++) visit(g + k);
          } else if (ch !== null && ch.splitBase >= 0) {
            for (let k = 0; k < PT_ENTRIES; k++) if (ch.dma[k] >= 0) visit(ch.splitBase + k);
          }
        } else if (spt.level === LEVEL_PT && spt.dma[i] >= 0) {
          const k = spt.ips64k ? i % 16 : 0;
          visit(pteFrame(spt.guest[i - k]) + k);
        }
      }
    }
  }

  /**
   * Visits every present leaf of a vGPU's shadows: `visit(addr)` with the device address of
   * each mapped 4 KiB page (a 2M leaf gives its 512 pages). Used by the invariant checker,
   * which translates them in the vGPU's IOMMU domain.
   */
  forEachLeaf(s: VgpuPpgtt, visit: (addr: number) => void): void {
    const seen = new Set<ShadowPage>();
    const walk = (spt: ShadowPage) => {
      if (seen.has(spt)) return;
      seen.add(spt);
      for (let i = 0; i < PT_ENTRIES; i++) {
        const se = this.shadowEntry64(spt, i);
        if (!entryPresent(se)) continue;
        const ch = spt.level > LEVEL_PT ? spt.children[i] : null;
        if (ch) walk(ch);
        else if (spt.level === LEVEL_PD && spt.dma[i] >= 0) {
          for (let k = 0; k < PT_ENTRIES; k++) visit((pteFrame(se) + k) * PAGE_SIZE);
        } else visit(pteFrame(se) * PAGE_SIZE);
      }
    };
    for (const spt of s.byGfn.values()) walk(spt);
  }
}

function removeFrom<T>(a: T[], x: T): void {
  const i = a.indexOf(x);
  if (i >= 0) a.splice(i, 1);
}
