/**
 * Measurement windows: a VM's figures over a span of simulated time [from, to), computed from
 * the run's time-resolved records: each workload's execution span per engine (the vGPU's
 * counters), each completion the guest observed with its latency and each frame it showed
 * (the guest metrics), and each stretch the VM ran (the world). A window that reaches past
 * the present ends at the present. `share(vm, rcs, 2s..6s)` is the VM's busy time on the
 * engine within the window over the window's length; `fps` and `throughput` divide by the
 * time the VM ran within the window, as the whole-run figures do.
 */

import { ENGINE_NAMES, type EngineName, type MeasureWindow } from "../scenario.ts";
import type { WindowedValues } from "./expect.ts";
import type { VmRuntime, World } from "../world.ts";
import type { VgpuCounters } from "../gvt/counters.ts";
import { WL_RUNNING } from "../gvt/workload.ts";
import { type LatencySummary, summarizeLatency } from "./results.ts";
import type { CompletionSet } from "./history.ts";

/** Every vGPU the VM had (a stop and a new start gives it a new one). */
function countersOf(vm: VmRuntime): VgpuCounters[] {
  return vm.vgpu ? [...vm.earlierCounters, vm.vgpu.counters] : vm.earlierCounters;
}

/** Start of the workload of `vm` running on `engine` now, or -1. */
function runningSince(vm: VmRuntime, engine: number): number {
  const r = vm.host.gvt.dispatcher.running[engine];
  return r !== null && vm.vgpu !== null && r.vgpu === vm.vgpu && r.state === WL_RUNNING
    ? r.startTime
    : -1;
}

/** Time the engine ran the VM's workloads up to `t` (<= now), counting a running one. */
export function busyAt(vm: VmRuntime, engine: number, t: number): number {
  let busy = 0;
  for (const c of countersOf(vm)) busy += c.busyNs[engine];
  const s = runningSince(vm, engine);
  return s >= 0 && t > s ? busy + t - s : busy;
}

/** A window with its end resolved against the present, checked; throws a message. */
export function resolveWindow(win: MeasureWindow, now: number): { from: number; to: number } {
  const to = Math.min(win.to ?? now, now);
  if (win.from >= to) {
    throw new WindowError(
      `the window starts at ${win.from} ns, at or after its end (${to} ns; the run is at ${now} ns)`,
    );
  }
  return { from: win.from, to };
}

/** A window that cannot be measured (it lies after the run's end). */
export class WindowError extends Error {}

/** The figures of one VM over one window. */
export class VmWindow {
  /** Window start (ns). */
  readonly from: number;
  /** Window end (ns). */
  readonly to: number;

  /**
   * Resolves `win` against the world's present.
   * @param w the world
   * @param vm the VM
   * @param win the window
   */
  constructor(private readonly w: World, private readonly vm: VmRuntime, win: MeasureWindow) {
    const r = resolveWindow(win, w.sim.now);
    this.from = r.from;
    this.to = r.to;
  }

  /** Time the engine ran the VM's workloads within the window (ns). */
  busy(engine: number): number {
    let t = 0;
    for (const c of countersOf(this.vm)) t += c.busySpans[engine].overlap(this.from, this.to);
    const s = runningSince(this.vm, engine);
    if (s >= 0) t += Math.max(0, this.to - Math.max(s, this.from));
    return t;
  }

  /** Busy time over the window's length (0..1). */
  share(engine: number): number {
    return this.busy(engine) / (this.to - this.from);
  }

  /** Time the VM ran within the window (ns). */
  active(): number {
    return this.vm.activeIn(this.from, this.to, this.w.sim.now);
  }

  /** Frames shown within the window. */
  frames(): number {
    return this.vm.driver?.metrics.frameTimes.count(this.from, this.to) ?? 0;
  }

  /** The latency summary (with the count) of the completions the guest observed within the window. */
  latency(): LatencySummary {
    const c = this.vm.driver?.metrics.completions;
    return summarizeCompletions(
      c ? c.within(this.from, this.to) : { exact: [], folded: null, foldedSum: 0 },
    );
  }

  /** A per-second rate of `n` events over the time the VM ran in the window. */
  rate(n: number): number {
    const a = this.active();
    return a > 0 ? n / (a / 1e9) : 0;
  }
}

/** Result functions over a window, measured in a world ({@link WindowedValues}). */
export class WorldWindows implements WindowedValues {
  /**
   * Measures in a world.
   * @param w the world measured
   */
  constructor(private readonly w: World) {}

  /** {@inheritDoc WindowedValues.value} */
  value(fn: string, args: (string | number)[], window: MeasureWindow): number {
    const vm = this.w.vm(String(args[0]));
    if (!vm) throw new WindowError(`no VM named ${args[0]}`);
    const v = new VmWindow(this.w, vm, window);
    switch (fn) {
      case "share":
        return v.share(engineIndex(args[1] ?? "rcs"));
      case "busy":
        return v.busy(engineIndex(args[1]));
      case "latency":
        return v.latency()[String(args[1] ?? "p50") as keyof LatencySummary];
      case "frames":
        return v.frames();
      case "fps":
        return v.rate(v.frames());
      case "throughput":
        return v.rate(v.latency().count);
      default:
        throw new WindowError(`${fn}() has no window`);
    }
  }
}

/**
 * The latency summary of a window's completions: exact (nearest rank) when all of them are
 * still kept exactly, else from the folded buckets with the exact ones added (quantiles within
 * 3.1%, see core/metrics/history.ts).
 */
export function summarizeCompletions(c: CompletionSet): LatencySummary {
  const h = c.folded;
  if (h === null) return summarizeLatency(c.exact);
  let sum = c.foldedSum;
  for (const v of c.exact) {
    h.add(v);
    sum += v;
  }
  return {
    count: h.count,
    mean: Math.round(sum / h.count),
    p50: h.quantile(50),
    p90: h.quantile(90),
    p99: h.quantile(99),
    max: h.max,
  };
}

function engineIndex(name: string | number): number {
  const e = ENGINE_NAMES.indexOf(String(name) as EngineName);
  if (e < 0) throw new WindowError(`no engine ${name}`);
  return e;
}
