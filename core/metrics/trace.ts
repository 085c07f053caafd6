/**
 * A run's trace: what happened when, recorded only when tracing is on (`run --trace`,
 * the REPL's `trace` command). Processes are the VMs plus the physical GPU; threads are
 * engines (0..3) or the VM's vCPU-side driver (thread {@link DRIVER_THREAD}).
 */

/**
 * What a guest driver reports while tracing: the ELSP writes of a submission and its flips.
 * The mediator's tracer (core/gvt/tracer.ts) implements it; the guest knows only this.
 */
export interface GuestTracer {
  /** The driver starts the ELSP writes of a submission on `engine`. */
  submitBegin(vgpuId: number, engine: number): void;
  /** The driver finished the ELSP writes begun by {@link GuestTracer.submitBegin}. */
  submitEnd(vgpuId: number, engine: number): void;
  /** The driver wrote the plane's surface (a flip; it shows at the next vblank). */
  guestFlip(vgpuId: number): void;
}

/** Process id of the physical GPU; VM i (0-based declaration order) is process i + 1. */
export const GPU_PID = 0;
/** Thread id for a VM's guest-driver / trap activity. */
export const DRIVER_THREAD = 10;
/** Thread id of a VM's live-migration phases (pre-copy rounds, stop-and-copy). */
export const MIGRATION_THREAD = 11;
/** Thread id of the mediator's scheduler on the GPU process (vGPU switches, time slices). */
export const SCHED_THREAD = 8;

/** A complete slice: something that ran from `ts` for `dur` ns. */
export interface TraceSlice {
  /** "X". */
  ph: "X";
  /** Start (ns). */
  ts: number;
  /** Duration (ns). */
  dur: number;
  /** Process. */
  pid: number;
  /** Thread. */
  tid: number;
  /** Name. */
  name: string;
  /** Flow id linking a guest submission to its execution (0: none): ends in this slice. */
  flow: number;
  /** Flow id started in this slice (a guest submission), absent or 0 if none. */
  flowOut?: number;
  /** Category (default "workload"). */
  cat?: string;
  /** Arguments. */
  args?: Record<string, number | string>;
}

/** An instant: a trap, an interrupt, a failsafe entry, a reset, a submission. */
export interface TraceInstant {
  /** "i". */
  ph: "i";
  /** Time (ns). */
  ts: number;
  /** Process. */
  pid: number;
  /** Thread. */
  tid: number;
  /** Name. */
  name: string;
  /** Flow id started here (a submission), 0 if none. */
  flow: number;
  /** Category (default "event"). */
  cat?: string;
  /** Arguments. */
  args?: Record<string, number | string>;
}

/** A counter sample. */
export interface TraceCounter {
  /** "C". */
  ph: "C";
  /** Time (ns). */
  ts: number;
  /** Process. */
  pid: number;
  /** Counter name. */
  name: string;
  /** Value. */
  value: number;
}

/** Any trace record. */
export type TraceRecord = TraceSlice | TraceInstant | TraceCounter;

/**
 * Receives trace records in recording order, each once, when it can no longer change
 * ({@link TraceLog.streamTo}): `run --trace` renders them to the output file as the run goes.
 */
export interface TraceSink {
  /** Takes the next records (the array is the sink's to keep). */
  write(records: TraceRecord[]): void;
}

/** What a streaming log needs to know about the present (the simulation). */
export interface TraceClock {
  /** The current simulated time (ns). */
  readonly now: number;
}

/** Records kept unwritten before a streaming log hands the settled ones to its sink. */
export const TRACE_FLUSH_RECORDS = 64;

/** The most recent records a streaming log keeps in memory by default ({@link TraceLog.last}). */
export const TRACE_RECENT_RECORDS = 4096;

/**
 * A log's sink and clock, outside the log's own fields: a world's heap snapshot walks the
 * log's data (its unwritten and recent records), never the open output file.
 */
const streams = new WeakMap<TraceLog, { sink: TraceSink; clock: TraceClock }>();

/**
 * Collects trace records. By default it keeps them all in memory (at most {@link cap}; later
 * ones are counted in {@link dropped}), for a renderer to read from {@link records}. Once
 * {@link streamTo} gives it a sink, it hands records to the sink as they settle and keeps
 * only a ring of the most recent ones, so its memory does not grow with the run.
 *
 * A trap instant stays open while the simulated time has not moved past it (the tracer adds
 * further traps of the same guest operation to its `count`), so the sink receives a record
 * only when it is final.
 */
export class TraceLog {
  /** Records accepted so far (not counting {@link dropped}). */
  count = 0;
  /** Records not kept because the cap was reached. */
  dropped = 0;
  /** Names of processes by pid. */
  readonly processNames: Map<number, string> = new Map<number, string>([[GPU_PID, "GPU"]]);
  /**
   * Slices begun and not ended yet, by key ({@link begin}); not recorded until {@link end}.
   * A renderer closes the ones still open at the end of the run.
   */
  readonly open: Map<number, TraceSlice> = new Map();
  /** In memory: every record; streaming: the records not yet handed to the sink. */
  private kept: TraceRecord[] = [];
  /** Streaming: the most recent records, a ring of {@link recentCap} ({@link last}). */
  private recentRing: TraceRecord[] = [];
  private recentNext = 0;
  private recentCap = 0;

  /** The most records kept (in memory or handed to the sink); later ones are dropped. */
  cap: number;

  /** Creates an empty log keeping at most `cap` records (in memory or written). */
  constructor(cap = 2_000_000) {
    this.cap = cap;
  }

  /** True once the log hands its records to a sink ({@link streamTo}). */
  get streaming(): boolean {
    return streams.has(this);
  }

  /**
   * Hands every record, from now on and any kept so far, to `sink` as it settles, keeping
   * only the `recent` most recent ones in memory (none with 0). `cap` replaces the log's cap.
   */
  streamTo(
    sink: TraceSink,
    clock: TraceClock,
    opts: { recent?: number; cap?: number } = {},
  ): void {
    streams.set(this, { sink, clock });
    this.cap = opts.cap ?? this.cap;
    this.recentCap = Math.max(0, opts.recent ?? TRACE_RECENT_RECORDS);
    this.recentRing = [];
    this.recentNext = 0;
    for (const r of this.kept) this.remember(r);
    this.settle();
  }

  /**
   * Records in memory, oldest first: all of them, or while streaming the most recent ones
   * (at most the ring's size).
   */
  get records(): TraceRecord[] {
    if (!this.streaming) return this.kept;
    const ring = this.recentRing;
    if (ring.length < this.recentCap) return ring.slice();
    return [...ring.slice(this.recentNext), ...ring.slice(0, this.recentNext)];
  }

  /** The last `n` records (while streaming, at most the ring's size). */
  last(n: number): TraceRecord[] {
    const all = this.records;
    return all.slice(Math.max(0, all.length - n));
  }

  /** Keeps a record unless the cap is reached; true if kept. */
  private push(r: TraceRecord): boolean {
    if (this.count >= this.cap) {
      this.dropped++;
      return false;
    }
    this.count++;
    this.kept.push(r);
    const s = streams.get(this);
    if (s !== undefined) {
      this.remember(r);
      if (this.kept.length >= TRACE_FLUSH_RECORDS) this.settle();
    }
    return true;
  }

  /** Adds a record to the ring of recent ones. */
  private remember(r: TraceRecord): void {
    if (this.recentCap === 0) return;
    if (this.recentRing.length < this.recentCap) this.recentRing.push(r);
    else this.recentRing[this.recentNext] = r;
    this.recentNext = (this.recentNext + 1) % this.recentCap;
  }

  /**
   * Streaming: hands the records that can no longer change to the sink (all but trap
   * instants at the present, which may still gain a count).
   */
  settle(): void {
    const s = streams.get(this);
    if (s === undefined || this.kept.length === 0) return;
    const now = s.clock.now, kept = this.kept;
    let n = 0;
    while (n < kept.length) {
      const r = kept[n];
      if (r.ph === "i" && r.cat === "trap" && r.ts >= now) break;
      n++;
    }
    if (n === 0) return;
    this.kept = kept.slice(n);
    kept.length = n;
    s.sink.write(kept);
  }

  /** Streaming: hands every record still kept to the sink (the run is over). */
  flush(): void {
    const s = streams.get(this);
    if (s === undefined || this.kept.length === 0) return;
    const kept = this.kept;
    this.kept = [];
    s.sink.write(kept);
  }

  /** Streaming: the records not handed to the sink yet (trap instants at the present). */
  unsettled(): readonly TraceRecord[] {
    return this.streaming ? this.kept : [];
  }

  /** Records a complete slice (`flow`: a flow ending in it). */
  slice(
    ts: number,
    dur: number,
    pid: number,
    tid: number,
    name: string,
    flow = 0,
    args?: Record<string, number | string>,
    cat?: string,
  ): void {
    const r: TraceSlice = { ph: "X", ts, dur, pid, tid, name, flow };
    if (args !== undefined) r.args = args;
    if (cat !== undefined) r.cat = cat;
    this.push(r);
  }

  /** Records a slice that starts flow `flowOut` (a guest submission). */
  submission(
    ts: number,
    dur: number,
    pid: number,
    tid: number,
    name: string,
    flowOut: number,
    args?: Record<string, number | string>,
  ): void {
    const r: TraceSlice = { ph: "X", ts, dur, pid, tid, name, flow: 0, flowOut, cat: "submit" };
    if (args !== undefined) r.args = args;
    this.push(r);
  }

  /** Records an instant; returns the record kept (null when the cap dropped it). */
  instant(
    ts: number,
    pid: number,
    tid: number,
    name: string,
    flow = 0,
    args?: Record<string, number | string>,
    cat?: string,
  ): TraceInstant | null {
    const r: TraceInstant = { ph: "i", ts, pid, tid, name, flow };
    if (args !== undefined) r.args = args;
    if (cat !== undefined) r.cat = cat;
    return this.push(r) ? r : null;
  }

  /**
   * Begins a slice under `key` (one open slice per key; an open one under the same key is
   * ended first). It is recorded when {@link end} closes it.
   */
  begin(
    key: number,
    ts: number,
    pid: number,
    tid: number,
    name: string,
    flow = 0,
    args?: Record<string, number | string>,
    cat?: string,
  ): void {
    if (this.open.has(key)) this.end(key, ts);
    const r: TraceSlice = { ph: "X", ts, dur: 0, pid, tid, name, flow };
    if (args !== undefined) r.args = args;
    if (cat !== undefined) r.cat = cat;
    this.open.set(key, r);
  }

  /** Ends the slice open under `key` at `ts` (renaming it if `name` is given); returns it. */
  end(key: number, ts: number, name?: string): TraceSlice | undefined {
    const r = this.open.get(key);
    if (r === undefined) return undefined;
    this.open.delete(key);
    r.dur = Math.max(0, ts - r.ts);
    if (name !== undefined) r.name = name;
    this.push(r);
    return r;
  }

  /** Records a counter sample. */
  counter(ts: number, pid: number, name: string, value: number): void {
    this.push({ ph: "C", ts, pid, name, value });
  }
}
