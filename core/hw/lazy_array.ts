/**
 * An Int32 array of any length whose storage is allocated in chunks on first write of a value
 * other than its fill: a terabyte of guest RAM has hundreds of millions of frames, of which a
 * run touches a few thousand. Reads of untouched chunks give the fill value.
 */

/** log2 of the entries in one chunk. */
const SHIFT = 12;
/** Entries in one chunk (16 KiB of storage). */
export const LAZY_CHUNK: number = 1 << SHIFT;
const MASK = LAZY_CHUNK - 1;

/** A lazily allocated Int32 array (indices 0 .. length-1; out-of-range reads give the fill). */
export class LazyInt32Array {
  /** Chunks; null means every entry holds {@link fill}. */
  private readonly chunks: (Int32Array | null)[];

  /**
   * Creates it.
   * @param length number of entries
   * @param fill the value of every entry never written
   */
  constructor(readonly length: number, readonly fill: number) {
    this.chunks = new Array(Math.ceil(length / LAZY_CHUNK)).fill(null);
  }

  /** The entry at `i`. */
  get(i: number): number {
    const c = this.chunks[i >>> SHIFT];
    return c === null || c === undefined ? this.fill : c[i & MASK];
  }

  /** Sets the entry at `i` (0 <= i < length). */
  set(i: number, v: number): void {
    let c = this.chunks[i >>> SHIFT];
    if (c === null) {
      if (v === this.fill) return;
      c = new Int32Array(LAZY_CHUNK).fill(this.fill);
      this.chunks[i >>> SHIFT] = c;
    }
    c[i & MASK] = v;
  }

  /** Sets every entry back to the fill value (drops all storage). */
  clear(): void {
    this.chunks.fill(null);
  }

  /** The first index >= `from` whose entry is `v`, or -1. */
  indexOf(v: number, from = 0): number {
    for (let k = Math.max(0, from) >>> SHIFT; k < this.chunks.length; k++) {
      const c = this.chunks[k], base = k * LAZY_CHUNK;
      const end = Math.min(LAZY_CHUNK, this.length - base);
      const j = Math.max(0, from - base);
      if (c === null) {
        if (v === this.fill && j < end) return base + j;
        continue;
      }
      const at = j < end ? c.indexOf(v, j) : -1; // native: cheap even before the JIT warms up
      if (at >= 0 && at < end) return base + at;
    }
    return -1;
  }

  /** Calls `f(i, v)` for every entry that is not the fill value, in index order. */
  forEachSet(f: (i: number, v: number) => void): void {
    for (let k = 0; k < this.chunks.length; k++) {
      const c = this.chunks[k];
      if (c === null) continue;
      const base = k * LAZY_CHUNK;
      for (let j = 0; j < c.length && base + j < this.length; j++) {
        if (c[j] !== this.fill) f(base + j, c[j]);
      }
    }
  }

  /** Calls `f(chunkIndex, chunk)` for every allocated chunk (for digests). */
  forEachChunk(f: (k: number, chunk: Int32Array) => void): void {
    for (let k = 0; k < this.chunks.length; k++) {
      const c = this.chunks[k];
      if (c !== null) f(k, c);
    }
  }
}
