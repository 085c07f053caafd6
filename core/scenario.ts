/**
 * The scenario as plain typed data: what the DSL checker produces and what core/ runs.
 * Every time is an integer number of nanoseconds, every size a number of bytes.
 * Every node that came from a source file carries its {@link Loc} so run-time problems
 * (a failed expectation, a fault rule) can be reported at their line.
 */

/** A source location (1-based line and column). */
export interface Loc {
  /** File path as given by the user. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

/** Engine names as the DSL writes them. */
export type EngineName = "rcs" | "bcs" | "vcs" | "vecs";

/** All engine names in hardware order (RCS=0, BCS=1, VCS=2, VECS=3). */
export const ENGINE_NAMES: readonly EngineName[] = ["rcs", "bcs", "vcs", "vecs"];

/** A number drawn from a seeded distribution each time it is used. */
export type Dist =
  | { kind: "const"; value: number }
  | { kind: "uniform"; lo: number; hi: number }
  | { kind: "exp"; mean: number }
  | { kind: "normal"; mean: number; sd: number };

/** The physical host. */
export interface HostSpec {
  /** GPU profile name, e.g. "skylake" (gen9 GT2). */
  gpu: string;
  /** Mappable aperture size (bytes); default 512 MiB. */
  aperture: number;
  /** Total GGTT address space (bytes); default 4 GiB. */
  ggtt: number;
  /** Physical fence registers; default 32. */
  fences: number;
  /** Engines present. */
  engines: EngineName[];
  /** Aperture / hidden / fences the host keeps for itself (defaults 128 MiB, 384 MiB, 4). */
  hostAperture: number;
  /** Hidden graphics memory the host keeps (bytes). */
  hostHidden: number;
  /** Fences the host keeps. */
  hostFences: number;
  /** Display refresh rate in Hz (default 60). */
  refreshHz: number;
  /** Out-of-sync PPGTT pages (gHyvi); off by default as in the kernel. */
  outOfSync: boolean;
  /** Check the isolation invariant during the run. */
  invariants: boolean;
  /** Scan non-privileged (PPGTT) batch buffers too. */
  scanPpgttBatches: boolean;
  /**
   * Blits move their pixels (absent: on). Off: a blit takes the same time, walks and checks
   * the same pages and faults alike, but copies nothing (for runs whose surfaces nobody reads).
   */
  blitData?: boolean;
  /**
   * gScale mode (beyond upstream; absent: off): private per-vGPU GTTs copied into the GGTT
   * when a vGPU runs, ladder mapping, a fence pool, shared slices (core/gvt/gscale.ts).
   */
  gscale?: boolean;
  /** Per-command cost overrides for the GPU cost model: command name -> ns. */
  commandCosts: Record<string, number>;
}

/** A host as a scenario without `host` settings gets it (Skylake GT2 defaults, docs/domain.md). */
export function defaultHostSpec(): HostSpec {
  const MiB = 1024 * 1024;
  return {
    gpu: "skylake",
    aperture: 512 * MiB,
    ggtt: 4096 * MiB,
    fences: 32,
    engines: [...ENGINE_NAMES],
    hostAperture: 128 * MiB,
    hostHidden: 384 * MiB,
    hostFences: 4,
    refreshHz: 60,
    outOfSync: false,
    invariants: true,
    scanPpgttBatches: false,
    commandCosts: {},
  };
}

/** A fault injected into one backend op. */
export interface FaultRule {
  /** MPT op name, e.g. "dmaMapGuestPage". */
  op: string;
  /** VM name it applies to, or undefined for all VMs. */
  vm?: string;
  /** What the op does instead of its normal work. */
  action: "error" | "throw" | "wrong" | "delay";
  /** Extra time for "delay" (ns). */
  delay?: number;
  /** Active from this simulated time on (ns). */
  at?: number;
  /** Active once the op has been called this many times. */
  afterCalls?: number;
  /** How many calls it affects (undefined: all). */
  count?: number;
  /** Where it was written. */
  loc: Loc;
}

/** The hypervisor backend and its settings. */
export interface HypervisorSpec {
  /** Built-in backend name (a file in plugins/) or a plugin path / file URL. */
  name: string;
  /** Backend parameters (numbers are ns for times, bytes for sizes). */
  params: Record<string, number | string | boolean>;
  /** Cost-model overrides: cost name -> ns. */
  costs: Record<string, number>;
  /** Fault-injection rules. */
  faults: FaultRule[];
  /** Where it was declared. */
  loc: Loc;
}

/** Scheduler policy names. */
export type PolicyName = "gvt" | "gvirt-rr" | "best-effort" | "equal-share" | "fixed-share";

/** The vGPU scheduler. */
export interface SchedulerSpec {
  /** Policy. */
  policy: PolicyName;
  /** Policy parameters, e.g. `timeslice` (ns), `balance` (ns). */
  params: Record<string, number>;
}

/** A vGPU type (docs/domain.md section 2). */
export interface VgpuTypeSpec {
  /** e.g. "V5_4". */
  name: string;
  /** Aperture per instance (bytes). */
  aperture: number;
  /** Hidden memory per instance (bytes). */
  hidden: number;
  /** Fences per instance. */
  fences: number;
  /** Scheduler weight. */
  weight: number;
  /** Virtual display resolution. */
  width: number;
  /** Virtual display height. */
  height: number;
}

/** Guest misbehaviour kinds; each must end in failsafe. */
export type MisbehaviourKind =
  | "ggtt_out_of_slice" // GGTT writes outside its slice
  | "priv_reg_write" // MI_LOAD_REGISTER_IMM to a non-whitelisted register in a batch
  | "bad_address" // MI_STORE_DATA_IMM to a graphics address outside its slices
  | "ring_garbage" // undecodable dwords in the ring
  | "random_mmio" // writes to random BAR0 offsets
  | "rejected_command" // a command the scanner always rejects (e.g. MI_UPDATE_GTT)
  | "insufficient_resources"; // writes PVINFO rsv5

/** Counts of each kind of command in one batch. */
export interface CommandMix {
  /** 3DPRIMITIVE draws. */
  draw: Dist;
  /** XY blits (really copy bytes). */
  blit: Dist;
  /** Media object / walker commands. */
  media: Dist;
  /** GPGPU walker commands. */
  compute: Dist;
  /** MI_STORE_DATA_IMM writes. */
  store: Dist;
  /**
   * XY_COLOR_BLT fills of the VM's render target (its display resolution, 32 bpp), each with a
   * colour that changes every batch: pages the GPU rewrites every frame.
   */
  fill?: Dist;
  /** MI_LOAD_REGISTER_IMM writes (by default to registers every platform whitelists). */
  lri: Dist;
  /** Registers the `lri` loads write, cycled (absent: the engine's defaults). */
  lriRegs?: number[];
  /** MI_STORE_REGISTER_MEM commands storing into the batch's store area. */
  srm?: Dist;
  /** Registers SRM reads, cycled (absent: GEN8_L3SQCREG4). */
  srmRegs?: number[];
  /** MI_LOAD_REGISTER_MEM commands loading from the store area. */
  lrm?: Dist;
  /** Registers LRM writes, cycled (absent: GEN8_L3SQCREG4). */
  lrmRegs?: number[];
  /** MI_LOAD_REGISTER_REG commands. */
  lrr?: Dist;
  /** Source and destination register of LRR. */
  lrrRegs?: [number, number];
  /** Raw dwords put in the batch as they are, before MI_BATCH_BUFFER_END. */
  dwords?: number[];
}

/** One step of a guest workload. */
export type WorkloadOp =
  | { op: "batch"; engine: EngineName; mix: CommandMix; loc: Loc }
  | { op: "flip"; loc: Loc }
  | { op: "wait"; what: "completion" | "vblank"; loc: Loc }
  | { op: "think"; duration: Dist; loc: Loc }
  | { op: "every"; period: number; body: WorkloadOp[]; loc: Loc }
  | { op: "repeat"; count: number | "forever"; body: WorkloadOp[]; loc: Loc }
  | { op: "choose"; options: { weight: number; body: WorkloadOp[] }[]; loc: Loc }
  /** `huge`: 2 MiB pages (one PPGTT page-directory entry each) instead of 4 KiB pages. */
  | { op: "map"; pages: Dist; huge?: boolean; loc: Loc }
  /** `huge`: the 2 MiB pages `map ... huge` mapped. */
  | { op: "unmap"; pages: Dist; huge?: boolean; loc: Loc }
  | { op: "pte_rewrite"; count: Dist; loc: Loc }
  | { op: "misbehave"; kind: MisbehaviourKind; count: number; loc: Loc };

/** A named workload. */
export interface WorkloadSpec {
  /** Name. */
  name: string;
  /** Steps, run in order once (use `every`/`repeat` to loop). */
  body: WorkloadOp[];
  /** Where it was declared. */
  loc: Loc;
}

/** One VM (a `vm` block declaring N alike expands to N specs named name1..nameN). */
export interface VmSpec {
  /** Unique name. */
  name: string;
  /** vGPU type name. */
  type: string;
  /** Weight override (else the type's). */
  weight?: number;
  /** Workload name. */
  workload: string;
  /** Start time (ns); VMs not started by then stay off until a timeline `start`. */
  start: number;
  /** Started automatically at `start` (false if the timeline starts it). */
  autostart: boolean;
  /** vCPUs (a backend may keep per-vCPU trap state). */
  vcpus: number;
  /** Guest RAM (bytes). */
  memory: number;
  /** Where it was declared. */
  loc: Loc;
  /** The named host it starts on (multi-host scenarios); absent: the first host. */
  host?: string;
}

/** One named host of a multi-host scenario (`host a skylake { ... }`). */
export interface HostDecl {
  /** Host name. */
  name: string;
  /** Its GPU and settings. */
  host: HostSpec;
  /** Its hypervisor backend. */
  hypervisor: HypervisorSpec;
  /** Its vGPU scheduler. */
  scheduler: SchedulerSpec;
  /** Where it was declared. */
  loc: Loc;
}

/** Settings of one live migration (`migrate VM to HOST ...`), gMig style. */
export interface MigrationOptions {
  /** Migration link bandwidth (bytes per second). */
  bandwidth: number;
  /** Hash GPU-writable pages and resend only changed ones at stop-and-copy (gMig's Software Dirty Page). */
  hashing: boolean;
  /** Downtime the pre-copy aims for: stop-and-copy starts once the rest fits in it (ns). */
  maxDowntime: number;
  /** Most pre-copy rounds before stop-and-copy is forced. */
  maxRounds: number;
  /** Time to hash one 4 KiB page (ns). */
  hashCost: number;
}

/** A timeline action. */
export type TimelineAction =
  | { kind: "start" | "stop" | "pause" | "resume" | "reset"; vm: string }
  | { kind: "weight"; vm: string; weight: number }
  | { kind: "fault"; rule: FaultRule }
  | { kind: "policy"; scheduler: SchedulerSpec }
  | { kind: "misbehave"; vm: string; misbehaviour: MisbehaviourKind; count: number }
  | { kind: "migrate"; vm: string; to: string; options: MigrationOptions };

/** A timeline entry. */
export interface TimelineEvent {
  /** When (ns). */
  at: number;
  /** What. */
  action: TimelineAction;
  /** Where it was written. */
  loc: Loc;
}

/** A measurement window [from, to) in ns of simulated time; no `to`: up to the run's end. */
export interface MeasureWindow {
  /** Start (ns). */
  from: number;
  /** End (ns), exclusive; absent: the end of the run. */
  to?: number;
}

/** A numeric expression over results. */
export type Expr =
  | { k: "num"; value: number }
  | { k: "call"; fn: string; args: (string | number)[]; loc: Loc; window?: MeasureWindow }
  | { k: "bin"; op: "+" | "-" | "*" | "/"; a: Expr; b: Expr };

/** An expectation over results. */
export type Predicate =
  | { k: "cmp"; op: ">=" | "<=" | ">" | "<" | "==" | "!="; left: Expr; right: Expr }
  | { k: "within"; left: Expr; target: Expr; tolerance: number; relative: boolean }
  | { k: "state"; vm: string; state: string };

/** One `expect` line. */
export interface Expectation {
  /** The source text of the predicate, for reports. */
  text: string;
  /** The predicate. */
  pred: Predicate;
  /** Where it was written. */
  loc: Loc;
}

/** What `report` asked to show. */
export interface ReportSpec {
  /** Table names (e.g. "vms", "traps", "scheduler"). */
  tables: string[];
  /** Extra metric names. */
  metrics: string[];
  /** The window the run's figures cover (`report { window 2s..6s }`); absent: see warmup. */
  window?: MeasureWindow;
  /** Period of the time series (ns; `report { period 50ms }`); absent: 100 ms. */
  periodNs?: number;
}

/** A whole checked scenario. */
export interface Scenario {
  /** Scenario name (from `scenario NAME` or the file name). */
  name: string;
  /** Main file. */
  file: string;
  /** Seed (from the file, overridable on the CLI). */
  seed: number;
  /** Host (the first named host in a multi-host scenario). */
  host: HostSpec;
  /**
   * Named hosts in declaration order (`host a skylake {...}`); `hosts[0]` is {@link host}
   * with {@link hypervisor} and {@link scheduler}. Absent: one unnamed host, as before.
   */
  hosts?: HostDecl[];
  /** Effective vGPU type table: built-ins plus user types (user overrides win). */
  types: VgpuTypeSpec[];
  /** Hypervisor. */
  hypervisor: HypervisorSpec;
  /** Scheduler. */
  scheduler: SchedulerSpec;
  /** Workloads by name. */
  workloads: Record<string, WorkloadSpec>;
  /** VMs in declaration order. */
  vms: VmSpec[];
  /** Timeline sorted by time (stable). */
  timeline: TimelineEvent[];
  /** How long to simulate (ns). */
  duration: number;
  /** Expectations. */
  expects: Expectation[];
  /** Report selection. */
  report: ReportSpec;
  /**
   * `warmup T`: figures (and expectations without their own window) start at T, so start-up
   * effects stay out of them; absent: 0.
   */
  warmup?: number;
}
