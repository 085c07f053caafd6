/**
 * A page-granular first-fit allocator over a range of graphics addresses (a driver's slice
 * of the GGTT, or a PPGTT virtual range). Deterministic: always the lowest fitting range.
 */

/** Allocates runs of 4 KiB pages inside [base, base + size). */
export class RangeAllocator {
  private readonly used: Uint8Array;
  private hint = 0;
  /** Pages currently allocated. */
  inUse = 0;

  /**
   * Creates the instance.
   * @param base first address of the range (page aligned)
   * @param size size in bytes
   */
  constructor(readonly base: number, readonly size: number) {
    this.used = new Uint8Array(Math.floor(size / 4096));
  }

  /** Allocates `pages` contiguous pages; returns the address or -1. */
  alloc(pages: number): number {
    const u = this.used, n = u.length;
    let run = 0;
    for (let i = this.hint; i < n; i++) {
      if (u[i]) {
        run = 0;
        continue;
      }
      if (++run === pages) {
        const first = i - pages + 1;
        u.fill(1, first, i + 1);
        this.inUse += pages;
        if (first === this.hint) this.hint = i + 1;
        return this.base + first * 4096;
      }
    }
    return -1;
  }

  /** Frees `pages` pages at `addr`. */
  free(addr: number, pages: number): void {
    const first = Math.floor((addr - this.base) / 4096);
    if (first < 0 || first + pages > this.used.length) return;
    for (let i = first; i < first + pages; i++) {
      if (this.used[i]) {
        this.used[i] = 0;
        this.inUse--;
      }
    }
    if (first < this.hint) this.hint = first;
  }
}
