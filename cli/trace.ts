/**
 * `run --trace PATH`: a run's {@link TraceLog} as Chrome trace-event JSON, the format
 * ui.perfetto.dev and chrome://tracing open. Processes are the physical GPU (pid 0) and the
 * VMs (pid = declaration index + 1); threads are the engines (tid 0..3: RCS, BCS, VCS, VECS)
 * and a VM's guest-driver thread (tid 10); the GPU process also has the scheduler thread
 * (tid 8). Timestamps are in microseconds (the format's unit), fractional so that nanosecond
 * resolution survives. Output is deterministic: same log and results, same bytes.
 *
 * Flows (a guest submission to its execution) use flow events v1, which Perfetto and
 * chrome://tracing bind to slices, never to instants: the start ("s") is placed inside the
 * submission slice and the end ("f", binding point "e": the enclosing slice) inside the
 * execution slice, both at the slice's midpoint so that no tie with the slice's own start
 * decides the binding. A submission recorded as an instant is written as a 1 us slice.
 * Only flows with both ends in the log are written. Slices still open when the run ended
 * ({@link TraceLog.open}) are closed at the end of the run with `args.unfinished = 1`.
 */

import type { Results } from "../core/metrics/results.ts";
import {
  DRIVER_THREAD,
  GPU_PID,
  SCHED_THREAD,
  type TraceLog,
  type TraceRecord,
  type TraceSlice,
} from "../core/metrics/trace.ts";

/** Display names of engine threads 0..3 (i915 order). */
export const ENGINE_THREAD_NAMES: readonly string[] = ["RCS", "BCS", "VCS", "VECS"];

/** Name of the per-VM driver thread ({@link DRIVER_THREAD}). */
export const DRIVER_THREAD_NAME = "driver";

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

/** ns -> us, keeping fractions (integer ns / 1000 prints with at most 3 decimals). */
function us(ns: number): number {
  return ns / 1000;
}

/** A process's display name: the GPU, a VM from `results.vms`, or the log's name. */
function processName(pid: number, log: TraceLog, results: Results): string {
  if (pid === GPU_PID) return log.processNames.get(GPU_PID) ?? "GPU";
  const vm = results.vms[pid - 1];
  if (vm) return vm.name;
  return log.processNames.get(pid) ?? `process ${pid}`;
}

/** A thread's display name: an engine, the guest driver, or the scheduler. */
export function threadName(tid: number): string {
  if (tid >= 0 && tid < ENGINE_THREAD_NAMES.length) return ENGINE_THREAD_NAMES[tid];
  if (tid === DRIVER_THREAD) return DRIVER_THREAD_NAME;
  if (tid === SCHED_THREAD) return SCHED_THREAD_NAME;
  return `thread ${tid}`;
}

/** Metadata events naming and ordering every process and thread that appears. */
function metadata(log: TraceLog, results: Results): TraceEvent[] {
  const pids = new Set<number>([GPU_PID]);
  for (let i = 0; i < results.vms.length; i++) pids.add(i + 1);
  for (const pid of log.processNames.keys()) pids.add(pid);
  const tids = new Map<number, Set<number>>();
  for (const pid of pids) {
    const set = new Set<number>([0, 1, 2, 3]);
    if (pid !== GPU_PID) set.add(DRIVER_THREAD);
    tids.set(pid, set);
  }
  for (const r of [...log.records, ...log.open.values()]) {
    pids.add(r.pid);
    if (r.ph === "C") continue;
    let set = tids.get(r.pid);
    if (!set) tids.set(r.pid, set = new Set([0, 1, 2, 3]));
    set.add(r.tid);
  }
  const out: TraceEvent[] = [];
  for (const pid of [...pids].sort((a, b) => a - b)) {
    out.push({
      name: "process_name",
      ph: "M",
      pid,
      tid: 0,
      args: { name: processName(pid, log, results) },
    });
    out.push({ name: "process_sort_index", ph: "M", pid, tid: 0, args: { sort_index: pid } });
    for (const tid of [...(tids.get(pid) ?? [])].sort((a, b) => a - b)) {
      out.push({ name: "thread_name", ph: "M", pid, tid, args: { name: threadName(tid) } });
      out.push({ name: "thread_sort_index", ph: "M", pid, tid, args: { sort_index: tid } });
    }
  }
  return out;
}

/** Flow ids with a start (submission) and with an end (execution) in the log. */
interface FlowIds {
  starts: Set<number>;
  ends: Set<number>;
}

function flowIds(log: TraceLog): FlowIds {
  const starts = new Set<number>(), ends = new Set<number>();
  const scan = (r: TraceRecord) => {
    if (r.ph === "i") {
      if (r.flow !== 0) starts.add(r.flow);
    } else if (r.ph === "X") {
      if (r.flow !== 0) ends.add(r.flow);
      if (r.flowOut) starts.add(r.flowOut);
    }
  };
  for (const r of log.records) scan(r);
  for (const r of log.open.values()) scan(r);
  return { starts, ends };
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

/** The events for one slice record, plus its flow start and end if both ends exist. */
function sliceEvents(r: TraceSlice, dur: number, flows: FlowIds, out: TraceEvent[]): void {
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
  out.push(e);
  if (r.flowOut && flows.ends.has(r.flowOut)) {
    out.push(flowEvent("s", r.ts, dur, r.pid, r.tid, r.flowOut));
  }
  if (r.flow !== 0 && flows.starts.has(r.flow)) {
    out.push(flowEvent("f", r.ts, dur, r.pid, r.tid, r.flow));
  }
}

/** The events for one record: a slice, instant or counter, plus its flow events if any. */
function recordEvents(r: TraceRecord, flows: FlowIds, out: TraceEvent[]): void {
  switch (r.ph) {
    case "X":
      sliceEvents(r, r.dur, flows, out);
      return;
    case "i":
      if (r.flow !== 0 && flows.ends.has(r.flow)) {
        // A submission instant: a short slice, so that the flow binds to it.
        out.push({
          name: r.name,
          cat: r.cat ?? "submit",
          ph: "X",
          ts: us(r.ts),
          dur: us(INSTANT_SUBMIT_NS),
          pid: r.pid,
          tid: r.tid,
          ...(r.args !== undefined ? { args: r.args } : {}),
        });
        out.push(flowEvent("s", r.ts, INSTANT_SUBMIT_NS, r.pid, r.tid, r.flow));
        return;
      }
      out.push({
        name: r.name,
        cat: r.cat ?? "event",
        ph: "i",
        ts: us(r.ts),
        pid: r.pid,
        tid: r.tid,
        s: "t",
        ...(r.args !== undefined ? { args: r.args } : {}),
      });
      return;
    case "C":
      out.push({
        name: r.name,
        cat: "counter",
        ph: "C",
        ts: us(r.ts),
        pid: r.pid,
        tid: 0,
        args: { value: r.value },
      });
      return;
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

/**
 * All trace events for a run, in output order: metadata first, then the log's records in
 * recording order (a submission's flow start follows its slice; an execution's flow end
 * follows its slice), then the slices still open at the end of the run.
 */
export function traceEvents(log: TraceLog, results: Results): TraceEvent[] {
  const out = metadata(log, results);
  const flows = flowIds(log);
  let counters = false;
  for (const r of log.records) {
    if (r.ph === "C") counters = true;
    recordEvents(r, flows, out);
  }
  for (const r of log.open.values()) {
    const open: TraceSlice = { ...r, args: { ...r.args, unfinished: 1 } };
    sliceEvents(open, Math.max(0, results.simulatedNs - r.ts), flows, out);
  }
  if (!counters) out.push(...seriesCounters(results));
  return out;
}

/** One event as JSON with a fixed key order (the order of {@link TraceEvent}). */
function eventJson(e: TraceEvent): string {
  const o: Record<string, unknown> = { name: e.name };
  if (e.cat !== undefined) o.cat = e.cat;
  o.ph = e.ph;
  if (e.ts !== undefined) o.ts = e.ts;
  if (e.dur !== undefined) o.dur = e.dur;
  o.pid = e.pid;
  if (e.tid !== undefined) o.tid = e.tid;
  if (e.s !== undefined) o.s = e.s;
  if (e.id !== undefined) o.id = e.id;
  if (e.bp !== undefined) o.bp = e.bp;
  if (e.args !== undefined) o.args = e.args;
  return JSON.stringify(o);
}

/**
 * The Chrome trace-event JSON for a run: `{"traceEvents": [...], "displayTimeUnit": "ns",
 * "otherData": {...}}`, one event per line. `otherData` carries the scenario, seed, schema
 * and how many records the log dropped at its cap.
 */
export function traceJson(log: TraceLog, results: Results): string {
  const events = traceEvents(log, results).map(eventJson);
  const other = JSON.stringify({
    scenario: results.scenario,
    file: results.file,
    seed: results.seed,
    schema: results.schema,
    simulatedNs: results.simulatedNs,
    droppedRecords: log.dropped,
  });
  return `{"traceEvents":[\n${
    events.join(",\n")
  }\n],\n"displayTimeUnit":"ns",\n"otherData":${other}}\n`;
}
