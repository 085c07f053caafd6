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

/** Collects trace records up to a cap (the oldest are kept; drops are counted). */
export class TraceLog {
  /** Records in time of recording. */
  readonly records: TraceRecord[] = [];
  /** Records not kept because the cap was reached. */
  dropped = 0;
  /** Names of processes by pid. */
  readonly processNames: Map<number, string> = new Map<number, string>([[GPU_PID, "GPU"]]);
  /**
   * Slices begun and not ended yet, by key ({@link begin}); not in {@link records} until
   * {@link end}. A renderer closes the ones still open at the end of the run.
   */
  readonly open: Map<number, TraceSlice> = new Map();

  /** @param cap the most records kept */
  /** Creates an empty log keeping at most `cap` records. */
  constructor(readonly cap = 2_000_000) {}

  /** Keeps a record unless the cap is reached; true if kept. */
  private push(r: TraceRecord): boolean {
    if (this.records.length < this.cap) {
      this.records.push(r);
      return true;
    }
    this.dropped++;
    return false;
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
   * ended first). It enters {@link records} when {@link end} closes it.
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

  /** The last `n` records. */
  last(n: number): TraceRecord[] {
    return this.records.slice(Math.max(0, this.records.length - n));
  }
}
