/**
 * Guards of time-accurate execution over a run's Perfetto trace (`run --trace`) and its
 * results, used for every shipped scenario by scenarios_run_test.ts:
 *
 * - {@link checkLatency}: a VM's reported latency quantiles are never shorter than its own
 *   GPU executions: the k-th smallest latency is at least the k-th smallest execution slice of
 *   that VM (each request's latency covers its own execution, so the sorted lists dominate);
 * - {@link checkFlips}: a flip never precedes the completion of the work submitted before
 *   it: at every flip, each execution of that VM submitted earlier has already ended;
 * - {@link checkSeries}: the per-period render shares of all VMs never add up to more than 1.
 */
import assert from "node:assert/strict";
import type { TraceEvent } from "../cli/trace.ts";
import type { LatencySummary, Results } from "../core/metrics/results.ts";
import { DRIVER_THREAD } from "../core/metrics/trace.ts";

/** An execution on the GPU (ns): submitted (guest ELSP) at `submit`, ran [start, end). */
export interface Exec {
  submit: number;
  start: number;
  end: number;
  done: boolean;
}

/** Trace microseconds -> integer ns. */
const ns = (us: number) => Math.round(us * 1000);

/** The executions of VM process `pid`: its engine-thread workload slices. */
export function executions(events: TraceEvent[], pid: number): Exec[] {
  const out: Exec[] = [];
  for (const e of events) {
    if (e.ph !== "X" || e.pid !== pid || (e.tid ?? 0) > 3 || !e.name.includes("workload")) continue;
    const start = ns(e.ts!), queued = ns(Number(e.args?.queued_us ?? 0));
    const unfinished = e.args?.unfinished === 1;
    out.push({
      submit: start - queued,
      start,
      end: unfinished ? Infinity : start + ns(e.dur!),
      done: !unfinished && !e.name.includes("("),
    });
  }
  return out;
}

/** Asserts that a VM's latency quantiles are at least its executions of the same rank. */
export function checkLatency(vm: string, lat: LatencySummary, execs: Exec[]): void {
  if (lat.count === 0) return;
  const d = execs.filter((x) => x.done).map((x) => x.end - x.start).sort((a, b) => a - b);
  assert.ok(d.length > 0, `${vm}: ${lat.count} latencies but no completed execution`);
  const quantiles: [string, number, number][] = [
    ["p50", 50, lat.p50],
    ["p90", 90, lat.p90],
    ["p99", 99, lat.p99],
    ["max", 100, lat.max],
  ];
  for (const [name, p, value] of quantiles) {
    const rank = Math.min(lat.count, Math.max(1, Math.ceil((p / 100) * lat.count)));
    const bound = d[Math.min(d.length, rank) - 1];
    assert.ok(
      value >= bound,
      `${vm}: latency ${name} ${value} ns is shorter than the execution of rank ${rank} (${bound} ns)`,
    );
  }
}

/** Asserts that every flip of VM `pid` comes after the end of all it submitted before. */
export function checkFlips(vm: string, events: TraceEvent[], pid: number, execs: Exec[]): number {
  let flips = 0;
  for (const e of events) {
    if (e.ph !== "X" && e.ph !== "i") continue;
    if (e.pid !== pid || e.tid !== DRIVER_THREAD || e.name !== "flip") continue;
    flips++;
    const t = ns(e.ts!);
    for (const x of execs) {
      if (x.submit < t) {
        assert.ok(
          x.end <= t,
          `${vm}: flip at ${t} ns precedes the end (${x.end} ns) of work submitted at ${x.submit} ns`,
        );
      }
    }
  }
  return flips;
}

/** Asserts that in every period of the share series the VMs' shares add up to at most 1. */
export function checkSeries(results: Results): void {
  const s = results.series, shares = Object.values(s.share);
  for (let k = 0; k < s.t.length; k++) {
    let sum = 0;
    for (const v of shares) sum += v[k];
    assert.ok(sum <= 1 + 1e-3, `period ending ${s.t[k]} ns: the render shares add up to ${sum}`);
  }
}

/** Runs the guards for every VM of a run; returns the latencies and flips checked. */
export function checkTiming(
  events: TraceEvent[],
  results: Results,
): { latencies: number; flips: number } {
  let latencies = 0, flips = 0;
  results.vms.forEach((vm, i) => {
    const execs = executions(events, i + 1);
    checkLatency(vm.name, vm.latency, execs);
    flips += checkFlips(vm.name, events, i + 1, execs);
    latencies += vm.latency.count;
  });
  checkSeries(results);
  return { latencies, flips };
}
