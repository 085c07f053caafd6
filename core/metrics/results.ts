/**
 * The results of one run: plain, versioned JSON data (documented in docs/results.md).
 * Nothing here depends on wall-clock time, so one scenario and seed give byte-identical
 * results on any machine.
 */

import type { EngineName } from "../scenario.ts";

/** Bumped on any incompatible change to {@link Results}. */
export const RESULTS_SCHEMA = "gvtsim.results/1";

/** Latency percentiles in ns over completed submissions. */
export interface LatencySummary {
  /** Samples. */
  count: number;
  /** Mean (ns). */
  mean: number;
  /** Median (ns). */
  p50: number;
  /** 90th percentile (ns). */
  p90: number;
  /** 99th percentile (ns). */
  p99: number;
  /** Maximum (ns). */
  max: number;
}

/** Per-engine use by one VM. */
export interface EngineUse {
  /** Time this VM's workloads ran on the engine (ns). */
  busyNs: number;
  /** busyNs over the simulated time (0..1). */
  share: number;
}

/** One VM's results. */
export interface VmResult {
  /** VM name. */
  name: string;
  /** vGPU type. */
  type: string;
  /** Hypervisor backend name. */
  hypervisor: string;
  /** Final state: running, paused, stopped, failsafe, crashed, idle. */
  state: string;
  /** Why it entered failsafe / crashed, if it did. */
  stateReason?: string;
  /** Effective scheduler weight at the end. */
  weight: number;
  /** vGPU id (0 if never created). */
  vgpuId: number;
  /** Per engine use. */
  engines: Record<EngineName, EngineUse>;
  /** Flips completed. */
  frames: number;
  /** Frames per second over the time the VM ran. */
  fps: number;
  /** Batches submitted by the guest. */
  submitted: number;
  /** Batches completed (interrupt seen by the guest). */
  completed: number;
  /** Completed batches per simulated second the VM ran. */
  throughput: number;
  /** Submission -> completion latency. */
  latency: LatencySummary;
  /** Trapped accesses by kind (mmio, gtt, pagetrack, cfg) and total. */
  traps: Record<string, number>;
  /** Mediator counters (scanner, shadow, scheduler, irq, failsafe ...). */
  counters: Record<string, number>;
  /** Throughput as % of a native run of the same workload (when computed). */
  nativePct?: number;
  /** The host it runs on at the end (multi-host scenarios only). */
  host?: string;
}

/** One host of a multi-host scenario. */
export interface HostResult {
  /** Host name. */
  name: string;
  /** GPU profile. */
  gpu: string;
  /** Hypervisor backend name. */
  hypervisor: string;
  /** VMs on it at the end. */
  vms: string[];
  /** Engine utilisation of its GPU (0..1). */
  engines: Record<string, { busyNs: number; utilization: number }>;
  /** Its isolation checker's violations. */
  violations: number;
  /** vGPU switches of its scheduler. */
  switches: number;
  /** Time its scheduler waited for engines to drain before a switch (ns). */
  drainWaitNs: number;
  /** Commands its GPU executed. */
  commands: number;
  /** Interrupts (MSI) its GPU raised. */
  msis: number;
}

/** One pre-copy round of a live migration. */
export interface MigrationRoundResult {
  /** Round number (1-based). */
  round: number;
  /** Start (ns). */
  start: number;
  /** End (ns). */
  end: number;
  /** Pages (4 KiB) sent. */
  pages: number;
}

/** One live migration (`migrate VM to HOST`). */
export interface MigrationResult {
  /** VM name. */
  vm: string;
  /** Source host. */
  from: string;
  /** Target host. */
  to: string;
  /** "done", "failed", or "running" when the run ended first. */
  outcome: string;
  /** Why it failed (or what the target could not restore). */
  reason?: string;
  /** When it was asked for (ns). */
  start: number;
  /** When the VM ran again on the target or the migration gave up (ns; -1: under way). */
  end: number;
  /** VM stopped: vCPU stop to first instruction on the target (ns). */
  downtimeNs: number;
  /** Stop-and-copy began (ns; -1: not reached). */
  stoppedAt: number;
  /** The engines finished the vGPU's running work (ns; -1: not reached). */
  quiescedAt: number;
  /** Pre-copy rounds. */
  rounds: MigrationRoundResult[];
  /** Pages sent in all. */
  pagesSent: number;
  /** ... in pre-copy rounds. */
  precopyPages: number;
  /** ... at stop-and-copy (CPU-dirty and GPU-changed pages). */
  stopPages: number;
  /** CPU-dirty pages sent at stop-and-copy. */
  stopDirtyPages: number;
  /** GPU-reachable guest pages at stop-and-copy. */
  gpuPages: number;
  /** GPU-reachable pages hashed at stop-and-copy (hashing on). */
  gpuHashed: number;
  /** GPU-reachable pages resent at stop-and-copy (changed hash; all of them without hashing). */
  gpuResent: number;
  /** Bytes of vGPU device state sent. */
  stateBytes: number;
  /** Queued workloads that moved with the vGPU. */
  queuedWorkloads: number;
  /** Pages whose target copy differed from the source at the switch-over (0: complete). */
  stalePages: number;
  /** Hashing of GPU-reachable pages (gMig's software dirty page) was on. */
  hashing: boolean;
  /** Link bandwidth (bytes/s). */
  bandwidth: number;
  /** The source backend logged dirty pages natively (else every page counted as dirty). */
  nativeDirtyLog: boolean;
}

/** One evaluated expectation. */
export interface ExpectationResult {
  /** File. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** The expectation's source text. */
  text: string;
  /** Did it hold? */
  pass: boolean;
  /** The actual value (number, or state name). */
  actual: number | string;
  /** What it was compared with, in words. */
  expected: string;
  /** Unit of `actual` when it is not a plain number ("ns", "fraction", "fps" ...). */
  unit?: string;
}

/** A sampled time series (every `periodNs`). */
export interface Series {
  /** Sampling period (ns). */
  periodNs: number;
  /** Sample times (ns). */
  t: number[];
  /** Per VM: share of the render engine (0..1) in each period. */
  share: Record<string, number[]>;
  /** Per VM: queued workloads at each sample. */
  queue: Record<string, number[]>;
}

/** One scheduler switch, for the timeline chart and the trace. */
export interface SwitchRecord {
  /** Time (ns). */
  t: number;
  /** VM name switched to ("idle" for the idle vGPU). */
  to: string;
}

/** Everything a run reports. */
export interface Results {
  /** {@link RESULTS_SCHEMA}. */
  schema: string;
  /** Scenario name. */
  scenario: string;
  /** Scenario file. */
  file: string;
  /** Seed. */
  seed: number;
  /** Simulated time (ns). */
  simulatedNs: number;
  /**
   * The measurement window of the per-VM figures (engines, frames, fps, throughput,
   * latency) when the scenario set one (`warmup`, `report { window }`); absent: the whole
   * run. Counters, `submitted` and `completed` always cover the whole run.
   */
  window?: { from: number; to: number };
  /** Hypervisor backend: name, which ops are native, its counters and errors. */
  hypervisor: {
    name: string;
    nativeOps: string[];
    fallbackOps: string[];
    counters: Record<string, number>;
    errors: { plugin: string; op: string; vm: string; message: string }[];
    faultsInjected: number;
    /**
     * Each injected fault (the first 4096; `faultsInjected` counts all): op, VM (`-` for ops
     * not tied to a vGPU), action, time (ns) and where the rule was written.
     */
    faults: { op: string; vm: string; action: string; t: number; rule: string }[];
  };
  /** Scheduler. */
  scheduler: {
    policy: string;
    switches: number;
    drainWaitNs: number;
    counters: Record<string, number>;
  };
  /** Physical GPU. */
  gpu: {
    /** Its platform profile (`host broadwell | skylake | kabylake | coffeelake`). */
    platform: string;
    engines: Record<string, { busyNs: number; utilization: number }>;
    counters: Record<string, number>;
  };
  /** Per VM. */
  vms: VmResult[];
  /** Mediator-wide counters. */
  counters: Record<string, number>;
  /** Isolation invariant. */
  isolation: { checked: boolean; violations: number };
  /** Expectations in file order. */
  expectations: ExpectationResult[];
  /** Time series for charts and CSV. */
  series: Series;
  /** Scheduler switches (capped). */
  switches: SwitchRecord[];
  /** The hosts, when the scenario declares several (the figures above are the first host's). */
  hosts?: HostResult[];
  /** Live migrations in the order they started (multi-host scenarios). */
  migrations?: MigrationResult[];
}

/** Percentiles of unsorted samples (ns); sorts a copy. */
export function summarizeLatency(
  samples: ArrayLike<number>,
  count = samples.length,
): LatencySummary {
  if (count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const s = Float64Array.from({ length: count }, (_, i) => samples[i]).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += s[i];
  const pct = (p: number) => s[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)];
  return {
    count,
    mean: Math.round(sum / count),
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: s[count - 1],
  };
}
