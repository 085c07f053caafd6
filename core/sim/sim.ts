/**
 * The discrete-event kernel: one virtual clock in integer nanoseconds and an event queue
 * ordered by (time, insertion sequence), so events at equal times run in the order they
 * were scheduled and every run is deterministic.
 *
 * Hot path: an event is (sink, kind, arg) in the typed arrays of the queue (core/sim/queue.ts,
 * a timing wheel); scheduling allocates nothing once the arrays have grown to the working size.
 * Sequential logic is written either as an {@link EventSink} state machine
 * (`onEvent(kind, arg)`) or as a generator process ({@link Sim.spawn}) that yields delays in
 * nanoseconds. The world uses state machines only: their state is plain data,
 * which a heap snapshot can capture; a generator's suspended state cannot be.
 */

import { Streams } from "./rng.ts";
import { EventQueue, type QueuedEvent } from "./queue.ts";

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

/** Event queue and virtual clock. */
export class Sim {
  /** Current virtual time in ns. */
  now = 0;
  /** Events dispatched so far. */
  dispatched = 0;
  /** Named seeded random streams of this run. */
  readonly streams: Streams;

  private readonly queue = new EventQueue();
  private stopped = false;

  /** @param seed the run's seed for {@link Sim.streams} */
  /** Creates an empty queue at time 0. */
  constructor(seed = 1) {
    this.streams = new Streams(seed);
  }

  /** Number of pending (not yet dispatched, possibly cancelled) events. */
  get pending(): number {
    return this.queue.size;
  }

  /** Events scheduled so far (the next one's scheduling sequence number). */
  get scheduled(): number {
    return this.queue.seq;
  }

  /** Schedules `sink.onEvent(kind, arg)` after `delay` ns; returns an id for {@link cancel}. */
  schedule(delay: number, sink: EventSink, kind: number, arg = 0): number {
    const now = this.now;
    return this.queue.add(now, delay > 0 ? now + Math.round(delay) : now, sink, kind, arg);
  }

  /** Schedules at absolute time `at` (rounded to whole ns like a delay, clamped to now). */
  scheduleAt(at: number, sink: EventSink, kind: number, arg = 0): number {
    const t = Math.round(at), now = this.now;
    return this.queue.add(now, t > now ? t : now, sink, kind, arg);
  }

  /** Cancels a pending event. Returns false if it already ran or was cancelled. */
  cancel(id: number): boolean {
    return this.queue.cancel(id);
  }

  /** Time of the next pending event, or Infinity. */
  peekTime(): number {
    return this.queue.peekTime();
  }

  /** The live pending events in firing order (for debuggers and digests; allocates). */
  pendingEvents(): QueuedEvent[] {
    return this.queue.entries();
  }

  /** Dispatches the next event. Returns false when the queue is empty. */
  step(): boolean {
    return this.dispatchUntil(Infinity);
  }

  /** Runs every event with time <= `until`, then sets the clock to `until`. */
  runUntil(until: number): void {
    this.stopped = false;
    while (!this.stopped && this.dispatchUntil(until));
    if (!this.stopped && this.now < until) this.now = until;
  }

  /** Runs for `duration` ns from now. */
  runFor(duration: number): void {
    this.runUntil(this.now + duration);
  }

  /** Runs until the queue is empty or {@link stop} is called. */
  run(): void {
    this.stopped = false;
    while (!this.stopped && this.dispatchUntil(Infinity));
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

  /** Dispatches the next event if its time is <= `limit`; false if there is none. */
  private dispatchUntil(limit: number): boolean {
    const q = this.queue;
    const slot = q.take(limit);
    if (slot < 0) return false;
    const sink = q.sinks[slot]!, kind = q.kinds[slot], arg = q.args[slot];
    this.now = q.times[slot];
    q.release(slot);
    this.dispatched++;
    sink.onEvent(kind, arg);
    return true;
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
