/**
 * Host physical memory as sparse 4 KiB frames. A frame's storage (a Uint32Array) is
 * allocated lazily on first access; every frame carries an owner tag so isolation can be
 * checked later (host = 0, scratch = -1, free = -2, VM ids >= 1). The frame tables are
 * two-level and lazy too (chunks of {@link PAGE_CHUNK} frames), so memory of any size
 * costs only what a run touches.
 *
 * Addresses are byte addresses held in JS numbers (exact up to 2^53). Accesses outside the
 * memory read as 0 and are dropped on write; {@link HostMemory.badAccesses} counts them.
 */

import { hi32, join64, le32, lo32, putLe32 } from "./bits.ts";
import { LazyInt32Array } from "./lazy_array.ts";

/** Owner tag of a frame nobody owns. */
export const OWNER_FREE: number = -2;
/** Owner tag of the scratch frame (where invalid GTT entries point). */
export const OWNER_SCRATCH: number = -1;
/** Owner tag of host (native driver / mediator) frames. VMs use owner ids >= 1. */
export const OWNER_HOST = 0;

/** Bytes in one frame. */
export const PAGE_SIZE = 4096;
/** log2 of {@link PAGE_SIZE}. */
export const PAGE_SHIFT = 12;
/** Bytes of a cache line (i915 `CACHELINE_BYTES`): workaround batches are sized in them. */
export const CACHELINE_BYTES = 64;

const ZERO_PAGE = new Uint32Array(1024);
/** Word spans up to this long copy with a loop: cheaper than making a view for `set`. */
const SHORT_SPAN = 64;
/** Byte copies up to this long go byte-wise (a CSB entry, a register value): no view. */
const FEW_BYTES = 16;

/** The byte offset of address `a` within its page. */
export function pageOffset(a: number): number {
  return a & (PAGE_SIZE - 1);
}

/** The index of the dword holding address `a` within its page (a page is 1024 dwords). */
export function pageDword(a: number): number {
  return (a & (PAGE_SIZE - 1)) >>> 2;
}

/** Bytes from address `a` to the end of its page. */
export function bytesToPageEnd(a: number): number {
  return PAGE_SIZE - pageOffset(a);
}

/**
 * Copies `n` words `src[from ..]` to `dst[at ..]` without making a view when it can: a whole
 * source with `set`, a short span with a loop (cheaper than a view), else `set` of a view.
 */
export function copyWords(
  dst: Uint32Array,
  at: number,
  src: Uint32Array,
  from: number,
  n: number,
): void {
  if (from === 0 && n === src.length) dst.set(src, at);
  else if (n <= SHORT_SPAN) { for (let i = 0; i < n; i++) dst[at + i] = src[from + i]; }
  else dst.set(src.subarray(from, from + n), at);
}

/** Pages in the longest run of {@link zeroPages}. */
export const ZERO_RUN_PAGES = 32;
/**
 * Zeros, shared: a write from these bytes is known to write zeros without reading them, so a
 * frame without storage keeps none (it reads as zeros already). Nobody may write into them:
 * reading memory into them is refused.
 */
const ZERO_BYTES = new Uint8Array(ZERO_RUN_PAGES * PAGE_SIZE);
const ZERO_RUNS = Array.from(
  { length: ZERO_RUN_PAGES + 1 },
  (_, n) => ZERO_BYTES.subarray(0, n * PAGE_SIZE),
);

/**
 * `n` pages of zeros (at most {@link ZERO_RUN_PAGES}) to write somewhere, read-only: written
 * to memory (through any path that ends in {@link HostMemory.writeFrom}, such as a backend's
 * `writeGpa`), they cost no copy and give a frame that has no storage none.
 */
export function zeroPages(n: number): Uint8Array {
  return ZERO_RUNS[n];
}

/** Frames per chunk of the page table. */
export const PAGE_CHUNK = 1024;
/** log2 of {@link PAGE_CHUNK}: frame numbers (below 2^32) split with shifts, not divisions. */
const CHUNK_SHIFT = 10;

/** A byte buffer's word view and the views of its whole pages made so far. */
interface BufferViews {
  /** Words of the buffer (which starts word-aligned). */
  readonly words: Uint32Array;
  /** `pages[i]`: the words of its page `i`. */
  readonly pages: Uint32Array[];
}

/**
 * Word views of the byte buffers copied through host memory, and of their whole pages as far
 * as made (see {@link HostMemory.readInto}): callers copy through staging buffers they keep (a
 * workload alone goes through several: the scanner's, the shadow context's), so each buffer's
 * views are made once. The last buffer is checked first; the others are found by the buffer
 * itself, weakly (a buffer dropped takes its views with it). Kept outside every world (a
 * checkpoint does not carry it).
 */
class ViewCache {
  private readonly known = new WeakMap<Uint8Array, BufferViews>();
  private last: Uint8Array | null = null;
  private lastViews: BufferViews = { words: ZERO_PAGE, pages: [] };

  /** The views of `buf` (which starts word-aligned). */
  private of(buf: Uint8Array): BufferViews {
    if (buf === this.last) return this.lastViews;
    let v = this.known.get(buf);
    if (v === undefined) {
      v = { words: new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2), pages: [] };
      this.known.set(buf, v);
    }
    this.last = buf;
    this.lastViews = v;
    return v;
  }

  /** A word view of `buf` (which starts word-aligned). */
  words(buf: Uint8Array): Uint32Array {
    return this.of(buf).words;
  }

  /** The words of page `i` of `buf` (a word-aligned buffer holding that whole page). */
  page(buf: Uint8Array, i: number): Uint32Array {
    const v = this.of(buf);
    return v.pages[i] ??= v.words.subarray(i * 1024, i * 1024 + 1024);
  }
}

const VIEWS = new ViewCache();

/** Sparse host physical memory with per-frame owner tags. */
export class HostMemory {
  /** Number of 4 KiB frames. */
  readonly frames: number;
  /** Total size in bytes. */
  readonly bytes: number;
  /** The scratch frame, allocated at construction (owner {@link OWNER_SCRATCH}). */
  readonly scratchMfn: number;
  /** Frames currently allocated (any owner but free). */
  allocated = 0;
  /** Out-of-range accesses seen (reads returned 0, writes dropped). */
  badAccesses = 0;
  /**
   * Times a frame stopped being a VM's or scratch: only then can a GTT entry that pointed
   * legally at a frame become an isolation violation without being written (the invariant
   * checker skips its sweep while this stays the same).
   */
  ownerLosses = 0;

  /** Frame storage by chunk: `pages[mfn / PAGE_CHUNK][mfn % PAGE_CHUNK]` (null: none yet). */
  private readonly pages: ((Uint32Array | null)[] | null)[];
  private readonly owners: LazyInt32Array;
  private lowestFree = 0;

  /**
   * Creates the instance.
   * @param bytes memory size, rounded down to whole frames (at least one, at most 2^32)
   */
  constructor(bytes: number) {
    // at most 2^32 frames (16 TiB): frame numbers are split with 32-bit shifts
    this.frames = Math.min(2 ** 32, Math.max(1, Math.floor(bytes / PAGE_SIZE)));
    this.bytes = this.frames * PAGE_SIZE;
    this.pages = new Array(Math.ceil(this.frames / PAGE_CHUNK)).fill(null);
    this.owners = new LazyInt32Array(this.frames, OWNER_FREE);
    this.scratchMfn = this.allocFrame(OWNER_SCRATCH);
  }

  /** The storage of a frame, if it has any. */
  private stored(mfn: number): Uint32Array | null {
    const c = this.pages[mfn >>> CHUNK_SHIFT];
    return c === null ? null : c[mfn & (PAGE_CHUNK - 1)];
  }

  /**
   * Allocates the lowest free frame for `owner` (zero-filled); returns its mfn, or -1 when
   * memory is exhausted.
   */
  allocFrame(owner: number): number {
    const m = this.owners.indexOf(OWNER_FREE, this.lowestFree);
    if (m < 0) {
      this.lowestFree = this.frames;
      return -1;
    }
    this.owners.set(m, owner);
    this.lowestFree = m + 1;
    this.allocated++;
    return m; // storage, if any, was zeroed when the frame was freed
  }

  /** Frees a frame (its contents are discarded). Freeing a free or out-of-range frame is a no-op. */
  freeFrame(mfn: number): void {
    if (mfn < 0 || mfn >= this.frames) return;
    const old = this.owners.get(mfn);
    if (old === OWNER_FREE) return;
    if (old !== OWNER_HOST) this.ownerLosses++;
    this.owners.set(mfn, OWNER_FREE);
    // Keep the storage for the next owner (shadow pages churn): zeroing beats a new array.
    this.stored(mfn)?.fill(0);
    this.allocated--;
    if (mfn < this.lowestFree) this.lowestFree = mfn;
  }

  /** Owner tag of a frame ({@link OWNER_FREE} for free frames, -3 when out of range). */
  ownerOf(mfn: number): number {
    return mfn >= 0 && mfn < this.frames ? this.owners.get(mfn) : -3;
  }

  /** Changes the owner tag of an allocated frame (e.g. a page handed to a VM). */
  setOwner(mfn: number, owner: number): void {
    if (mfn < 0 || mfn >= this.frames) return;
    const old = this.owners.get(mfn);
    if (old !== OWNER_FREE) {
      if (old !== owner && old !== OWNER_HOST) this.ownerLosses++;
      this.owners.set(mfn, owner);
    }
  }

  /** True if `pa` lies inside memory. */
  valid(pa: number): boolean {
    return pa >= 0 && pa < this.bytes;
  }

  /**
   * The storage of frame `mfn` if it has any, without creating it: null means the frame
   * reads as zeros (and for out-of-range frames).
   */
  peek(mfn: number): Uint32Array | null {
    return mfn >= 0 && mfn < this.frames ? this.stored(mfn) : null;
  }

  /** The storage of frame `mfn` (created on first use). Out-of-range mfns get a shared zero page. */
  page(mfn: number): Uint32Array {
    if (mfn < 0 || mfn >= this.frames) {
      this.badAccesses++;
      ZERO_PAGE.fill(0);
      return ZERO_PAGE;
    }
    const k = mfn >>> CHUNK_SHIFT;
    let c = this.pages[k];
    if (c === null) {
      c = new Array(PAGE_CHUNK).fill(null);
      this.pages[k] = c;
    }
    let p = c[mfn & (PAGE_CHUNK - 1)];
    if (p === null) {
      p = new Uint32Array(1024);
      c[mfn & (PAGE_CHUNK - 1)] = p;
    }
    return p;
  }

  /** Reads the 32-bit little-endian value at `pa` (4-byte aligned; low bits ignored). */
  read32(pa: number): number {
    if (pa < 0 || pa >= this.bytes) {
      this.badAccesses++;
      return 0;
    }
    const p = this.stored(Math.floor(pa / PAGE_SIZE));
    return p === null ? 0 : p[pageDword(pa)];
  }

  /** Writes a 32-bit value at `pa` (4-byte aligned; low bits ignored). */
  write32(pa: number, v: number): void {
    if (pa < 0 || pa >= this.bytes) {
      this.badAccesses++;
      return;
    }
    this.page(Math.floor(pa / PAGE_SIZE))[pageDword(pa)] = v;
  }

  /** Reads a 64-bit value at `pa` (8-byte aligned) as a number (exact up to 2^53). */
  read64(pa: number): number {
    return join64(this.read32(pa), this.read32(pa + 4));
  }

  /** Writes a 64-bit value (a non-negative integer up to 2^53) at `pa`. */
  write64(pa: number, v: number): void {
    this.write32(pa, lo32(v));
    this.write32(pa + 4, hi32(v));
  }

  /** Copies `buf.length` bytes starting at `pa` into `buf`. */
  readBytes(pa: number, buf: Uint8Array): void {
    this.readInto(pa, buf, 0, buf.length);
  }

  /** Copies `buf` into memory starting at `pa`. */
  writeBytes(pa: number, buf: Uint8Array): void {
    this.writeFrom(pa, buf, 0, buf.length);
  }

  /**
   * Copies `n` bytes starting at `pa` into `buf[at .. at + n)`, page span by page span.
   * Word-aligned spans copy through a word view of `buf` made once per buffer (callers copy
   * through staging buffers they keep), so no view is made per span; a few words go
   * byte-wise and need no view at all.
   */
  readInto(pa: number, buf: Uint8Array, at: number, n: number): void {
    if (buf.buffer === ZERO_BYTES.buffer) throw new TypeError("zeroPages() is read-only");
    let done = 0;
    while (done < n) {
      const a = pa + done;
      const off = pageOffset(a);
      const k = Math.min(PAGE_SIZE - off, n - done);
      const b = at + done;
      const p = a < 0 || a + k > this.bytes ? this.bad() : this.stored(Math.floor(a / PAGE_SIZE));
      if (p === null) buf.fill(0, b, b + k);
      else if (((off | b | k | buf.byteOffset) & 3) !== 0) {
        buf.set(new Uint8Array(p.buffer, off, k), b);
      } else if (k <= FEW_BYTES) {
        for (let i = 0; i < k; i += 4) putLe32(buf, b + i, p[(off + i) >>> 2]);
      } else copyWords(VIEWS.words(buf), b >>> 2, p, off >>> 2, k >>> 2);
      done += k;
    }
  }

  /**
   * Copies `buf[at .. at + n)` into memory starting at `pa` (see {@link readInto}). Bytes of
   * {@link zeroPages} are zeros without looking: frames with no storage are left without.
   */
  writeFrom(pa: number, buf: Uint8Array, at: number, n: number): void {
    if (buf.buffer === ZERO_BYTES.buffer) return this.zeroFrom(pa, n);
    let done = 0;
    while (done < n) {
      const a = pa + done;
      const off = pageOffset(a);
      const k = Math.min(PAGE_SIZE - off, n - done);
      const b = at + done;
      done += k;
      if (a < 0 || a + k > this.bytes) {
        this.badAccesses++;
        continue;
      }
      const p = this.page(Math.floor(a / PAGE_SIZE));
      if (((off | b | k | buf.byteOffset) & 3) !== 0) {
        new Uint8Array(p.buffer, off, k).set(buf.subarray(b, b + k));
      } else if (k <= FEW_BYTES) {
        for (let i = 0; i < k; i += 4) p[(off + i) >>> 2] = le32(buf, b + i);
      } else if (k === PAGE_SIZE && b % PAGE_SIZE === 0) p.set(VIEWS.page(buf, b / PAGE_SIZE));
      else copyWords(p, off >>> 2, VIEWS.words(buf), b >>> 2, k >>> 2);
    }
  }

  /** Zeros `n` bytes from `pa`, page span by page span, giving no frame storage. */
  private zeroFrom(pa: number, n: number): void {
    let done = 0;
    while (done < n) {
      const a = pa + done;
      const off = pageOffset(a);
      const k = Math.min(PAGE_SIZE - off, n - done);
      done += k;
      if (a < 0 || a + k > this.bytes) {
        this.badAccesses++;
        continue;
      }
      const p = this.stored(Math.floor(a / PAGE_SIZE));
      if (p === null) continue;
      if (((off | k) & 3) === 0) p.fill(0, off >>> 2, (off + k) >>> 2);
      else new Uint8Array(p.buffer, off, k).fill(0);
    }
  }

  /** Counts an out-of-range access; null (it reads as zeros). */
  private bad(): null {
    this.badAccesses++;
    return null;
  }
}
