/**
 * Pieces most hypervisor backends need, written once: the cost-parameter rule, "is this gfn
 * RAM", the BAR0 range `setTrapArea` claims, guest-memory copies charged per KiB, a guest's
 * plain store, and a DMA address that is the host physical address of a 4 KiB or 2 MiB page.
 * The built-in backends in plugins/ and the template use them; a backend whose hypervisor
 * does a thing differently writes its own (one that pins every page of a mapping before it
 * checks alignment, for instance).
 * @module
 */

import type { BackendContext, CostModel, GuestMemoryView } from "./types.ts";
import { MPT_EFAULT, MPT_EINVAL, MPT_OK, PAGE_SIZE } from "./types.ts";
import { packNumbers, positions, unpackNumbers } from "./saved_state.ts";

/**
 * A cost (ns): the scenario parameter of the same name when it is a finite number >= 0,
 * otherwise `fallback`.
 */
export function costParam(
  params: BackendContext["params"],
  name: string,
  fallback: number,
): number {
  const v = params[name];
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : fallback;
}

/**
 * Declares every cost of `defaults` that `costs` does not set yet (each overridable by a
 * parameter of its name, {@link costParam}), so the core lists them all; returns `costs`.
 */
export function declareDefaultCosts(
  costs: CostModel,
  defaults: Readonly<Record<string, number>>,
  params: BackendContext["params"],
): CostModel {
  for (const k of Object.keys(defaults)) {
    if (!Object.hasOwn(costs, k)) costs[k] = costParam(params, k, defaults[k]);
  }
  return costs;
}

/** True if guest frame `gfn` is RAM: a whole frame number inside memory, backed by a host frame. */
export function gfnBacked(mem: GuestMemoryView, gfn: number): boolean {
  return mem.isBacked !== undefined
    ? mem.isBacked(gfn)
    : Number.isInteger(gfn) && gfn >= 0 && gfn < mem.frames && mem.mfnOf(gfn) >= 0;
}

/**
 * `readGpa` / `writeGpa` over a mapping of guest RAM: charges `nsPerKib` per KiB copied, then
 * copies; MPT_OK, or MPT_EFAULT if any byte is not guest RAM.
 */
export function copyGpa(
  ctx: Pick<BackendContext, "charge">,
  mem: GuestMemoryView,
  gpa: number,
  buf: Uint8Array,
  write: boolean,
  nsPerKib: number,
): number {
  ctx.charge(nsPerKib * (buf.length / 1024));
  return (write ? mem.write(gpa, buf) : mem.read(gpa, buf)) ? MPT_OK : MPT_EFAULT;
}

/**
 * A guest's plain store of a value to RAM (an untracked `guestMemWrite`): the value's bytes,
 * little-endian, written through one scratch word with a view per length (no allocation).
 */
export class GuestStore {
  /** `views[n]`: the first n bytes of the scratch word (n = 0..8). */
  readonly views: readonly Uint8Array[];

  constructor() {
    const word = new Uint8Array(8);
    this.views = Array.from({ length: 9 }, (_, n) => word.subarray(0, n));
  }

  /** Writes the low `n` bytes (0..8) of `value` at `gpa`; false if they are not all RAM. */
  write(mem: GuestMemoryView, gpa: number, n: number, value: number): boolean {
    const b = this.views[n];
    let x = value;
    for (let i = 0; i < n; i++) {
      b[i] = x % 256;
      x = Math.floor(x / 256);
    }
    return mem.write(gpa, b);
  }
}

/**
 * The BAR0 range a backend traps, as `setTrapArea` claims and releases it: a claim is cut to
 * `limit` bytes; a release names the start of the claim.
 */
export class TrapArea {
  /** Claimed range [start, end); empty (0, 0) until claimed. */
  start = 0;
  /** End of the claimed range (exclusive). */
  end = 0;

  /** An area whose claims are cut to `limit` bytes (BAR0's size). */
  constructor(readonly limit: number) {}

  /** `setTrapArea(start, end, map)`: MPT_OK, or MPT_EINVAL for an empty range. */
  set(start: number, end: number, map: boolean): number {
    if (!(end > start)) return MPT_EINVAL;
    if (map) {
      this.start = start;
      this.end = Math.min(end, start + this.limit);
    } else if (this.start === start) this.clear();
    return MPT_OK;
  }

  /** Forgets the claim. */
  clear(): void {
    this.start = this.end = 0;
  }

  /** True if address `gpa` is in the claimed range. */
  holds(gpa: number): boolean {
    return this.end > this.start && gpa >= this.start && gpa < this.end;
  }

  /** True if all `size` bytes at `gpa` are in the claimed range. */
  covers(gpa: number, size: number): boolean {
    return this.end > this.start && gpa >= this.start && gpa + size <= this.end;
  }
}

/**
 * The device address of the 4 KiB or 2 MiB guest page at `gfn` when the device sees host
 * physical addresses (an identity or pass-through IOMMU): the address of its first host
 * frame. MPT_EFAULT if a frame is not RAM; MPT_EINVAL if the host frames are not contiguous
 * or a 2 MiB page's are not 2 MiB aligned (a GPU page entry addresses one aligned range).
 * `perPage` runs for each frame before it is looked up (a backend charging a translation).
 */
export function hostDmaAddress(
  mem: GuestMemoryView,
  gfn: number,
  size: number,
  perPage?: () => void,
): number {
  const pages = size / PAGE_SIZE;
  let base = -1;
  for (let i = 0; i < pages; i++) {
    if (!gfnBacked(mem, gfn + i)) return MPT_EFAULT;
    perPage?.();
    const m = mem.mfnOf(gfn + i);
    if (m < 0) return MPT_EFAULT;
    if (i === 0) base = m;
    else if (m !== base + i) return MPT_EINVAL;
    if (i === 0 && pages > 1 && base % pages !== 0) return MPT_EINVAL;
  }
  return base * PAGE_SIZE;
}

/** One DMA mapping a backend caches: its gfn, its device address, its references. */
export interface DmaMapping {
  /** First guest frame mapped. */
  readonly gfn: number;
  /** Device address handed out. */
  readonly dma: number;
  /** References (maps and pins not yet unmapped). */
  ref: number;
}

/**
 * A backend's DMA mappings found both by gfn (to reuse a mapping) and by device address (to
 * unmap or pin it), as a mediated-device driver keeps them in two trees. Saved compactly (a
 * restore reads thousands of mappings per vGPU) with `packNumbers`: `byGfn` holds each
 * mapping's numbers (what `fields` gives) in the by-gfn order, `byDma` the by-address order
 * as indices into those mappings. The keys are the mappings' own `gfn` and `dma`, and a
 * mapping shared by both is restored once.
 */
export class DmaCache<M extends DmaMapping> {
  /** Mappings by first gfn. */
  readonly byGfn: Map<number, M> = new Map();
  /** Mappings by device address. */
  readonly byDma: Map<number, M> = new Map();

  /** Adds a mapping under its gfn and its device address. */
  add(m: M): void {
    this.byGfn.set(m.gfn, m);
    this.byDma.set(m.dma, m);
  }

  /** Drops a mapping from both. */
  remove(m: M): void {
    this.byGfn.delete(m.gfn);
    this.byDma.delete(m.dma);
  }

  /** Drops every mapping. */
  clear(): void {
    this.byGfn.clear();
    this.byDma.clear();
  }

  /**
   * The saved form (see the class); `fields` gives a mapping's numbers (what `load`'s `make`
   * takes back), the same count for every mapping.
   */
  save(fields: (m: M) => number[]): { byGfn: string; byDma: string } {
    const all: M[] = new Array(this.byGfn.size);
    let rows = new Float64Array(0), width = 0, i = 0;
    for (const m of this.byGfn.values()) {
      const f = fields(m);
      if (i === 0) {
        width = f.length;
        rows = new Float64Array(width * all.length);
      } else if (f.length !== width) throw new Error("DMA mappings save unequal field counts");
      for (let k = 0; k < width; k++) rows[i * width + k] = f[k];
      all[i++] = m;
    }
    // the by-address order is almost always the by-gfn one (both are added and removed
    // together): positions are looked up only from the first mapping where they differ
    const order = new Float64Array(this.byDma.size);
    let index: Map<M, number> | undefined, j = 0;
    for (const m of this.byDma.values()) {
      if (index === undefined && all[j] === m) {
        order[j] = j;
        j++;
        continue;
      }
      index ??= positions(all);
      const at = index.get(m);
      if (at === undefined) throw new Error("a DMA mapping by address is not mapped by gfn");
      order[j++] = at;
    }
    return { byGfn: packNumbers(rows), byDma: packNumbers(order) };
  }

  /**
   * Replaces the mappings with the saved ones in `s`, `width - 1` numbers a mapping (`width`
   * counts a key, as the former row form did, so callers keep their width); `make` builds a
   * mapping from its numbers. Throws on a malformed form, before anything changes.
   */
  load(s: Record<string, unknown>, width: number, make: (fields: number[]) => M): void {
    const n = width - 1;
    const rows = unpackNumbers(s, "byGfn", n), count = rows.length / n;
    const order = unpackNumbers(s, "byDma", 1);
    // plain loops: a restore loads thousands of mappings once, before the JIT has warmed up
    for (let j = 0; j < order.length; j++) {
      const i = order[j];
      if (!Number.isInteger(i) || i < 0 || i >= count) {
        throw new Error("saved byDma refers to no mapping");
      }
    }
    const entries: M[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const f: number[] = new Array(n);
      for (let k = 0; k < n; k++) f[k] = rows[i * n + k];
      entries[i] = make(f);
    }
    this.byGfn.clear();
    for (let i = 0; i < count; i++) this.byGfn.set(entries[i].gfn, entries[i]);
    this.byDma.clear();
    for (let j = 0; j < order.length; j++) {
      const m = entries[order[j]];
      this.byDma.set(m.dma, m);
    }
  }
}
