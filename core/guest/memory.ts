/**
 * A VM's RAM: guest frames (gfn) backed by host frames (mfn) of {@link HostMemory}, allocated
 * lazily on first touch and tagged with the VM's owner id (so the isolation checker can tell
 * whose page a GTT entry points at). Ranges can be declared as holes (not backed, e.g. an
 * MMIO hole): a backend's `isValidGfn` says false for them and accesses there fail.
 *
 * Also a simple page allocator for the guest kernel model (`allocPage`/`freePage`): page
 * tables, rings, contexts and buffers are guest pages it hands out.
 */

import { hi32, join64, lo32, withByte } from "../hw/bits.ts";
import {
  bytesToPageEnd,
  type HostMemory,
  PAGE_SHIFT,
  PAGE_SIZE,
  pageOffset,
} from "../hw/memory.ts";
import { LazyInt32Array } from "../hw/lazy_array.ts";
import type { GuestMemoryView } from "../mpt/types.ts";

const UNBACKED = -1;
const HOLE = -2;
/** Frames in a 2 MiB page. */
const HUGE_FRAMES = 512;

/** Options of a guest memory. */
export interface GuestMemoryOptions {
  /** Unbacked gfn ranges `[firstGfn, endGfn)`. */
  holes?: readonly (readonly [number, number])[];
  /** Low frames the page allocator never hands out (firmware area); default 256 (1 MiB). */
  reservedLow?: number;
}

/** One VM's guest-physical RAM. */
export class GuestMemory implements GuestMemoryView {
  /** Number of 4 KiB guest frames (including holes). */
  readonly frames: number;
  /** Host frames allocated so far (resident pages). */
  resident = 0;
  /** Guest pages handed out by {@link allocPage} and not freed. */
  pagesInUse = 0;
  /** Guest accesses that hit a hole, an out-of-range frame, or failed to allocate. */
  faults = 0;

  /** gfn -> mfn, {@link UNBACKED} or {@link HOLE}; chunks allocated as frames are touched. */
  private readonly map: LazyInt32Array;
  private readonly freeList: number[] = [];
  private next: number;
  /** 2 MiB pages come from the top of RAM down to here; 4 KiB pages stay below it. */
  private hugeFloor: number;
  private readonly freeHuge: number[] = [];
  private released = false;
  /**
   * The dirty log (one byte per frame) while logging is on, else null: what the MMU's dirty
   * tracking (dirty bits or write protection of all RAM) records of the guest's CPU writes. GPU writes never reach it (they go to host frames directly).
   */
  private dirty: Uint8Array | null = null;

  /**
   * Creates it.
   * @param host host memory the frames come from
   * @param owner owner tag of this VM's frames (>= 1)
   * @param bytes RAM size (rounded down to whole frames)
   * @param options holes and reserved low frames
   */
  constructor(
    readonly host: HostMemory,
    readonly owner: number,
    bytes: number,
    options: GuestMemoryOptions = {},
  ) {
    this.frames = Math.max(0, Math.floor(bytes / PAGE_SIZE));
    this.map = new LazyInt32Array(this.frames, UNBACKED);
    for (const [a, b] of options.holes ?? []) {
      for (let g = Math.max(0, a); g < Math.min(b, this.frames); g++) this.map.set(g, HOLE);
    }
    this.next = Math.min(options.reservedLow ?? 256, this.frames);
    this.hugeFloor = this.frames - (this.frames % HUGE_FRAMES);
  }

  /** Total guest frames (same as {@link frames}). */
  get totalFrames(): number {
    return this.frames;
  }

  /** True if `gfn` is RAM of this VM (in range and not in a hole). Allocates nothing. */
  isBacked(gfn: number): boolean {
    return Number.isInteger(gfn) && gfn >= 0 && gfn < this.frames && this.map.get(gfn) !== HOLE;
  }

  /** The host frame backing `gfn` (allocated on first use), or -1 if not RAM / out of memory. */
  mfnOf(gfn: number): number {
    if (!this.isBacked(gfn) || this.released) return -1;
    let m = this.map.get(gfn);
    if (m < 0) {
      m = this.host.allocFrame(this.owner);
      if (m < 0) return -1;
      this.map.set(gfn, m);
      this.resident++;
    }
    return m;
  }

  /** {@link mfnOf} for a CPU write: the frame is recorded in the dirty log while it is on. */
  writableMfn(gfn: number): number {
    const m = this.mfnOf(gfn);
    if (m >= 0 && this.dirty !== null) this.dirty[gfn] = 1;
    return m;
  }

  /** Starts (a fresh, empty log) or stops the dirty log of CPU writes. */
  logDirty(on: boolean): void {
    this.dirty = on ? new Uint8Array(this.frames) : null;
  }

  /**
   * Moves the frames written since the last call into `into` (`into[gfn] = 1`) and clears
   * the log (get-and-clear, as KVM_GET_DIRTY_LOG); returns how many, or -1 if logging is off.
   */
  takeDirty(into: Uint8Array): number {
    const d = this.dirty;
    if (d === null) return -1;
    let n = 0;
    for (let g = 0; g < d.length; g++) {
      if (d[g] !== 0) {
        into[g] = 1;
        d[g] = 0;
        n++;
      }
    }
    return n;
  }

  /** Every guest frame backed by a host frame now (allocated), ascending. */
  residentFrames(): number[] {
    const out: number[] = [];
    this.map.forEachSet((g, m) => {
      if (m >= 0) out.push(g);
    });
    return out.sort((a, b) => a - b);
  }

  /**
   * Takes over the page allocator of `from` (the same VM's RAM on another host after a
   * migration): which pages the guest kernel handed out and which are free.
   */
  adoptAllocator(from: GuestMemory): void {
    this.freeList.length = 0;
    this.freeList.push(...from.freeList);
    this.next = from.next;
    this.pagesInUse = from.pagesInUse;
  }

  /** The host frame of `gfn` if already allocated, else -1 (no allocation). */
  residentMfn(gfn: number): number {
    return this.isBacked(gfn) ? Math.max(-1, this.map.get(gfn)) : -1;
  }

  /** True if every frame of `[gpa, gpa + len)` is RAM. */
  rangeBacked(gpa: number, len: number): boolean {
    if (this.released || gpa < 0 || len < 0 || !Number.isFinite(gpa)) return false;
    if (len === 0) return true;
    const last = Math.floor((gpa + len - 1) / PAGE_SIZE);
    for (let g = Math.floor(gpa / PAGE_SIZE); g <= last; g++) if (!this.isBacked(g)) return false;
    return true;
  }

  /** Copies guest-physical bytes into `buf`; false (nothing copied) if any frame is not RAM. */
  read(gpa: number, buf: Uint8Array): boolean {
    if (!this.rangeBacked(gpa, buf.length)) {
      this.faults++;
      return false;
    }
    let done = 0;
    while (done < buf.length) {
      const a = gpa + done;
      const off = pageOffset(a);
      const n = Math.min(bytesToPageEnd(a), buf.length - done);
      const m = this.map.get(Math.floor(a / PAGE_SIZE)); // RAM (checked above): an mfn or unbacked
      if (m < 0) buf.fill(0, done, done + n);
      else this.host.readInto(m * PAGE_SIZE + off, buf, done, n);
      done += n;
    }
    return true;
  }

  /** Copies `buf` into guest-physical memory; false (nothing written) if any frame is not RAM. */
  write(gpa: number, buf: Uint8Array): boolean {
    if (!this.rangeBacked(gpa, buf.length)) {
      this.faults++;
      return false;
    }
    let done = 0;
    while (done < buf.length) {
      const a = gpa + done;
      const off = pageOffset(a);
      const n = Math.min(bytesToPageEnd(a), buf.length - done);
      const m = this.writableMfn(Math.floor(a / PAGE_SIZE));
      if (m < 0) {
        this.faults++;
        return false;
      }
      this.host.writeFrom(m * PAGE_SIZE + off, buf, done, n);
      done += n;
    }
    return true;
  }

  /** Reads the 32-bit value at `gpa` (4-byte aligned); 0 if not RAM. */
  read32(gpa: number): number {
    const g = Math.floor(gpa / PAGE_SIZE);
    const m = g >= 0 && g < this.frames ? this.map.get(g) : HOLE; // (NaN fails the test too)
    if (m === HOLE) {
      this.faults++;
      return 0;
    }
    return m < 0 ? 0 : this.host.read32(m * PAGE_SIZE + (gpa & 0xffc));
  }

  /** Writes a 32-bit value at `gpa` (4-byte aligned); false if not RAM. */
  write32(gpa: number, v: number): boolean {
    const m = this.writableMfn(Math.floor(gpa / PAGE_SIZE));
    if (m < 0) {
      this.faults++;
      return false;
    }
    this.host.write32(m * PAGE_SIZE + (gpa & 0xffc), v >>> 0);
    return true;
  }

  /** Reads a 64-bit value at `gpa` (8-byte aligned) as a number. */
  read64(gpa: number): number {
    return join64(this.read32(gpa), this.read32(gpa + 4));
  }

  /** Writes a 64-bit value (non-negative, up to 2^53) at `gpa`; false if not RAM. */
  write64(gpa: number, v: number): boolean {
    return this.write32(gpa, lo32(v)) && this.write32(gpa + 4, hi32(v));
  }

  /** Writes `size` (1, 2, 4 or 8) bytes of `value` little endian at `gpa`; false if not RAM. */
  writeSized(gpa: number, size: number, value: number): boolean {
    if (size === 8 && (gpa & 7) === 0) return this.write64(gpa, value);
    if (size === 4 && (gpa & 3) === 0) return this.write32(gpa, value);
    const g = Math.floor(gpa / PAGE_SIZE);
    const gEnd = Math.floor((gpa + size - 1) / PAGE_SIZE);
    if (!this.isBacked(g) || !this.isBacked(gEnd)) {
      this.faults++;
      return false;
    }
    let v = value;
    for (let i = 0; i < size; i++) {
      const a = gpa + i;
      const m = this.writableMfn(Math.floor(a / PAGE_SIZE));
      if (m < 0) return false;
      const pa = m * PAGE_SIZE + pageOffset(a);
      const word = this.host.read32(pa - (pa & 3));
      this.host.write32(pa - (pa & 3), withByte(word, pa & 3, v));
      v = Math.floor(v / 256);
    }
    return true;
  }

  /** Reads `size` (1, 2, 4 or 8) bytes little endian at `gpa`; 0 if not RAM. */
  readSized(gpa: number, size: number): number {
    if (size === 8 && (gpa & 7) === 0) return this.read64(gpa);
    if (size === 4 && (gpa & 3) === 0) return this.read32(gpa);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const a = gpa + i;
      const w = this.read32(a - (a & 3));
      v = v * 256 + ((w >>> ((a & 3) * 8)) & 0xff);
    }
    return v;
  }

  /**
   * Allocates one zeroed guest page for the guest kernel (page tables, rings, buffers);
   * returns its gfn, or -1 when the VM's RAM is exhausted.
   */
  allocPage(): number {
    let g = -1;
    if (this.freeList.length > 0) g = this.freeList.pop()!;
    else {
      while (this.next < this.hugeFloor && this.map.get(this.next) === HOLE) this.next++;
      if (this.next < this.hugeFloor) g = this.next++;
    }
    if (g < 0) return -1;
    const m = this.map.get(g);
    if (m >= 0) {
      this.host.page(m).fill(0);
      if (this.dirty !== null) this.dirty[g] = 1;
    }
    this.pagesInUse++;
    return g;
  }

  /** Returns a page from {@link allocPage} to the allocator. */
  freePage(gfn: number): void {
    if (!this.isBacked(gfn)) return;
    this.freeList.push(gfn);
    this.pagesInUse--;
  }

  /**
   * Allocates one zeroed 2 MiB guest page (512 frames, the first 512-aligned) for a huge
   * PPGTT mapping, from the top of RAM down; returns its first gfn, or -1.
   */
  allocHuge(): number {
    let g = this.freeHuge.length > 0 ? this.freeHuge.pop()! : -1;
    while (g < 0 && this.hugeFloor - HUGE_FRAMES >= this.next) {
      const c = this.hugeFloor - HUGE_FRAMES;
      this.hugeFloor = c;
      let holes = false;
      for (let k = 0; k < HUGE_FRAMES && !holes; k++) holes = this.map.get(c + k) === HOLE;
      if (!holes) g = c;
    }
    if (g < 0) return -1;
    for (let k = 0; k < HUGE_FRAMES; k++) {
      const m = this.map.get(g + k);
      if (m >= 0) this.host.page(m).fill(0);
    }
    this.pagesInUse += HUGE_FRAMES;
    return g;
  }

  /** Returns a 2 MiB page from {@link allocHuge}. */
  freeHugePage(gfn: number): void {
    if (!this.isBacked(gfn) || gfn % HUGE_FRAMES !== 0) return;
    this.freeHuge.push(gfn);
    this.pagesInUse -= HUGE_FRAMES;
  }

  /** Guest-physical address of a gfn. */
  static gpaOf(gfn: number): number {
    return gfn * PAGE_SIZE;
  }

  /** Frees every host frame (the VM is destroyed); all later accesses fail. */
  release(): void {
    this.map.forEachSet((g, m) => {
      if (m >= 0) {
        this.host.freeFrame(m);
        this.map.set(g, UNBACKED);
      }
    });
    this.resident = 0;
    this.released = true;
  }
}

/** Bits of a page offset (re-exported for guest code). */
export const GUEST_PAGE_SHIFT: number = PAGE_SHIFT;
