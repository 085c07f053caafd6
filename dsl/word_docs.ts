/**
 * One line of documentation per word of the language (keywords and setting names), with an
 * example: what an editor shows on hover and beside a completion. Result functions carry their
 * own docs in {@link ./functions.ts}.
 */

/** The documentation of one word. */
export interface WordDoc {
  /** How it is written, e.g. `vm NAME [ "[" N "]" ] { ... }`. */
  syntax: string;
  /** What it does. */
  doc: string;
}

/** Keywords (every entry of `KEYWORDS`; a test keeps the two lists equal). */
export const KEYWORD_DOCS: Readonly<Record<string, WordDoc>> = {
  scenario: { syntax: "scenario NAME", doc: "Names the run (default: the file name)." },
  seed: { syntax: "seed N", doc: "Seed of every random stream (default 1; `--seed` overrides)." },
  include: {
    syntax: 'include "PATH"',
    doc: "Splices another file's declarations in here; the path is relative to this file.",
  },
  host: {
    syntax: "host [GPU] { settings }",
    doc: "The physical machine: GPU profile, aperture, GGTT, engines, hypervisor, scheduler.",
  },
  hypervisor: {
    syntax: 'hypervisor (kvm | xen | acrn | "plugin.ts") [{ costs, param, fault }]',
    doc: "The hypervisor backend (MPT plugin) and its cost overrides, parameters and faults.",
  },
  scheduler: {
    syntax: "scheduler POLICY [{ timeslice T; balance T; credit_reset T; startup T }]",
    doc: "The vGPU scheduling policy: gvt (default), gvirt-rr, best-effort, equal-share, " +
      "fixed-share.",
  },
  cost: { syntax: "cost COMMAND TIME", doc: "Overrides the GPU cost of one command, e.g. 2us." },
  param: {
    syntax: "param NAME VALUE",
    doc: "A backend parameter: a time, size, number, on/off or string.",
  },
  fault: {
    syntax: "fault OP ACTION [AMOUNT] (after N calls | for N calls | vm NAME | at T)*",
    doc: "Injects a fault (error, throw, wrong, delay T) into one MPT op of the backend.",
  },
  after: { syntax: "after N calls", doc: "A fault rule becomes active after N calls of its op." },
  calls: { syntax: "after N calls | for N calls", doc: "Counts calls of the faulted op." },
  for: { syntax: "for N calls", doc: "A fault rule affects N calls, then stops." },
  forever: { syntax: "repeat forever { steps }", doc: "Repeats the body without end." },
  type: {
    syntax: "type NAME { aperture SIZE; hidden SIZE; fences N; weight N; resolution WxH }",
    doc: "Declares or overrides a vGPU type; in a vm block, `type NAME` picks one.",
  },
  vm: {
    syntax: "vm NAME[ [N] ] { type T; run W; weight N; start T; vcpus N; memory SIZE }",
    doc: "A guest with one vGPU; `vm worker[4]` declares worker1 .. worker4.",
  },
  run: {
    syntax: "run WORKLOAD (in a vm) | run DURATION (in the timeline)",
    doc: "The workload a VM runs, or how long the simulation runs (default 10s).",
  },
  workload: {
    syntax: "workload NAME { steps }",
    doc: "What a guest does: batches, loops, think times, waits, flips, mappings.",
  },
  batch: {
    syntax:
      "ENGINE batch [{ draw N; blit N; fill N; media N; compute N; store N; lri N [REG...]; srm N [REG...]; lrm N [REG...]; lrr N SRC DST; dwords V... }]",
    doc: "Submits one batch buffer to rcs, bcs, vcs or vecs with that many commands of each kind.",
  },
  every: { syntax: "every PERIOD { steps }", doc: "Runs the body every period, forever." },
  at: {
    syntax: "at RATE { steps } (in a workload) | at TIME ACTION (in the timeline)",
    doc: "Frame pacing at a rate such as 60fps, or a timeline event at a simulated time.",
  },
  repeat: { syntax: "repeat (N | forever) { steps }", doc: "Runs the body N times or forever." },
  loop: { syntax: "loop { steps }", doc: "The same as `repeat forever`." },
  think: {
    syntax: "think TIME | think exp(MEAN) | uniform(LO, HI) | normal(MEAN, SD)",
    doc: "CPU time spent in the guest between GPU steps.",
  },
  wait: {
    syntax: "wait completion | wait vblank",
    doc: "Waits for the submitted work to complete, or for the next vertical blank.",
  },
  flip: { syntax: "flip", doc: "Presents a frame (counted by fps() and frames())." },
  choose: {
    syntax: "choose { WEIGHT: { steps } ... }",
    doc: "Runs one of the bodies, picked at random by weight.",
  },
  map: { syntax: "map N pages", doc: "Maps guest pages through the GTT." },
  unmap: { syntax: "unmap N pages", doc: "Unmaps guest pages from the GTT." },
  pages: { syntax: "map N pages", doc: "A count of 4 KiB pages." },
  huge: {
    syntax: "map N huge pages",
    doc:
      "2 MiB pages: one PPGTT page-directory entry each (mapped whole or split by the mediator).",
  },
  pte_rewrite: {
    syntax: "pte_rewrite N",
    doc: "Rewrites N PPGTT entries (write-protected page-table pages trap).",
  },
  misbehave: {
    syntax: "misbehave KIND [N] (in a workload) | at T misbehave VM KIND [N]",
    doc: "Does something hostile: ggtt_out_of_slice, priv_reg_write, bad_address, " +
      "ring_garbage, random_mmio, rejected_command, insufficient_resources.",
  },
  timeline: {
    syntax: "timeline { at TIME ACTION; run DURATION }",
    doc: "Life-cycle events (start, stop, pause, resume, reset), weights, policies, faults.",
  },
  expect: {
    syntax: "expect EXPR (>= | <= | > | < | == | !=) EXPR | EXPR within TOL of EXPR | " +
      "state(VM) is STATE",
    doc: "A check on the results; a failed expectation makes `run` exit with 1.",
  },
  within: {
    syntax: "EXPR within TOL of EXPR",
    doc: "Tolerance: relative when in %, otherwise in the target's unit.",
  },
  of: { syntax: "EXPR within TOL of EXPR", doc: "Introduces the target of a tolerance." },
  is: { syntax: "state(VM) is STATE", doc: "Tests a vGPU's final state." },
  report: {
    syntax: "report { tables NAME...; metrics NAME...; window A..B; period T }",
    doc: "Which tables and per-VM metrics `run` prints, the window its figures cover, the " +
      "series period.",
  },
  warmup: {
    syntax: "warmup TIME",
    doc: "The run's figures, and expectations without their own window, start at TIME " +
      "(start-up effects such as boot and start-up priority stay out).",
  },
};

/** Setting names, by the block they belong to (hover and completion). */
export const SETTING_DOCS: Readonly<Record<string, WordDoc>> = {
  aperture: {
    syntax: "aperture SIZE",
    doc: "Mappable aperture: the host's (64MiB..4GiB) or a vGPU type's share of it.",
  },
  ggtt: { syntax: "ggtt SIZE", doc: "GGTT address space of the host (default 4GiB)." },
  fences: { syntax: "fences N", doc: "Fence registers: the host's (32) or a vGPU type's." },
  engines: { syntax: "engines rcs bcs vcs vecs", doc: "Engines present on the host (rcs needed)." },
  host_aperture: { syntax: "host_aperture SIZE", doc: "Aperture the host keeps (128MiB)." },
  host_hidden: { syntax: "host_hidden SIZE", doc: "Hidden GGTT memory the host keeps (384MiB)." },
  host_fences: { syntax: "host_fences N", doc: "Fence registers the host keeps (4)." },
  refresh: { syntax: "refresh RATE", doc: "Display refresh rate (default 60Hz)." },
  out_of_sync: { syntax: "out_of_sync on|off", doc: "Out-of-sync shadow PPGTT pages (off)." },
  invariants: { syntax: "invariants on|off", doc: "Checks the isolation invariant (on)." },
  scan_ppgtt: { syntax: "scan_ppgtt on|off", doc: "Also scans non-privileged batches (off)." },
  blit_data: {
    syntax: "blit_data on|off",
    doc: "Blits move their pixels (on); off: same time, pages and faults, no copying.",
  },
  gscale: {
    syntax: "gscale on|off",
    doc: "gScale mode (off): private GTTs, shared slices, fence pool, up to 4095 vGPUs.",
  },
  timeslice: { syntax: "timeslice TIME", doc: "Scheduler time slice." },
  balance: { syntax: "balance TIME", doc: "Scheduler balance period (time-slice refill)." },
  credit_reset: { syntax: "credit_reset TIME", doc: "Period after which credits are reset." },
  startup: {
    syntax: "startup TIME",
    doc: "Start-up priority of a new vGPU (default 2s; 0s switches it off).",
  },
  hidden: { syntax: "hidden SIZE", doc: "A vGPU type's hidden (high) GGTT memory." },
  weight: {
    syntax: "weight N (1..16)",
    doc: "Scheduler weight of a vGPU type or VM; `at T weight VM N` changes it.",
  },
  resolution: { syntax: "resolution WxH", doc: "A vGPU type's display resolution." },
  start: {
    syntax: "start TIME (in a vm) | at T start VM",
    doc: "Powers a VM on later than t=0, or at a timeline event.",
  },
  vcpus: { syntax: "vcpus N", doc: "Virtual CPUs of a VM (1..64, default 1)." },
  memory: { syntax: "memory SIZE", doc: "Guest RAM of a VM (default 2GiB)." },
  draw: { syntax: "draw N", doc: "3D draw commands in a batch (3DPRIMITIVE)." },
  blit: { syntax: "blit N", doc: "Blitter copies in a batch (XY_SRC_COPY_BLT)." },
  fill: {
    syntax: "fill N",
    doc: "Blitter fills of the VM's display-sized render target with a new colour each batch " +
      "(XY_COLOR_BLT): pages the GPU rewrites every frame.",
  },
  media: { syntax: "media N", doc: "Media commands in a batch." },
  compute: { syntax: "compute N", doc: "Compute walker commands in a batch." },
  store: { syntax: "store N", doc: "MI_STORE_DATA_IMM commands in a batch." },
  lri: {
    syntax: "lri N [REGISTER...]",
    doc:
      "MI_LOAD_REGISTER_IMM commands in a batch, to the registers named (cycled; default ones every platform whitelists).",
  },
  srm: {
    syntax: "srm N [REGISTER...]",
    doc: "MI_STORE_REGISTER_MEM commands storing registers (default GEN8_L3SQCREG4) to memory.",
  },
  lrm: {
    syntax: "lrm N [REGISTER...]",
    doc: "MI_LOAD_REGISTER_MEM commands loading registers (default GEN8_L3SQCREG4) from memory.",
  },
  lrr: { syntax: "lrr N SRC DST", doc: "MI_LOAD_REGISTER_REG commands copying SRC to DST." },
  dwords: {
    syntax: "dwords V...",
    doc: "Raw dwords (0x hex or decimal) put in the batch as they are, before its end.",
  },
  tables: {
    syntax: "tables vms engines traps scheduler scanner shadow irq expects",
    doc: "Tables `run` prints.",
  },
  metrics: { syntax: 'metrics fps share latency "counter"', doc: "Extra per-VM columns." },
  window: {
    syntax: "window A..B | window A..",
    doc: "The span of simulated time the run's per-VM figures cover (default: from warmup on).",
  },
  period: { syntax: "period TIME", doc: "Sampling period of the time series (default 100ms)." },
  stop: { syntax: "at T stop VM", doc: "Powers a VM off (its vGPU is destroyed)." },
  pause: { syntax: "at T pause VM", doc: "Pauses a VM (its vGPU is not scheduled)." },
  resume: { syntax: "at T resume VM", doc: "Resumes a paused VM." },
  reset: { syntax: "at T reset VM", doc: "Device-model reset of a VM's vGPU (clears failsafe)." },
  policy: {
    syntax: "at T policy POLICY [PARAM TIME]...",
    doc: "Switches the scheduling policy at run time.",
  },
};
