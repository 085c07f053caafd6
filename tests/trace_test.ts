import assert from "node:assert/strict";
import { DRIVER_THREAD, GPU_PID, TraceLog } from "../core/metrics/trace.ts";
import { traceJson } from "../cli/trace.ts";
import { demoResults, demoTrace, FIXTURE_SAMPLES } from "./fixtures/results_demo.ts";

interface Ev {
  name: string;
  cat?: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  s?: string;
  id?: number;
  bp?: string;
  args?: Record<string, number | string>;
}

function parse(
  text: string,
): { traceEvents: Ev[]; displayTimeUnit: string; otherData: Record<string, unknown> } {
  return JSON.parse(text);
}

const results = demoResults();
const log = demoTrace();
const text = traceJson(log, results);
const trace = parse(text);
const events = trace.traceEvents;

Deno.test("trace: top level is a Chrome trace-event object in ns display units", () => {
  assert.ok(Array.isArray(events));
  assert.equal(trace.displayTimeUnit, "ns");
  assert.deepEqual(Object.keys(trace), ["traceEvents", "displayTimeUnit", "otherData"]);
  assert.equal(trace.otherData.scenario, "four-tenants");
  assert.equal(trace.otherData.droppedRecords, 0);
  assert.ok(text.endsWith("}\n"));
});

Deno.test("trace: only known phases, every non-metadata event has a numeric timestamp", () => {
  const phases = new Set(events.map((e) => e.ph));
  for (const ph of phases) assert.ok(["M", "X", "i", "C", "s", "f"].includes(ph), ph);
  for (const ph of ["M", "X", "i", "C", "s", "f"]) assert.ok(phases.has(ph), `missing ${ph}`);
  for (const e of events) {
    assert.equal(typeof e.name, "string");
    assert.ok(Number.isInteger(e.pid));
    if (e.ph === "M") continue;
    assert.equal(typeof e.ts, "number");
    assert.ok(e.ts! >= 0);
  }
});

Deno.test("trace: timestamps and durations are the records' ns divided by 1000", () => {
  // Submission instants (flow starts) are written as short slices on the driver thread.
  const slices = events.filter((e) => e.ph === "X" && e.tid !== DRIVER_THREAD);
  const recSlices = log.records.filter((r) => r.ph === "X");
  assert.equal(slices.length, recSlices.length);
  recSlices.forEach((r, i) => {
    assert.equal(slices[i].ts, r.ts / 1000);
    assert.equal(slices[i].dur, r.dur / 1000);
    assert.equal(slices[i].name, r.name);
    assert.equal(slices[i].pid, r.pid);
    assert.equal(slices[i].tid, r.tid);
  });
  // Fractional microseconds survive (the fixture's times are not multiples of 1000 ns).
  assert.ok(slices.some((e) => !Number.isInteger(e.ts)));
  const instants = events.filter((e) => e.ph === "i");
  const recInstants = log.records.filter((r) => r.ph === "i" && r.flow === 0);
  assert.equal(instants.length, recInstants.length);
  recInstants.forEach((r, i) => assert.equal(instants[i].ts, r.ts / 1000));
});

Deno.test("trace: one exact microsecond conversion", () => {
  const l = new TraceLog();
  l.slice(1_234_567, 2_001, 1, 0, "batch", 0);
  l.instant(999, 1, DRIVER_THREAD, "trap mmio");
  const t = parse(traceJson(l, results)).traceEvents;
  const x = t.find((e) => e.ph === "X")!;
  assert.equal(x.ts, 1234.567);
  assert.equal(x.dur, 2.001);
  assert.equal(t.find((e) => e.ph === "i")!.ts, 0.999);
});

Deno.test("trace: processes named from results.vms, engines and driver threads named", () => {
  const meta = events.filter((e) => e.ph === "M");
  const procName = (pid: number) =>
    meta.find((e) => e.name === "process_name" && e.pid === pid)?.args?.name;
  assert.equal(procName(GPU_PID), "GPU");
  results.vms.forEach((vm, i) => assert.equal(procName(i + 1), vm.name));
  for (let pid = 0; pid <= results.vms.length; pid++) {
    const sort = meta.find((e) => e.name === "process_sort_index" && e.pid === pid);
    assert.equal(sort?.args?.sort_index, pid);
    const names = ["RCS", "BCS", "VCS", "VECS"];
    names.forEach((n, tid) => {
      const th = meta.find((e) => e.name === "thread_name" && e.pid === pid && e.tid === tid);
      assert.equal(th?.args?.name, n);
    });
  }
  for (let pid = 1; pid <= results.vms.length; pid++) {
    const th = meta.find((e) =>
      e.name === "thread_name" && e.pid === pid && e.tid === DRIVER_THREAD
    );
    assert.equal(th?.args?.name, "driver");
  }
  // Metadata comes first.
  const firstOther = events.findIndex((e) => e.ph !== "M");
  assert.ok(events.slice(firstOther).every((e) => e.ph !== "M"));
});

Deno.test("trace: slices, thread-scoped instants for traps, interrupts, failsafe and reset", () => {
  for (const e of events.filter((e) => e.ph === "i")) assert.equal(e.s, "t");
  const names = events.filter((e) => e.ph === "i").map((e) => e.name);
  for (const n of ["trap mmio ELSP", "irq context_switch", "failsafe", "reset engine rcs"]) {
    assert.ok(names.includes(n), n);
  }
  for (const e of events.filter((e) => e.ph === "X")) {
    assert.ok(e.dur! > 0);
    assert.ok((e.tid! >= 0 && e.tid! <= 3) || e.tid === DRIVER_THREAD);
  }
});

Deno.test("trace: flows pair a submission (instant written as a slice) with its execution", () => {
  const starts = events.filter((e) => e.ph === "s");
  const ends = events.filter((e) => e.ph === "f");
  const flowIds = new Set<number>();
  for (const r of log.records) if (r.ph !== "C" && r.flow !== 0) flowIds.add(r.flow);
  assert.ok(starts.length > 100);
  assert.equal(starts.length, flowIds.size);
  assert.equal(ends.length, flowIds.size);
  const endById = new Map(ends.map((e) => [e.id!, e]));
  assert.equal(endById.size, ends.length, "flow end ids are unique");
  for (const s of starts) {
    const f = endById.get(s.id!);
    assert.ok(f, `flow ${s.id} has an end`);
    assert.equal(f.bp, "e");
    assert.equal(f.name, s.name);
    assert.equal(f.cat, s.cat);
    assert.ok(f.ts! >= s.ts!);
    // Flows bind to slices: the start lies inside the submission slice (an instant written
    // as a 1 us slice), the end inside the execution slice, both strictly after its start.
    const inside = (ev: Ev) => (e: Ev) =>
      e.ph === "X" && e.pid === ev.pid && e.tid === ev.tid && e.ts! < ev.ts! &&
      ev.ts! < e.ts! + e.dur!;
    const sub = events.find(inside(s));
    assert.ok(sub, `flow ${s.id} start inside a slice`);
    assert.equal(sub.dur, 1);
    assert.ok(events.some((e) => e.ph === "X" && e.name === sub.name && e.ts === sub.ts));
    assert.ok(events.find(inside(f)), `flow ${f.id} end inside a slice`);
  }
  // The submission instants are not also written as instants.
  assert.ok(!events.some((e) => e.ph === "i" && e.name.startsWith("submit")));
});

Deno.test("trace: counters come from the series when the log has none", () => {
  const counters = events.filter((e) => e.ph === "C");
  assert.equal(counters.length, FIXTURE_SAMPLES * results.vms.length * 2);
  const share = counters.filter((e) => e.name === "GPU share" && e.pid === 1);
  assert.equal(share.length, FIXTURE_SAMPLES);
  assert.equal(share[0].ts, results.series.t[0] / 1000);
  assert.equal(share[0].args?.value, results.series.share.desktop[0]);
  const queue = counters.filter((e) => e.name === "queue depth" && e.pid === 3);
  assert.equal(queue[7].args?.value, results.series.queue.cad[7]);
});

Deno.test("trace: counters recorded in the log are written as they are", () => {
  const l = demoTrace({ counters: true, workloads: 10 });
  const t = parse(traceJson(l, results)).traceEvents.filter((e) => e.ph === "C");
  const rec = l.records.filter((r) => r.ph === "C");
  assert.equal(t.length, rec.length);
  rec.forEach((r, i) => {
    assert.equal(t[i].name, r.name);
    assert.equal(t[i].pid, r.pid);
    assert.equal(t[i].args?.value, r.ph === "C" ? r.value : NaN);
  });
});

Deno.test("trace: deterministic bytes and key order", () => {
  assert.equal(traceJson(demoTrace(), demoResults()), text);
  const x = events.find((e) => e.ph === "X")!;
  assert.deepEqual(Object.keys(x), ["name", "cat", "ph", "ts", "dur", "pid", "tid"]);
  const i = events.find((e) => e.ph === "i")!;
  assert.deepEqual(Object.keys(i), ["name", "cat", "ph", "ts", "pid", "tid", "s"]);
  const f = events.find((e) => e.ph === "f")!;
  assert.deepEqual(Object.keys(f), ["name", "cat", "ph", "ts", "pid", "tid", "id", "bp"]);
});

Deno.test("trace: an unnamed extra process and a capped log", () => {
  const l = new TraceLog(3);
  l.instant(10, 9, 2, "a");
  l.instant(20, 9, 5, "b");
  l.instant(30, 1, 0, "c");
  l.instant(40, 1, 0, "d");
  const t = parse(traceJson(l, results));
  const meta = t.traceEvents.filter((e) => e.ph === "M");
  assert.equal(
    meta.find((e) => e.name === "process_name" && e.pid === 9)?.args?.name,
    "process 9",
  );
  assert.equal(
    meta.find((e) => e.name === "thread_name" && e.pid === 9 && e.tid === 5)?.args?.name,
    "thread 5",
  );
  assert.equal(t.otherData.droppedRecords, 1);
  assert.equal(t.traceEvents.filter((e) => e.ph === "i").length, 3);
});
