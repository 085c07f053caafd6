/**
 * `run --trace PATH`: a run's {@link TraceLog} as Chrome trace-event JSON, the format
 * ui.perfetto.dev and chrome://tracing open. Processes are the physical GPU (pid 0) and the
 * VMs (pid = declaration index + 1); threads are the engines (tid 0..3: RCS, BCS, VCS, VECS)
 * and a VM's guest-driver thread (tid 10); the GPU process also has the scheduler thread
 * (tid 8). Timestamps are in microseconds (the format's unit), fractional so that nanosecond
 * resolution survives. Output is deterministic: same log and results, same bytes.
 *
 * A {@link TraceWriter} renders records as they come ({@link TraceWriter.write}), so a run
 * can stream its trace to the file instead of holding it: the metadata naming the known
 * processes and threads comes first, then the records in recording order, then the slices
 * still open at the end of the run (closed there with `args.unfinished = 1`), metadata for
 * any process or thread first seen in the records, and the counters from the results' series
 * when the log recorded none.
 *
 * Flows (a guest submission to its execution) use flow events v1, which Perfetto and
 * chrome://tracing bind to slices, never to instants: the start ("s") is placed inside the
 * submission slice and the end ("f", binding point "e": the enclosing slice) inside the
 * execution slice, both at the slice's midpoint so that no tie with the slice's own start
 * decides the binding. Both are written after the execution slice, once both ends are known
 * (a submission whose workload never ran has no flow); the writer remembers the submissions of
 * the {@link FLOW_STARTS} most recent flows still waiting. A submission recorded as an instant
 * is written as a 1 us slice.
 */

import { ENGINES } from "../core/hw/engines.ts";
import type { Results } from "../core/metrics/results.ts";
import {
  DRIVER_THREAD,
  GPU_PID,
  MIGRATION_THREAD,
  SCHED_THREAD,
  type TraceLog,
  type TraceRecord,
  type TraceSink,
  type TraceSlice,
} from "../core/metrics/trace.ts";

/** Display names of engine threads 0..3 (i915 order). */
export const ENGINE_THREAD_NAMES: readonly string[] = ENGINES.map((e) => e.prefix);

/** Name of the per-VM driver thread ({@link DRIVER_THREAD}). */
export const DRIVER_THREAD_NAME = "driver";

/** Name of a VM's live-migration thread ({@link MIGRATION_THREAD}). */
export const MIGRATION_THREAD_NAME = "migration";

/** Name of the GPU process's scheduler thread ({@link SCHED_THREAD}). */
export const SCHED_THREAD_NAME = "scheduler";

/** Duration given to a submission recorded as an instant, so a flow can bind to it (ns). */
export const INSTANT_SUBMIT_NS = 1000;

/** One Chrome trace event as written (keys in this order). */
export interface TraceEvent {
  /** Event name. */
  name: string;
  /** Category. */
  cat?: string;
  /** Phase: X, i, C, s, f, M. */
  ph: string;
  /** Timestamp (us). */
  ts?: number;
  /** Duration (us), "X" only. */
  dur?: number;
  /** Process id. */
  pid: number;
  /** Thread id. */
  tid?: number;
  /** Instant scope ("t": thread). */
  s?: string;
  /** Flow id ("s"/"f"). */
  id?: number;
  /** Flow binding point ("e": enclosing slice). */
  bp?: string;
  /** Arguments. */
  args?: Record<string, number | string>;
}

/** Flow starts remembered while their execution has not ended (the oldest are forgotten). */
export const FLOW_STARTS = 1 << 16;

/** Text rendered before it is handed on (characters). */
const CHUNK_CHARS = 1 << 16;

/** ns -> us, keeping fractions (integer ns / 1000 prints with at most 3 decimals). */
function us(ns: number): number {
  return ns / 1000;
}

/** A process's display name: the GPU, a VM from `results.vms`, or the log's name. */
function processName(pid: number, log: TraceLog, results?: Results): string {
  if (pid === GPU_PID) return log.processNames.get(GPU_PID) ?? "GPU";
  const vm = results?.vms[pid - 1];
  if (vm) return vm.name;
  return log.processNames.get(pid) ?? `process ${pid}`;
}

/** A thread's display name: an engine, the guest driver, or the scheduler. */
export function threadName(tid: number): string {
  if (tid >= 0 && tid < ENGINE_THREAD_NAMES.length) return ENGINE_THREAD_NAMES[tid];
  if (tid === DRIVER_THREAD) return DRIVER_THREAD_NAME;
  if (tid === SCHED_THREAD) return SCHED_THREAD_NAME;
  if (tid === MIGRATION_THREAD) return MIGRATION_THREAD_NAME;
  return `thread ${tid}`;
}

/** The threads a process has from the start: the engines, and the scheduler or driver thread. */
function baseThreads(pid: number): number[] {
  return [0, 1, 2, 3, pid === GPU_PID ? SCHED_THREAD : DRIVER_THREAD];
}

/** Metadata naming and ordering process `pid` (when `named`) and its threads `tids`. */
function metadata(pid: number, name: string | null, tids: Iterable<number>): TraceEvent[] {
  const out: TraceEvent[] = [];
  if (name !== null) {
    out.push({ name: "process_name", ph: "M", pid, tid: 0, args: { name } });
    out.push({ name: "process_sort_index", ph: "M", pid, tid: 0, args: { sort_index: pid } });
  }
  for (const tid of [...tids].sort((a, b) => a - b)) {
    out.push({ name: "thread_name", ph: "M", pid, tid, args: { name: threadName(tid) } });
    out.push({ name: "thread_sort_index", ph: "M", pid, tid, args: { sort_index: tid } });
  }
  return out;
}

/** A submission slice waiting for its execution (where its flow start goes). */
interface FlowStart {
  ts: number;
  dur: number;
  pid: number;
  tid: number;
}

/** A flow event inside the slice [ts, ts + dur) (ns): at its midpoint. */
function flowEvent(
  ph: "s" | "f",
  ts: number,
  dur: number,
  pid: number,
  tid: number,
  id: number,
): TraceEvent {
  const e: TraceEvent = {
    name: "submit",
    cat: "flow",
    ph,
    ts: us(ts + Math.floor(dur / 2)),
    pid,
    tid,
    id,
  };
  if (ph === "f") e.bp = "e";
  return e;
}

/** A JSON number (non-finite values, which records never hold, as null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : "null";
}

/** Names and categories as JSON strings, cached: a trace repeats a few hundred of them. */
const quoted = new Map<string, string>();

function quote(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    if (quoted.size >= 4096) quoted.clear();
    quoted.set(s, q = JSON.stringify(s));
  }
  return q;
}

/** One event as JSON with a fixed key order (the order of {@link TraceEvent}). */
function eventJson(e: TraceEvent): string {
  let j = `{"name":${quote(e.name)}`;
  if (e.cat !== undefined) j += `,"cat":${quote(e.cat)}`;
  j += `,"ph":"${e.ph}"`;
  if (e.ts !== undefined) j += `,"ts":${num(e.ts)}`;
  if (e.dur !== undefined) j += `,"dur":${num(e.dur)}`;
  j += `,"pid":${num(e.pid)}`;
  if (e.tid !== undefined) j += `,"tid":${num(e.tid)}`;
  if (e.s !== undefined) j += `,"s":${quote(e.s)}`;
  if (e.id !== undefined) j += `,"id":${num(e.id)}`;
  if (e.bp !== undefined) j += `,"bp":${quote(e.bp)}`;
  if (e.args !== undefined) j += `,"args":${JSON.stringify(e.args)}`;
  return j + "}";
}

/** What rendering has seen so far: copied for a trace saved mid-run. */
class RenderState {
  /** No event written yet. */
  first = true;
  /** A counter record was written. */
  counters = false;
  /** Submissions whose flow has not ended, by flow id, oldest first. */
  starts = new Map<number, FlowStart>();
  /** Threads (by process) used by records and not named in the header. */
  unnamed = new Map<number, Set<number>>();

  /** An independent copy. */
  clone(): RenderState {
    const c = new RenderState();
    c.first = this.first;
    c.counters = this.counters;
    c.starts = new Map(this.starts);
    for (const [pid, tids] of this.unnamed) c.unnamed.set(pid, new Set(tids));
    return c;
  }
}

/**
 * Renders trace records to Chrome trace-event JSON as they come, handing the text on in
 * pieces of about a megabyte ({@link TraceSink}: a {@link TraceLog} streams into it). The
 * file is `{"traceEvents":[` + one event per line + `],"displayTimeUnit":"ns","otherData":{...}}`.
 */
export class TraceWriter implements TraceSink {
  private st = new RenderState();
  private parts: string[] = [];
  private chars = 0;
  /** Threads named in the header, by process. */
  private readonly named = new Map<number, Set<number>>();

  /**
   * Starts the file: its opening and the metadata of `processes` (pid -> name) with their
   * engine threads and their driver (VMs) or scheduler (GPU) thread.
   * @param out receives the text in order
   * @param processes the processes known from the start
   */
  constructor(
    private readonly out: (text: string) => void,
    processes: ReadonlyMap<number, string>,
  ) {
    this.parts.push('{"traceEvents":[');
    for (const pid of [...processes.keys()].sort((a, b) => a - b)) {
      const tids = baseThreads(pid);
      this.named.set(pid, new Set(tids));
      for (const e of metadata(pid, processes.get(pid)!, tids)) this.emit(e, this.st, this.parts);
    }
  }

  /** {@inheritDoc TraceSink.write} */
  write(records: TraceRecord[]): void {
    for (const r of records) this.record(r, this.st, this.parts, true);
    if (this.chars >= CHUNK_CHARS) this.drain();
  }

  /** Hands the text rendered so far to the output. */
  drain(): void {
    if (this.parts.length === 0) return;
    this.out(this.parts.join(""));
    this.parts = [];
    this.chars = 0;
  }

  /**
   * The end of the file after what was written: `pending` records (not yet written, e.g. a
   * REPL's traps at the present), the log's open slices closed at `results.simulatedNs`,
   * metadata for processes and threads the header did not name, the series counters when
   * no counter was recorded, and the closing part. Changes nothing: a REPL can save a trace
   * and keep recording.
   */
  tail(log: TraceLog, results: Results, pending: readonly TraceRecord[] = []): string {
    const st = this.st.clone(), parts: string[] = [];
    for (const r of pending) this.record(r, st, parts, false);
    for (const r of log.open.values()) {
      const open: TraceSlice = { ...r, args: { ...r.args, unfinished: 1 } };
      this.slice(open, Math.max(0, results.simulatedNs - r.ts), st, parts, false);
    }
    for (const pid of [...st.unnamed.keys()].sort((a, b) => a - b)) {
      const known = this.named.has(pid);
      const tids = known
        ? st.unnamed.get(pid)!
        : new Set([...baseThreads(pid), ...st.unnamed.get(pid)!]);
      for (const e of metadata(pid, known ? null : processName(pid, log, results), tids)) {
        this.emit(e, st, parts);
      }
    }
    if (!st.counters) { for (const e of seriesCounters(results)) this.emit(e, st, parts); }
    const other = JSON.stringify({
      scenario: results.scenario,
      file: results.file,
      seed: results.seed,
      schema: results.schema,
      simulatedNs: results.simulatedNs,
      droppedRecords: log.dropped,
    });
    parts.push(`\n],\n"displayTimeUnit":"ns",\n"otherData":${other}}\n`);
    return parts.join("");
  }

  /** Writes the rest of the file ({@link tail}) after the log's last records. */
  finish(log: TraceLog, results: Results): void {
    this.drain();
    this.out(this.tail(log, results));
  }

  /** Appends one event's line. */
  private emit(e: TraceEvent, st: RenderState, parts: string[]): void {
    const line = (st.first ? "\n" : ",\n") + eventJson(e);
    st.first = false;
    parts.push(line);
    if (parts === this.parts) this.chars += line.length;
  }

  /** Notes a (process, thread) a record uses, when the header did not name it. */
  private use(pid: number, tid: number, st: RenderState): void {
    if (this.named.get(pid)?.has(tid)) return;
    let set = st.unnamed.get(pid);
    if (!set) st.unnamed.set(pid, set = new Set());
    set.add(tid);
  }

  /** The events of one record (`keep`: remember flow starts and forget ended ones). */
  private record(r: TraceRecord, st: RenderState, parts: string[], keep: boolean): void {
    switch (r.ph) {
      case "X":
        this.slice(r, r.dur, st, parts, keep);
        return;
      case "i":
        this.use(r.pid, r.tid, st);
        if (r.flow !== 0) {
          // A submission instant: a short slice, so that the flow can bind to it.
          this.emit(
            {
              name: r.name,
              cat: r.cat ?? "submit",
              ph: "X",
              ts: us(r.ts),
              dur: us(INSTANT_SUBMIT_NS),
              pid: r.pid,
              tid: r.tid,
              ...(r.args !== undefined ? { args: r.args } : {}),
            },
            st,
            parts,
          );
          this.start(r.flow, { ts: r.ts, dur: INSTANT_SUBMIT_NS, pid: r.pid, tid: r.tid }, st);
          return;
        }
        this.emit(
          {
            name: r.name,
            cat: r.cat ?? "event",
            ph: "i",
            ts: us(r.ts),
            pid: r.pid,
            tid: r.tid,
            s: "t",
            ...(r.args !== undefined ? { args: r.args } : {}),
          },
          st,
          parts,
        );
        return;
      case "C":
        st.counters = true;
        if (!this.named.has(r.pid) && !st.unnamed.has(r.pid)) st.unnamed.set(r.pid, new Set());
        this.emit(
          {
            name: r.name,
            cat: "counter",
            ph: "C",
            ts: us(r.ts),
            pid: r.pid,
            tid: 0,
            args: { value: r.value },
          },
          st,
          parts,
        );
        return;
    }
  }

  /** A slice, and the flow it ends (with its start) when the submission is known. */
  private slice(
    r: TraceSlice,
    dur: number,
    st: RenderState,
    parts: string[],
    keep: boolean,
  ): void {
    this.use(r.pid, r.tid, st);
    const e: TraceEvent = {
      name: r.name,
      cat: r.cat ?? "workload",
      ph: "X",
      ts: us(r.ts),
      dur: us(dur),
      pid: r.pid,
      tid: r.tid,
    };
    if (r.args !== undefined) e.args = r.args;
    this.emit(e, st, parts);
    if (r.flowOut) this.start(r.flowOut, { ts: r.ts, dur, pid: r.pid, tid: r.tid }, st);
    if (r.flow !== 0) {
      const s = st.starts.get(r.flow);
      if (s === undefined) return;
      if (keep) st.starts.delete(r.flow);
      this.emit(flowEvent("s", s.ts, s.dur, s.pid, s.tid, r.flow), st, parts);
      this.emit(flowEvent("f", r.ts, dur, r.pid, r.tid, r.flow), st, parts);
    }
  }

  /** Remembers a flow's start until its execution comes. */
  private start(flow: number, s: FlowStart, st: RenderState): void {
    st.starts.set(flow, s);
    if (st.starts.size > FLOW_STARTS) st.starts.delete(st.starts.keys().next().value!);
  }
}

/**
 * GPU share and queue-depth counters from `results.series`, per VM process, used when the
 * log itself holds no counter records (so a trace always has its counter tracks).
 */
function seriesCounters(results: Results): TraceEvent[] {
  const out: TraceEvent[] = [];
  const { t, share, queue } = results.series;
  for (let i = 0; i < t.length; i++) {
    for (let v = 0; v < results.vms.length; v++) {
      const name = results.vms[v].name;
      const s = share[name]?.[i];
      const q = queue[name]?.[i];
      if (s !== undefined) {
        out.push({
          name: "GPU share",
          cat: "counter",
          ph: "C",
          ts: us(t[i]),
          pid: v + 1,
          tid: 0,
          args: { value: s },
        });
      }
      if (q !== undefined) {
        out.push({
          name: "queue depth",
          cat: "counter",
          ph: "C",
          ts: us(t[i]),
          pid: v + 1,
          tid: 0,
          args: { value: q },
        });
      }
    }
  }
  return out;
}

/** The processes a trace of `log` names up front: the GPU, the results' VMs, the log's names. */
export function traceProcesses(log: TraceLog, results?: Results): Map<number, string> {
  const pids = new Set<number>([GPU_PID, ...log.processNames.keys()]);
  results?.vms.forEach((_, i) => pids.add(i + 1));
  return new Map([...pids].map((pid) => [pid, processName(pid, log, results)]));
}

/**
 * The Chrome trace-event JSON of a log held in memory: `{"traceEvents": [...],
 * "displayTimeUnit": "ns", "otherData": {...}}`, one event per line. `otherData` carries the
 * scenario, seed, schema and how many records the log dropped at its cap.
 */
export function traceJson(log: TraceLog, results: Results): string {
  const parts: string[] = [];
  const w = new TraceWriter((t) => parts.push(t), traceProcesses(log, results));
  w.write(log.records);
  w.finish(log, results);
  return parts.join("");
}

/** All trace events of a log held in memory, in output order (see {@link traceJson}). */
export function traceEvents(log: TraceLog, results: Results): TraceEvent[] {
  return JSON.parse(traceJson(log, results)).traceEvents;
}
