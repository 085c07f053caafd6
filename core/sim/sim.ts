/**
 * The discrete-event kernel: one virtual clock in integer nanoseconds and an event queue
 * ordered by (time, insertion sequence), so events at equal times run in the order they
 * were scheduled and every run is deterministic.
 *
 * Hot path: an event is (sink, kind, arg) stored in parallel typed arrays indexed by a
 * recycled slot; the heap holds slot numbers. Scheduling allocates nothing once the arrays
 * have grown to the working size. Sequential logic is written either as an {@link EventSink}
 * state machine (`onEvent(kind, arg)`) or as a generator process ({@link Sim.spawn}) that
 * yields delays in nanoseconds. The world uses state machines only: their state is plain data,
 * which a heap snapshot can capture; a generator's suspended state cannot be.
 */

import { Streams } from "./rng.ts";

/** Receives events. `kind` and `arg` are the integers given to {@link Sim.schedule}. */
export interface EventSink {
  /** Called when an event scheduled for this sink fires. */
  onEvent(kind: number, arg: number): void;
  /**
   * What an event of this sink means, in words (for debuggers such as the REPL's `events`),
   * told next to the sink's event constants so names and numbers cannot drift apart.
   */
  describeEvent?(kind: number, arg: number): string;
}

/** A generator process: yields a delay in ns, or {@link WAIT} to sleep until woken. */
export type ProcessBody = Generator<number, void, void>;

/** Yield this from a process to sleep until {@link Process.wake} is called. */
export const WAIT: number = -1;

const SLOT_BITS = 2 ** 22;

/** Event queue and virtual clock. */
export class Sim {
  /** Current virtual time in ns. */
  now = 0;
  /** Events dispatched so far. */
  dispatched = 0;
  /** Named seeded random streams of this run. */
  readonly streams: Streams;

  private cap = 1024;
  private heap = new Int32Array(this.cap);
  // Keys copied into the heap order so sifting never chases a slot index.
  private heapTime = new Float64Array(this.cap);
  private heapSeq = new Float64Array(this.cap);
  private size = 0;
  private time = new Float64Array(this.cap);
  private seqOf = new Float64Array(this.cap);
  private kindOf = new Int32Array(this.cap);
  private argOf = new Float64Array(this.cap);
  private gen = new Int32Array(this.cap);
  private sinks: (EventSink | null)[] = new Array(this.cap).fill(null);
  private free = new Int32Array(this.cap);
  private freeTop = 0;
  private nextSlot = 0;
  private seq = 0;
  private stopped = false;

  /** @param seed the run's seed for {@link Sim.streams} */
  /** Creates an empty queue at time 0. */
  constructor(seed = 1) {
    this.streams = new Streams(seed);
  }

  /** Number of pending (not yet dispatched, possibly cancelled) events. */
  get pending(): number {
    return this.size;
  }

  /** Schedules `sink.onEvent(kind, arg)` after `delay` ns; returns an id for {@link cancel}. */
  schedule(delay: number, sink: EventSink, kind: number, arg = 0): number {
    return this.scheduleAt(delay > 0 ? this.now + Math.round(delay) : this.now, sink, kind, arg);
  }

  /** Schedules at absolute time `at` (clamped to now). */
  scheduleAt(at: number, sink: EventSink, kind: number, arg = 0): number {
    let slot: number;
    if (this.freeTop > 0) slot = this.free[--this.freeTop];
    else {
      if (this.nextSlot === this.cap) this.grow();
      slot = this.nextSlot++;
    }
    this.time[slot] = at < this.now ? this.now : at;
    this.seqOf[slot] = this.seq++;
    this.kindOf[slot] = kind;
    this.argOf[slot] = arg;
    this.sinks[slot] = sink;
    this.siftUp(this.size++, slot);
    return this.gen[slot] * SLOT_BITS + slot;
  }

  /** Cancels a pending event. Returns false if it already ran or was cancelled. */
  cancel(id: number): boolean {
    const slot = id % SLOT_BITS;
    if (slot >= this.nextSlot || this.gen[slot] !== Math.floor(id / SLOT_BITS)) return false;
    if (this.sinks[slot] === null) return false;
    this.sinks[slot] = null; // lazily dropped when it reaches the top
    return true;
  }

  /** Time of the next pending event, or Infinity. */
  peekTime(): number {
    while (this.size > 0 && this.sinks[this.heap[0]] === null) this.release(this.popTop());
    return this.size > 0 ? this.heapTime[0] : Infinity;
  }

  /** Dispatches the next event. Returns false when the queue is empty. */
  step(): boolean {
    while (this.size > 0) {
      const slot = this.popTop();
      const sink = this.sinks[slot];
      const kind = this.kindOf[slot];
      const arg = this.argOf[slot];
      this.now = this.time[slot];
      this.release(slot);
      if (sink !== null) {
        this.dispatched++;
        sink.onEvent(kind, arg);
        return true;
      }
    }
    return false;
  }

  /** Runs every event with time <= `until`, then sets the clock to `until`. */
  runUntil(until: number): void {
    this.stopped = false;
    while (!this.stopped && this.peekTime() <= until) this.step();
    if (!this.stopped && this.now < until) this.now = until;
  }

  /** Runs for `duration` ns from now. */
  runFor(duration: number): void {
    this.runUntil(this.now + duration);
  }

  /** Runs until the queue is empty or {@link stop} is called. */
  run(): void {
    this.stopped = false;
    while (!this.stopped && this.step());
  }

  /** Makes the current run loop return after the event being dispatched. */
  stop(): void {
    this.stopped = true;
  }

  /** Starts a generator process after `delay` ns. */
  spawn(body: ProcessBody, delay = 0): Process {
    const p = new Process(this, body);
    this.schedule(delay, p, 0);
    return p;
  }

  /** Returns a slot to the free list; its generation changes so stale ids miss. */
  private release(slot: number): void {
    this.sinks[slot] = null;
    this.gen[slot] = (this.gen[slot] + 1) & 0x7fffff;
    this.free[this.freeTop++] = slot;
  }

  /** Moves a new entry up from heap index i. */
  private siftUp(i: number, slot: number): void {
    const h = this.heap, ht = this.heapTime, hs = this.heapSeq;
    const t = this.time[slot], q = this.seqOf[slot];
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = ht[p];
      if (t > tp || (t === tp && q > hs[p])) break;
      h[i] = h[p];
      ht[i] = tp;
      hs[i] = hs[p];
      i = p;
    }
    h[i] = slot;
    ht[i] = t;
    hs[i] = q;
  }

  /** Removes and returns the earliest slot. */
  private popTop(): number {
    const h = this.heap, ht = this.heapTime, hs = this.heapSeq;
    const top = h[0];
    const n = --this.size;
    const last = h[n], lt = ht[n], lq = hs[n];
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      const r = m + 1;
      if (r < n && (ht[r] < ht[m] || (ht[r] === ht[m] && hs[r] < hs[m]))) m = r;
      const tm = ht[m];
      if (tm > lt || (tm === lt && hs[m] > lq)) break;
      h[i] = h[m];
      ht[i] = tm;
      hs[i] = hs[m];
      i = m;
    }
    if (n > 0) {
      h[i] = last;
      ht[i] = lt;
      hs[i] = lq;
    }
    return top;
  }

  /** Doubles every array. */
  private grow(): void {
    const cap = this.cap * 2;
    if (cap > SLOT_BITS) throw new RangeError(`event queue over ${SLOT_BITS} pending events`);
    const g = <T extends Float64Array | Int32Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a);
      return b;
    };
    this.heap = g(this.heap, Int32Array);
    this.heapTime = g(this.heapTime, Float64Array);
    this.heapSeq = g(this.heapSeq, Float64Array);
    this.time = g(this.time, Float64Array);
    this.seqOf = g(this.seqOf, Float64Array);
    this.kindOf = g(this.kindOf, Int32Array);
    this.argOf = g(this.argOf, Float64Array);
    this.gen = g(this.gen, Int32Array);
    this.free = g(this.free, Int32Array);
    this.sinks.length = cap;
    this.sinks.fill(null, this.cap);
    this.cap = cap;
  }
}

/** What {@link Resumable.advance} returns when the body has finished. */
export const DONE: number = -2;

/**
 * Sequential logic as an event sink, so resuming allocates nothing: `advance()` runs the body
 * to its next delay (ns), {@link WAIT} (sleep until {@link wake}) or {@link DONE}. A suspended
 * one (a paused VM's vCPUs) holds a resumption that falls due until {@link resume}.
 */
export abstract class Resumable implements EventSink {
  /** True once the body has finished. */
  done = false;
  /** True while suspended. */
  suspended = false;
  private sleeping = false;
  private resumeDue = false;

  /** Binds it to the simulation it runs in. */
  constructor(protected readonly sim: Sim) {}

  /** Runs the body from where it stopped: a delay (ns), {@link WAIT} or {@link DONE}. */
  protected abstract advance(): number;

  /** Resumes one that returned {@link WAIT}; no effect otherwise. */
  wake(): void {
    if (this.sleeping && !this.done) {
      this.sleeping = false;
      this.sim.schedule(0, this, 0);
    }
  }

  /** Freezes it: a resumption that falls due is held until {@link resume}. */
  suspend(): void {
    this.suspended = true;
  }

  /** Unfreezes it, running a held resumption now. */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    if (this.resumeDue) {
      this.resumeDue = false;
      this.sim.schedule(0, this, 0);
    }
  }

  /** @internal what its pending resumption is, in words (subclasses name their step) */
  describeEvent(): string {
    return `resume ${this.constructor.name}`;
  }

  /** @internal a resumption fell due */
  onEvent(_kind: number, _arg: number): void {
    if (this.suspended) {
      this.resumeDue = true;
      return;
    }
    const r = this.advance();
    if (r === DONE) this.done = true;
    else if (r === WAIT) this.sleeping = true;
    else this.sim.schedule(r, this, 0);
  }
}

/** A running generator process (for library users; the world uses data state machines). */
export class Process extends Resumable {
  /** Use {@link Sim.spawn}. */
  constructor(sim: Sim, private readonly body: ProcessBody) {
    super(sim);
  }

  /** Resumes the generator. */
  protected advance(): number {
    const r = this.body.next();
    return r.done ? DONE : r.value;
  }
}

/** Time unit helpers: integer nanoseconds. */
export const NS = 1, US = 1_000, MS = 1_000_000, SEC = 1_000_000_000;
