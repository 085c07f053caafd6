/**
 * The kernel's event queue: pending events in (time, scheduling sequence) order, times in
 * integer nanoseconds.
 *
 * It is a hierarchical timing wheel (the shape of Linux's timer wheel, made exact), because a
 * binary heap pays about 2 log2(n) comparisons and data moves per event, and this orders events
 * without comparing them at all:
 *
 * - Times are read as base-256 digits. The *cursor* is the time of the last event taken.
 *   Level k holds the events whose time agrees with the cursor in every digit above k and
 *   differs in digit k; its slot j holds those whose digit k is j. So a level-0 slot is one
 *   nanosecond, and every event of level k comes before every event of level k + 1.
 * - Each slot is a FIFO list. An event enters a list when scheduled (so it has the highest
 *   sequence number yet) or when the slot above it is spread out (cascaded) to the levels
 *   below, which happens only when all of those are empty. So every list stays in sequence
 *   order, and the head of the first occupied level-0 slot is the (time, sequence)-least event.
 * - Taking: the first set bit of level 0's occupancy bitmap at or after the cursor. When level
 *   0 is empty, the first occupied slot of the lowest occupied level is cascaded: the cursor
 *   moves to the slot's start and its events fall to lower levels. An event moves down at most
 *   six times, each in O(1), whatever the number of pending events.
 *
 * Seven levels of eight bits cover every safe integer time (< 2^53 ns, 104 days). Invariant:
 * cursor <= the kernel's clock <= every pending time. The clock never runs behind the cursor:
 * the cursor moves only to a time the clock then reaches (the event taken, or the bound of a
 * `runUntil`), or past the last entry, and an empty wheel is re-based at the clock when the next
 * event comes.
 *
 * Entries live in recycled slots of parallel typed arrays (no allocation per event once the
 * arrays have grown). Cancelling is lazy: the entry's sink is cleared and the entry is dropped
 * when the wheel reaches it. An id carries the slot's generation, so a stale id never cancels
 * the event that reuses its slot.
 * @module
 */

import type { EventSink } from "./sim.ts";

/** Base-256 digits: slots per level. */
const WIDTH = 256;
/** Levels: 7 x 8 bits cover every safe integer. */
const LEVELS = 7;
/** 32-bit occupancy words per level. */
const WORDS = WIDTH / 32;
/** Nanoseconds per slot at each level (256^k). */
const UNIT = Float64Array.from({ length: LEVELS }, (_, k) => WIDTH ** k);
/** 1 / UNIT (exact: powers of two). */
const PER_UNIT = UNIT.map((u) => 1 / u);
/** Nanoseconds per level block (256^(k+1)): the times one level can hold. */
const SPAN = Float64Array.from({ length: LEVELS }, (_, k) => WIDTH ** (k + 1));
/** Ids are generation * SLOT_LIMIT + slot. */
const SLOT_LIMIT = 2 ** 22;

/** The latest time an event may have (ns). */
export const MAX_TIME: number = Number.MAX_SAFE_INTEGER;

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** One pending event as a debugger or digest sees it. */
export interface QueuedEvent {
  /** When it fires (ns). */
  t: number;
  /** Scheduling sequence (orders events at equal times). */
  seq: number;
  /** The kind passed to `schedule`. */
  kind: number;
  /** The argument passed to `schedule`. */
  arg: number;
  /** Who receives it. */
  sink: EventSink;
}

/** Pending events of one simulation, in (time, sequence) order. */
export class EventQueue {
  /** Entries in the wheel, cancelled ones included until the wheel reaches them. */
  size = 0;
  /** Entries added so far (the next one's sequence number). */
  seq = 0;

  // Per-slot entry data. `sinks[slot] === null` marks a free or cancelled slot.
  /** @internal */
  times: Float64Array = new Float64Array(1024);
  /** @internal */
  kinds: Int32Array = new Int32Array(1024);
  /** @internal */
  args: Float64Array = new Float64Array(1024);
  /** @internal */
  sinks: (EventSink | null)[] = new Array(1024).fill(null);
  private seqs = new Float64Array(1024);
  // float64, so the id's multiply never overflows an int32 (that would deoptimise `add`)
  private gens = new Float64Array(1024);
  private next = new Int32Array(1024);
  private free = new Int32Array(1024);
  private freeTop = 0;
  private used = 0;

  // The wheel.
  /** The cursor's digit 0: the cursor is start[0] + cursor0. */
  private cursor0 = 0;
  /** Start of the cursor's block at each level (a multiple of SPAN[k]). */
  private start = new Float64Array(LEVELS);
  /** End of the cursor's block at each level: times from here belong to a higher level. */
  private end = SPAN.slice();
  private head = new Int32Array(LEVELS * WIDTH).fill(-1);
  private tail = new Int32Array(LEVELS * WIDTH);
  /** Occupancy: bit j of level k is set while slot j of level k has a list. */
  private bits = new Int32Array(LEVELS * WORDS);

  /**
   * Adds an event at integer time `t` >= `now`, the kernel's clock (which is >= every time taken
   * so far); returns its id.
   */
  add(now: number, t: number, sink: EventSink, kind: number, arg: number): number {
    if (!(t <= MAX_TIME)) throw new RangeError(`event time ${t} ns is out of range`);
    let slot: number;
    if (this.freeTop > 0) slot = this.free[--this.freeTop];
    else {
      if (this.used === this.times.length) this.grow();
      slot = this.used++;
    }
    this.times[slot] = t;
    this.seqs[slot] = this.seq++;
    this.kinds[slot] = kind;
    this.args[slot] = arg;
    this.sinks[slot] = sink;
    if (this.size++ === 0) this.rebase(now);
    this.link(slot, t);
    return this.gens[slot] * SLOT_LIMIT + slot;
  }

  /** Cancels a pending event. False if it already ran or was cancelled. */
  cancel(id: number): boolean {
    const slot = id % SLOT_LIMIT;
    if (slot >= this.used || this.gens[slot] !== Math.floor(id / SLOT_LIMIT)) return false;
    if (this.sinks[slot] === null) return false;
    this.sinks[slot] = null; // dropped when the wheel reaches it
    return true;
  }

  /**
   * Removes the earliest live event if its time is <= `limit` and returns its slot (read its
   * data, then {@link release} it), else -1. May move the cursor up to `limit`.
   */
  take(limit: number): number {
    const head = this.head, bits = this.bits;
    for (;;) {
      // first occupied level-0 slot at or after the cursor's
      const p = this.cursor0;
      let w = p >> 5, x = bits[w] & (-1 << (p & 31));
      while (x === 0 && ++w < WORDS) x = bits[w];
      if (x === 0) {
        if (this.cascade(limit)) continue;
        return -1;
      }
      const bit = x & -x, i = (w << 5) | lowestBit(x);
      const t = this.start[0] + i;
      if (t > limit) return -1;
      const slot = head[i], n = this.next[slot];
      head[i] = n;
      if (n < 0) bits[w] ^= bit;
      this.cursor0 = i;
      this.size--;
      if (this.sinks[slot] !== null) return slot;
      this.release(slot);
    }
  }

  /** Returns a taken slot to the free list; its generation changes so stale ids miss. */
  release(slot: number): void {
    this.sinks[slot] = null;
    this.gens[slot] = (this.gens[slot] + 1) & 0x7fffff;
    this.free[this.freeTop++] = slot;
  }

  /** Time of the earliest live event, or Infinity. Drops cancelled entries it meets first. */
  peekTime(): number {
    const head = this.head, bits = this.bits;
    for (;;) {
      const p = this.cursor0;
      let w = p >> 5, x = bits[w] & (-1 << (p & 31));
      while (x === 0 && ++w < WORDS) x = bits[w];
      if (x !== 0) {
        const i = (w << 5) | lowestBit(x), slot = head[i];
        if (this.sinks[slot] !== null) return this.start[0] + i;
        head[i] = this.next[slot];
        if (head[i] < 0) bits[w] ^= x & -x;
        this.size--;
        this.release(slot);
        continue;
      }
      // level 0 is empty: the earliest is in the first occupied slot of the lowest level,
      // whose list is in sequence order, not time order (the cursor must not move here:
      // the clock may not reach that slot before something is scheduled earlier)
      const i = this.firstAbove();
      if (i < 0) return Infinity;
      let min = Infinity;
      for (let s = head[i]; s >= 0; s = this.next[s]) {
        if (this.sinks[s] !== null && this.times[s] < min) min = this.times[s];
      }
      if (min < Infinity) return min;
      this.dropList(i); // all cancelled
    }
  }

  /** The live events, in firing order (for debuggers and the state digest; allocates). */
  entries(): QueuedEvent[] {
    const out: QueuedEvent[] = [];
    for (let i = 0; i < LEVELS * WIDTH; i++) {
      for (let s = this.head[i]; s >= 0; s = this.next[s]) {
        const sink = this.sinks[s];
        if (sink === null) continue;
        const e = { t: this.times[s], seq: this.seqs[s], kind: this.kinds[s], arg: this.args[s] };
        out.push({ ...e, sink });
      }
    }
    return out.sort((a, b) => a.t - b.t || a.seq - b.seq);
  }

  /** Appends a slot to the list its time belongs to. */
  private link(slot: number, t: number): void {
    const end = this.end;
    let k = 0;
    while (t >= end[k]) k++;
    // the digit (< 256, so `|` truncates it to an int32 index: floor for non-negatives)
    const i = (k << 8) | ((t - this.start[k]) * PER_UNIT[k]);
    this.next[slot] = -1;
    if (this.head[i] < 0) {
      this.head[i] = slot;
      this.bits[i >> 5] |= 1 << (i & 31);
    } else this.next[this.tail[i]] = slot;
    this.tail[i] = slot;
  }

  /** Index of the first occupied slot above level 0 (levels in order), or -1. */
  private firstAbove(): number {
    for (let w = WORDS; w < LEVELS * WORDS; w++) {
      const x = this.bits[w];
      if (x !== 0) return (w << 5) | lowestBit(x);
    }
    return -1;
  }

  /**
   * Level 0 is empty: spreads the first occupied slot of the lowest occupied level over the
   * levels below, moving the cursor to the slot's start. False if there is none, or it starts
   * after `limit` (then nothing changes).
   */
  private cascade(limit: number): boolean {
    const i = this.firstAbove();
    if (i < 0) return false;
    const k = i >> 8, from = this.start[k] + (i & (WIDTH - 1)) * UNIT[k];
    if (from > limit) return false;
    let s = this.head[i];
    this.head[i] = -1;
    this.bits[i >> 5] &= ~(1 << (i & 31));
    this.cursor0 = 0;
    for (let m = 0; m < k; m++) {
      this.start[m] = from;
      this.end[m] = from + SPAN[m];
    }
    while (s >= 0) {
      const n = this.next[s];
      if (this.sinks[s] === null) {
        this.size--;
        this.release(s);
      } else this.link(s, this.times[s]);
      s = n;
    }
    return true;
  }

  /** Frees a list of cancelled entries. */
  private dropList(i: number): void {
    let s = this.head[i];
    this.head[i] = -1;
    this.bits[i >> 5] &= ~(1 << (i & 31));
    while (s >= 0) {
      const n = this.next[s];
      this.size--;
      this.release(s);
      s = n;
    }
  }

  /** Puts the cursor of an empty wheel at `t`. */
  private rebase(t: number): void {
    for (let k = 0; k < LEVELS; k++) {
      this.start[k] = Math.floor(t / SPAN[k]) * SPAN[k];
      this.end[k] = this.start[k] + SPAN[k];
    }
    this.cursor0 = t - this.start[0];
  }

  /** Doubles the per-slot arrays. */
  private grow(): void {
    const cap = this.times.length * 2;
    if (cap > SLOT_LIMIT) throw new RangeError(`event queue over ${SLOT_LIMIT} pending events`);
    const g = <T extends Float64Array | Int32Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a);
      return b;
    };
    this.times = g(this.times, Float64Array);
    this.seqs = g(this.seqs, Float64Array);
    this.kinds = g(this.kinds, Int32Array);
    this.args = g(this.args, Float64Array);
    this.gens = g(this.gens, Float64Array);
    this.next = g(this.next, Int32Array);
    this.free = g(this.free, Int32Array);
    // pushed, not `length = cap`, which would make the array holey (a hole check per read)
    for (let i = this.sinks.length; i < cap; i++) this.sinks.push(null);
  }
}
