/**
 * A run's trace: what happened when, recorded only when tracing is on (`run --trace`,
 * the REPL's `trace` command). Processes are the VMs plus the physical GPU; threads are
 * engines (0..3) or the VM's vCPU-side driver (thread {@link DRIVER_THREAD}).
 */

/** Process id of the physical GPU; VM i (0-based declaration order) is process i + 1. */
export const GPU_PID = 0;
/** Thread id for a VM's guest-driver / trap activity. */
export const DRIVER_THREAD = 10;

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
  /** Flow id linking a guest submission to its execution (0: none). */
  flow: number;
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
  readonly processNames = new Map<number, string>([[GPU_PID, "GPU"]]);

  /** @param cap the most records kept */
  /** Creates an empty log keeping at most `cap` records. */
  constructor(readonly cap = 2_000_000) {}

  /** Keeps a record unless the cap is reached. */
  private push(r: TraceRecord): void {
    if (this.records.length < this.cap) this.records.push(r);
    else this.dropped++;
  }

  /** Records a complete slice. */
  slice(ts: number, dur: number, pid: number, tid: number, name: string, flow = 0): void {
    this.push({ ph: "X", ts, dur, pid, tid, name, flow });
  }

  /** Records an instant. */
  instant(ts: number, pid: number, tid: number, name: string, flow = 0): void {
    this.push({ ph: "i", ts, pid, tid, name, flow });
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
