/**
 * The mediator's own graphics memory: shadow rings, shadow batch buffers and shadow
 * contexts live in host frames mapped into the host-reserved hidden part of the GGTT (like
 * the GEM objects i915 gvt allocates for them). Page-granular, first fit, recycled.
 */

import { copyWords, type HostMemory, OWNER_HOST, PAGE_SIZE } from "../hw/memory.ts";
import type { GgttPort } from "./gtt.ts";
import type { GmRange } from "./resources.ts";

/** One host buffer: contiguous graphics addresses backed by host frames. */
export class HostBuffer {
  /** Host frames, one per page. */
  readonly mfns: number[] = [];
  /** Graphics address of the first page. */
  gma = 0;
  /** Pages. */
  pages = 0;
}

/** Allocator over the host's hidden GGTT range. */
export class HostGm {
  private readonly used: Uint8Array;
  private readonly firstIndex: number;
  private cursor = 0;
  /** Pages in use. */
  inUse = 0;
  /** Allocations that failed (no address space or frames). */
  failures = 0;

  /**
   * Creates a HostGm.
   * @param mem host memory
   * @param ggtt the physical GGTT
   * @param range the host-reserved graphics range to use
   */
  constructor(
    private readonly mem: HostMemory,
    private readonly ggtt: GgttPort,
    range: GmRange,
  ) {
    this.firstIndex = range.base / PAGE_SIZE;
    this.used = new Uint8Array(range.size / PAGE_SIZE);
  }

  /** Allocates `pages` contiguous pages (zeroed); null if out of space or memory. */
  alloc(pages: number): HostBuffer | null {
    const n = this.used.length;
    if (pages <= 0 || pages > n) return null;
    let start = -1;
    for (let tries = 0; tries < 2 && start < 0; tries++) {
      let run = 0;
      for (let i = tries === 0 ? this.cursor : 0; i < n; i++) {
        run = this.used[i] ? 0 : run + 1;
        if (run === pages) {
          start = i - pages + 1;
          break;
        }
      }
    }
    if (start < 0) {
      this.failures++;
      return null;
    }
    const b = new HostBuffer();
    for (let k = 0; k < pages; k++) {
      const mfn = this.mem.allocFrame(OWNER_HOST);
      if (mfn < 0) {
        for (const m of b.mfns) this.mem.freeFrame(m);
        this.failures++;
        return null;
      }
      b.mfns.push(mfn);
    }
    for (let k = 0; k < pages; k++) {
      this.used[start + k] = 1;
      this.ggtt.ggttWrite(this.firstIndex + start + k, b.mfns[k] * PAGE_SIZE + 1);
    }
    b.gma = (this.firstIndex + start) * PAGE_SIZE;
    b.pages = pages;
    this.cursor = start + pages;
    this.inUse += pages;
    return b;
  }

  /** Frees a buffer (its GGTT entries point at nothing afterwards). */
  free(b: HostBuffer): void {
    const start = b.gma / PAGE_SIZE - this.firstIndex;
    for (let k = 0; k < b.pages; k++) {
      this.used[start + k] = 0;
      this.ggtt.ggttWrite(this.firstIndex + start + k, this.mem.scratchMfn * PAGE_SIZE);
      this.mem.freeFrame(b.mfns[k]);
    }
    if (start < this.cursor) this.cursor = start;
    this.inUse -= b.pages;
    b.pages = 0;
    b.mfns.length = 0;
  }

  /** Writes dwords `src[0..count)` into the buffer from dword `at`. */
  writeDwords(b: HostBuffer, at: number, src: Uint32Array, count: number): void {
    let i = 0;
    while (i < count) {
      const dw = at + i;
      const page = this.mem.page(b.mfns[dw >>> 10]);
      const o = dw & 1023;
      const n = Math.min(1024 - o, count - i);
      copyWords(page, o, src, i, n);
      i += n;
    }
  }

  /** Reads one dword of the buffer. */
  readDword(b: HostBuffer, dw: number): number {
    return this.mem.page(b.mfns[dw >>> 10])[dw & 1023];
  }

  /** Writes one dword of the buffer. */
  writeDword(b: HostBuffer, dw: number, v: number): void {
    this.mem.page(b.mfns[dw >>> 10])[dw & 1023] = v >>> 0;
  }
}
