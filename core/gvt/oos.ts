/**
 * Out-of-sync page pool (gHyvi; i915 gvt/gtt.c `oos_page`): a guest PTE page written at
 * least twice while protected gets a snapshot and loses its write protection; before the
 * next submission it is re-protected, diffed against the snapshot and the changed entries
 * re-shadowed. The pool holds at most `size` pages (8192 in the kernel); when it is empty
 * the oldest attached page is synced and recycled.
 */

/** Entries of a page-table page. */
export const PT_ENTRIES = 512;

/** Default pool size (INTEL_GVT_OOS_PAGE_NUM... the kernel's preallocated 8192 pages). */
export const OOS_POOL_PAGES = 8192;

/** What the pool needs from the page it is attached to. */
export interface OosOwner {
  /** The attached oos page, or null. */
  oos: OosPage | null;
  /** True while the guest page is unprotected (writes not trapped). */
  outOfSync: boolean;
}

/** One snapshot page. */
export class OosPage {
  /** Guest entries at attach/sync time. */
  readonly mem: Float64Array = new Float64Array(PT_ENTRIES);
  /** The shadow page it belongs to. */
  owner: OosOwner | null = null;
}

/** The pool, shared by all vGPUs. */
export class OosPool {
  private readonly free: OosPage[] = [];
  private readonly inUse: OosPage[] = [];
  private created = 0;

  /** Creates a OosPool.
   * @param size maximum pages */
  constructor(readonly size: number = OOS_POOL_PAGES) {}

  /** Pages attached now. */
  get used(): number {
    return this.inUse.length;
  }

  /**
   * Takes a page for `owner`. When the pool is exhausted the oldest attached page is handed
   * to `recycle` first (which must sync and detach it). Returns null only for a zero-size pool.
   */
  attach(owner: OosOwner, recycle: (victim: OosOwner) => void): OosPage | null {
    let p = this.free.pop();
    if (!p && this.created < this.size) {
      p = new OosPage();
      this.created++;
    }
    if (!p) {
      const oldest = this.inUse[0];
      if (!oldest || !oldest.owner) return null;
      recycle(oldest.owner);
      p = this.free.pop();
      if (!p) return null;
    }
    p.owner = owner;
    owner.oos = p;
    this.inUse.push(p);
    return p;
  }

  /** Returns `owner`'s page to the pool. */
  detach(owner: OosOwner): void {
    const p = owner.oos;
    if (!p) return;
    const i = this.inUse.indexOf(p);
    if (i >= 0) this.inUse.splice(i, 1);
    p.owner = null;
    owner.oos = null;
    owner.outOfSync = false;
    this.free.push(p);
  }
}
