// The timing guards (tests/timing_guard.ts; run over every shipped scenario by
// scenarios_run_test.ts) reject a latency shorter than its execution and an early flip.
import assert from "node:assert/strict";
import type { TraceEvent } from "../cli/trace.ts";
import { DRIVER_THREAD } from "../core/metrics/trace.ts";
import { checkFlips, checkLatency, checkSeries, executions } from "./timing_guard.ts";
import type { Results } from "../core/metrics/results.ts";

const exec: TraceEvent = {
  name: "rcs workload",
  ph: "X",
  ts: 0.1,
  dur: 10,
  pid: 1,
  tid: 0,
  args: { vm: "a", queued_us: 0.1 },
};

Deno.test("timing guard: executions come from the VM's engine-thread workload slices", () => {
  const other = { ...exec, pid: 2 }, open = { ...exec, ts: 20, args: { unfinished: 1 } };
  assert.deepEqual(executions([exec, other, open], 1), [
    { submit: 0, start: 100, end: 10_100, done: true },
    { submit: 20_000, start: 20_000, end: Infinity, done: false },
  ]);
});

Deno.test("timing guard: a latency shorter than its execution fails, one as long passes", () => {
  const execs = executions([exec], 1);
  const lat = (v: number) => ({ count: 1, mean: v, p50: v, p90: v, p99: v, max: v });
  assert.throws(() => checkLatency("a", lat(400), execs), /shorter than the execution/);
  checkLatency("a", lat(10_000), execs);
});

Deno.test("timing guard: a flip before the end of earlier work fails, one after passes", () => {
  const execs = executions([exec], 1);
  const flip: TraceEvent = { name: "flip", ph: "i", ts: 0.2, pid: 1, tid: DRIVER_THREAD };
  assert.throws(() => checkFlips("a", [flip], 1, execs), /precedes the end/);
  assert.equal(checkFlips("a", [{ ...flip, ts: 10.1 }], 1, execs), 1);
});

Deno.test("timing guard: a period whose shares add up to more than 1 fails", () => {
  const series = (a: number, b: number) =>
    ({
      series: { periodNs: 1, t: [1], share: { a: [a], b: [b] }, queue: {} },
    }) as unknown as Results;
  checkSeries(series(0.6, 0.4));
  assert.throws(() => checkSeries(series(0.6, 0.5)), /add up to 1\.1/);
});
