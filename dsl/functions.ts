/**
 * The names the checker knows: result functions usable in `expect` (with arity, argument
 * kinds and result unit; the run-time evaluator implements exactly this list), states,
 * report tables, and the value sets of enumerated settings.
 */

import { PLATFORM_IDS } from "../core/hw/platform.ts";
import type { MisbehaviourKind, PolicyName } from "../core/scenario.ts";

/** What a function argument must name. */
export type ArgKind =
  | "vm" // a declared VM name
  | "engine" // rcs | bcs | vcs | vecs (present on the host)
  | "percentile" // p50 | p90 | p99 | max
  | "trap_kind" // mmio | gtt | pagetrack | cfg
  | "string"; // a quoted counter name

/** The unit of a function's result (expectation literals are converted to match). */
export type ResultUnit =
  | "ns" // time
  | "fraction" // 0..1
  | "percent" // 0..100
  | "fps" // frames per second
  | "per_s" // events per second
  | "count" // plain number
  | "state"; // a vGPU state name (only with `is`)

/** A result function of the `expect` language. */
export interface ResultFunction {
  /** Name as written. */
  name: string;
  /** Argument kinds in order. */
  args: readonly ArgKind[];
  /** How many leading arguments are required (the rest are optional). */
  minArgs: number;
  /** Result unit. */
  unit: ResultUnit;
  /** What it measures (for docs and `--help`). */
  doc: string;
  /** Takes a measurement window as its last argument (`share(vm, rcs, 2s..6s)`). */
  window?: boolean;
}

/** Every result function, the contract with the evaluator. */
export const RESULT_FUNCTIONS: readonly ResultFunction[] = [
  {
    name: "fps",
    args: ["vm"],
    minArgs: 1,
    unit: "fps",
    doc: "frames (flips) per second over the time the VM ran (or a window of it)",
    window: true,
  },
  {
    name: "frames",
    args: ["vm"],
    minArgs: 1,
    unit: "count",
    doc: "frames (flips) completed",
    window: true,
  },
  {
    name: "share",
    args: ["vm", "engine"],
    minArgs: 1,
    unit: "fraction",
    doc: "fraction (0..1) of the simulated time (or of a window) the engine ran the VM's " +
      "workloads; the engine defaults to rcs",
    window: true,
  },
  {
    name: "busy",
    args: ["vm", "engine"],
    minArgs: 2,
    unit: "ns",
    doc: "time the engine spent running the VM's workloads",
    window: true,
  },
  {
    name: "latency",
    args: ["vm", "percentile"],
    minArgs: 2,
    unit: "ns",
    doc: "request latency from the guest's ELSP write to the completion its interrupt " +
      "handler observes, percentile (p50 | p90 | p99 | max)",
    window: true,
  },
  {
    name: "traps",
    args: ["vm", "trap_kind"],
    minArgs: 1,
    unit: "count",
    doc: "trapped accesses, all kinds or one of mmio | gtt | pagetrack | cfg",
  },
  {
    name: "throughput",
    args: ["vm"],
    minArgs: 1,
    unit: "per_s",
    doc: "batches completed per second the VM ran",
    window: true,
  },
  {
    name: "violations",
    args: [],
    minArgs: 0,
    unit: "count",
    doc: "isolation-invariant violations (a vGPU touching memory outside its slices)",
  },
  {
    name: "downtime",
    args: ["vm"],
    minArgs: 1,
    unit: "ns",
    doc: "time the VM stood still in its live migrations (vCPU stop to first instruction " +
      "on the target host), summed over those that completed",
  },
  {
    name: "counter",
    args: ["vm", "string"],
    minArgs: 2,
    unit: "count",
    doc: "a per-vGPU counter by name",
  },
  {
    name: "gcounter",
    args: ["string"],
    minArgs: 1,
    unit: "count",
    doc: "a global counter by name",
  },
  {
    name: "native_pct",
    args: ["vm"],
    minArgs: 1,
    unit: "percent",
    doc: "throughput as a percentage of a native run of the same workload",
  },
  {
    name: "state",
    args: ["vm"],
    minArgs: 1,
    unit: "state",
    doc: "vGPU state at the end of the run; only in `state(vm) is STATE`",
  },
];

/** Finds a result function by name. */
export function findFunction(name: string): ResultFunction | undefined {
  return RESULT_FUNCTIONS.find((f) => f.name === name);
}

/** vGPU states `state(vm) is ...` may test. */
export const VM_STATES: readonly string[] = [
  "running",
  "paused",
  "stopped",
  "failsafe",
  "crashed",
  "idle",
  "failed", // the guest driver could not boot (e.g. no PVINFO)
  "rejected", // no vGPU could be created for it
];

/** Latency percentiles. */
export const PERCENTILES: readonly string[] = ["p50", "p90", "p99", "max"];

/** Trap kinds for `traps(vm, kind)`. */
export const TRAP_KINDS: readonly string[] = ["mmio", "gtt", "pagetrack", "cfg"];

/** Tables `report { tables ... }` may ask for. */
export const REPORT_TABLES: readonly string[] = [
  "vms",
  "engines",
  "traps",
  "scheduler",
  "scanner",
  "shadow",
  "irq",
  "expects",
  "migration",
];

/** Scheduler policies. */
export const POLICIES: readonly PolicyName[] = [
  "gvt",
  "gvirt-rr",
  "best-effort",
  "equal-share",
  "fixed-share",
];

/** Scheduler parameters (all times). */
export const SCHEDULER_PARAMS: readonly string[] = [
  "timeslice",
  "balance",
  "credit_reset",
  "startup",
];

/** Misbehaviour kinds. */
export const MISBEHAVIOURS: readonly MisbehaviourKind[] = [
  "ggtt_out_of_slice",
  "priv_reg_write",
  "bad_address",
  "ring_garbage",
  "random_mmio",
  "rejected_command",
  "insufficient_resources",
];

/** Built-in hypervisor backends, the files in plugins/ (others are plugin paths in quotes). */
export const HYPERVISORS: readonly string[] = ["kvm", "xen", "acrn"];

/** GPU profiles a host may name (core/hw/platform.ts). */
export const GPU_PROFILES: readonly string[] = PLATFORM_IDS;

/** Fault actions. */
export const FAULT_ACTIONS: readonly string[] = ["error", "throw", "wrong", "delay"];

/** Timeline actions that take a VM name (`at 2s pause batch`). */
export const VM_ACTIONS: readonly string[] = ["start", "stop", "pause", "resume", "reset"];

/** Settings of a `vm` block (besides `type` and `run`). */
export const VM_SETTINGS: readonly string[] = ["weight", "start", "vcpus", "memory"];

/** Settings of a `type` declaration. */
export const TYPE_SETTINGS: readonly string[] = [
  "aperture",
  "hidden",
  "fences",
  "weight",
  "resolution",
];

/** Command kinds of a `batch { ... }` mix. */
export const MIX_KINDS: readonly string[] = [
  "draw",
  "blit",
  "fill",
  "media",
  "compute",
  "store",
  "lri",
  "srm",
  "lrm",
  "lrr",
  "dwords",
];

/** What `wait` may wait for. */
export const WAIT_CONDITIONS: readonly string[] = ["completion", "vblank"];

/** Distributions a count or time may be drawn from, with their argument counts. */
export const DISTRIBUTIONS: Readonly<Record<string, number>> = { uniform: 2, exp: 1, normal: 2 };

/** Words a switch setting accepts. */
export const SWITCH_WORDS: readonly string[] = ["on", "off", "true", "false", "yes", "no"];

/** Settings of a `report` block. */
export const REPORT_SETTINGS: readonly string[] = ["tables", "metrics", "window", "period"];

/** Options of a timeline `migrate VM to HOST` (`bandwidth 1GiB hashing off` ...). */
export const MIGRATE_OPTIONS: readonly string[] = [
  "bandwidth",
  "hashing",
  "max_downtime",
  "max_rounds",
  "hash_cost",
];

/** Timeline actions besides `fault` and `misbehave`. */
export const TIMELINE_ACTIONS: readonly string[] = [...VM_ACTIONS, "weight", "policy", "migrate"];

/** Words a switch or a boolean backend parameter may take, and what each means. */
export const BOOL_WORDS: Readonly<Record<string, boolean>> = {
  on: true,
  off: false,
  true: true,
  false: false,
  yes: true,
  no: false,
};
