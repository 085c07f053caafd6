/**
 * What the mediator counts (docs/domain.md section 10), as plain data per vGPU and global.
 * Counters live in typed arrays indexed by small enums so the hot paths only increment;
 * {@link vgpuCounterRecord} / {@link globalCounterRecord} turn them into flat records
 * (`"mmio.elsp": 12`) for the results.
 */

import { ENGINE_NAMES } from "../scenario.ts";
import { SpanHistory } from "../metrics/history.ts";

/** Register classes MMIO traps are counted by. */
export const TRAP_CLASSES = [
  "default",
  "untracked",
  "elsp",
  "execlist",
  "ring",
  "ring_mode",
  "timestamp",
  "forcewake",
  "fence",
  "irq",
  "display",
  "pvinfo",
  "gdrst",
  "tlb",
  "gtt",
  "guest_mem",
  "cfg",
] as const;
/** One register class. */
export type TrapClass = typeof TRAP_CLASSES[number];
/** Index of each trap class. */
export const TC: { readonly [K in TrapClass]: number } = Object.fromEntries(
  TRAP_CLASSES.map((n, i) => [n, i]),
) as { [K in TrapClass]: number };

/** Kinds of rejected MMIO accesses. */
export const MMIO_ERROR_KINDS = ["size", "align", "range", "fence_oob"] as const;

/**
 * Why a submission or a command was refused, with the errno upstream returns for it. The
 * errno decides the consequence (gvt/gvt.h `vgpu_is_vm_unhealthy`): -EBADRQC (a bad
 * command) and -EFAULT (a bad address) put the vGPU in failsafe; anything else (-EINVAL,
 * -EPERM) fails only that submission or workload.
 */
export const VIOLATION_TABLE = [
  { kind: "unknown_command", errno: "EBADRQC" }, // cmd_parser.c cmd_parser_exec
  { kind: "rejected_command", errno: "EBADRQC" }, // cmd_parser.c unexpected_cmd
  { kind: "register", errno: "EBADRQC" }, // cmd_parser.c cmd_reg_handler (whitelist)
  { kind: "address", errno: "EFAULT" }, // cmd_parser.c cmd_address_audit
  { kind: "batch_depth", errno: "EFAULT" }, // cmd_parser.c cmd_handler_mi_batch_buffer_start
  { kind: "ring_range", errno: "EINVAL" }, // scheduler.c intel_vgpu_create_workload
  { kind: "context_read", errno: "EINVAL" }, // scheduler.c intel_vgpu_create_workload
  { kind: "ring_overrun", errno: "EFAULT" }, // cmd_parser.c command_scan
  { kind: "register_op", errno: "EPERM" }, // cmd_parser.c cmd_reg_handler (SRM/LRM/LRR)
  { kind: "invalid_elsp", errno: "EINVAL" }, // execlist.c intel_vgpu_submit_execlist
  { kind: "context_page", errno: "EFAULT" }, // scheduler.c populate_shadow_context
  { kind: "wa_ctx_range", errno: "EINVAL" }, // scheduler.c intel_vgpu_create_workload
] as const;
/** One violation kind. */
export type ViolationKind = typeof VIOLATION_TABLE[number]["kind"];
/** Violation kinds in table order (counter indexes). */
export const VIOLATION_KINDS: readonly ViolationKind[] = VIOLATION_TABLE.map((v) => v.kind);

/** True if violation `kind` puts the vGPU in failsafe (`vgpu_is_vm_unhealthy`). */
export function violationIsFatal(kind: ViolationKind): boolean {
  const v = VIOLATION_TABLE.find((x) => x.kind === kind)!;
  return v.errno === "EBADRQC" || v.errno === "EFAULT";
}

/** Failsafe reasons (i915 `GVT_FAILSAFE_*`). */
export const FAILSAFE_REASONS = [
  "unsupported_guest",
  "insufficient_resource",
  "guest_error",
] as const;
/** One failsafe reason. */
export type FailsafeReason = typeof FAILSAFE_REASONS[number];

/** Engines in hardware order. */
export const N_ENGINES = 4;

/** Counters of one vGPU. */
export class VgpuCounters {
  /** MMIO traps by {@link TRAP_CLASSES} index. */
  readonly traps: Float64Array = new Float64Array(TRAP_CLASSES.length);
  /** Rejected MMIO accesses by {@link MMIO_ERROR_KINDS} index. */
  readonly mmioErrors: Float64Array = new Float64Array(MMIO_ERROR_KINDS.length);
  /** GGTT entry writes (complete 8-byte entries). */
  ggttWrites = 0;
  /** 4-byte GGTT half writes. */
  ggttPartialWrites = 0;
  /** GGTT writes outside the vGPU's slices (dropped). */
  ggttDropped = 0;
  /** GGTT entries pointed at the scratch page. */
  ggttScratch = 0;
  /** DMA map calls / failures / unmaps. */
  dmaMaps = 0;
  /** Failed DMA maps. */
  dmaMapFailures = 0;
  /** DMA unmaps. */
  dmaUnmaps = 0;
  /** dma-buf objects created for the hypervisor's display (plane queries). */
  dmabufObjects = 0;
  /** dma-buf exports (framebuffer pinned for the display). */
  dmabufExports = 0;
  /** Guest 2 MiB PPGTT pages mapped whole (one 2 MiB DMA mapping). */
  huge2MWhole = 0;
  /** Guest 2 MiB PPGTT pages split into 512 4 KiB mappings (the 2 MiB map failed). */
  huge2MSplit = 0;
  /** GGTT writes that re-wrote the same guest entry (the mapping was reused). */
  ggttCacheHits = 0;
  /** PPGTT shadow pages allocated / freed. */
  sptAlloc = 0;
  /** Shadow pages freed. */
  sptFree = 0;
  /** Write-protect traps on guest page-table pages. */
  wpTraps = 0;
  /** Entries re-shadowed by post-shadow flushes. */
  postShadowEntries = 0;
  /** Post-shadow flushes (once per submission that had pending entries). */
  postShadowFlushes = 0;
  /** Out-of-sync attach / sync / detach. */
  oosAttach = 0;
  /** OOS pages synced before a submission. */
  oosSync = 0;
  /** OOS pages detached (recycled or re-protected). */
  oosDetach = 0;
  /** Shadow pages reclaimed from the LRU under pressure. */
  sptReclaims = 0;
  /** PPGTT mm created / destroyed (g2v notifications or context use). */
  ppgttCreate = 0;
  /** PPGTT mm destroyed. */
  ppgttDestroy = 0;
  /** Commands scanned per engine. */
  readonly cmdsScanned: Float64Array = new Float64Array(N_ENGINES);
  /** Dwords scanned per engine. */
  readonly dwordsScanned: Float64Array = new Float64Array(N_ENGINES);
  /** Batch buffers shadowed. */
  batchesShadowed = 0;
  /** Scanner violations by {@link VIOLATION_KINDS} index. */
  readonly violations: Float64Array = new Float64Array(VIOLATION_KINDS.length);
  /** Workloads created / completed / dropped. */
  workloadsCreated = 0;
  /** Workloads completed. */
  workloadsCompleted = 0;
  /** Workloads dropped (violation, reset, failsafe). */
  workloadsDropped = 0;
  /** Workloads completed per engine. */
  readonly completedPerEngine: Float64Array = new Float64Array(N_ENGINES);
  /** Engine busy time of this vGPU's workloads (ns) per engine. */
  readonly busyNs: Float64Array = new Float64Array(N_ENGINES);
  /** Per engine, each completed workload's execution span (ns), for windows. */
  readonly busySpans: SpanHistory[] = Array.from({ length: N_ENGINES }, () => new SpanHistory());
  /** Times this vGPU was scheduled in. */
  scheduledIn = 0;
  /** Time the scheduler gave this vGPU (ns). */
  schedNs = 0;
  /** Virtual interrupt events raised / masked by IMR. */
  irqRaised = 0;
  /** Events masked by IMR. */
  irqMasked = 0;
  /** MSIs injected (delivered) / dropped (backend said no or MSI disabled). */
  msiInjected = 0;
  /** MSIs the backend dropped or that MSI-disabled config suppressed. */
  msiDropped = 0;
  /** Virtual vblanks. */
  vblanks = 0;
  /** Plane flips (SURF writes) / flips completed at vblank. */
  flips = 0;
  /** Flips completed at vblank. */
  flipsDone = 0;
  /** Failsafe entries. */
  failsafeEntries = 0;
  /** Resets: device-model, GT, per-engine. */
  resetsDmlr = 0;
  /** Full GT resets. */
  resetsGt = 0;
  /** Per-engine resets. */
  resetsEngine = 0;
  /** TLB invalidations performed at switch. */
  tlbInvalidations = 0;
  /** Registers written on behalf of this vGPU at switch. */
  regsSwitched = 0;
  /** Workloads whose engine-context pages were copied into the shadow context. */
  ctxCopies = 0;
  /** Workloads whose engine-context copy was skipped (same context as last, or restore inhibit). */
  ctxCopiesSkipped = 0;
  /** Engine-context copies per engine (`ctxCopies` by engine). */
  readonly ctxCopiesOn: Float64Array = new Float64Array(N_ENGINES);
  /** Engine-context pages those copies read from the guest, per engine. */
  readonly ctxPagesIn: Float64Array = new Float64Array(N_ENGINES);
  /** Invariant violations found in this vGPU's entries. */
  invariantViolations = 0;
}

/** Mediator-wide counters. */
export class GvtCounters {
  /** vGPU switches performed by the scheduler. */
  switches = 0;
  /** Time spent waiting for engines to drain before a switch (ns). */
  drainWaitNs = 0;
  /** Engine ownership changes (mmio context switches). */
  engineSwitches = 0;
  /** Registers saved/restored at engine switches. */
  regsSwitched = 0;
  /** Time charged for register save/restore (ns). */
  switchCostNs = 0;
  /** Scheduler ticks. */
  ticks = 0;
  /** Balance periods (100 ms). */
  balances = 0;
  /** Time the idle vGPU held the GPU (ns). */
  idleNs = 0;
  /** Invariant checks run. */
  invariantChecks = 0;
  /** Invariant violations. */
  invariantViolations = 0;
  /** GPU writes checked by the invariant checker. */
  gpuWritesChecked = 0;
  /** Plugin errors the mediator reacted to. */
  pluginErrors = 0;
}

function put(out: Record<string, number>, key: string, v: number): void {
  if (v !== 0) out[key] = v;
}

/** A flat, sorted-key record of one vGPU's non-zero counters. */
export function vgpuCounterRecord(c: VgpuCounters): Record<string, number> {
  const out: Record<string, number> = {};
  let traps = 0;
  TRAP_CLASSES.forEach((n, i) => {
    put(out, `mmio.${n}`, c.traps[i]);
    traps += c.traps[i];
  });
  put(out, "mmio.total", traps);
  MMIO_ERROR_KINDS.forEach((n, i) => put(out, `mmio_error.${n}`, c.mmioErrors[i]));
  VIOLATION_KINDS.forEach((n, i) => put(out, `scan.violation.${n}`, c.violations[i]));
  for (let e = 0; e < N_ENGINES; e++) {
    const l = ENGINE_NAMES[e];
    put(out, `scan.cmds.${l}`, c.cmdsScanned[e]);
    put(out, `scan.dwords.${l}`, c.dwordsScanned[e]);
    put(out, `busy_ns.${l}`, c.busyNs[e]);
    put(out, `completed.${l}`, c.completedPerEngine[e]);
    put(out, `shadow_ctx.populated.${l}`, c.ctxCopiesOn[e]);
    put(out, `shadow_ctx.pages_in.${l}`, c.ctxPagesIn[e]);
  }
  const scalars: [string, number][] = [
    ["ggtt.writes", c.ggttWrites],
    ["ggtt.partial", c.ggttPartialWrites],
    ["ggtt.dropped", c.ggttDropped],
    ["ggtt.scratch", c.ggttScratch],
    ["ggtt.cache_hits", c.ggttCacheHits],
    ["dma.map", c.dmaMaps],
    ["dma.map_fail", c.dmaMapFailures],
    ["dma.unmap", c.dmaUnmaps],
    ["dmabuf.objects", c.dmabufObjects],
    ["dmabuf.exports", c.dmabufExports],
    ["ppgtt.huge_whole", c.huge2MWhole],
    ["ppgtt.huge_split", c.huge2MSplit],
    ["ppgtt.spt_alloc", c.sptAlloc],
    ["ppgtt.spt_free", c.sptFree],
    ["ppgtt.wp_traps", c.wpTraps],
    ["ppgtt.post_shadow_flushes", c.postShadowFlushes],
    ["ppgtt.post_shadow_entries", c.postShadowEntries],
    ["ppgtt.reclaims", c.sptReclaims],
    ["ppgtt.mm_create", c.ppgttCreate],
    ["ppgtt.mm_destroy", c.ppgttDestroy],
    ["oos.attach", c.oosAttach],
    ["oos.sync", c.oosSync],
    ["oos.detach", c.oosDetach],
    ["scan.batches_shadowed", c.batchesShadowed],
    ["workloads.created", c.workloadsCreated],
    ["workloads.completed", c.workloadsCompleted],
    ["workloads.dropped", c.workloadsDropped],
    ["sched.scheduled_in", c.scheduledIn],
    ["sched.ns", c.schedNs],
    ["irq.raised", c.irqRaised],
    ["irq.masked", c.irqMasked],
    ["msi.injected", c.msiInjected],
    ["msi.dropped", c.msiDropped],
    ["display.vblanks", c.vblanks],
    ["display.flips", c.flips],
    ["display.flips_done", c.flipsDone],
    ["failsafe.entries", c.failsafeEntries],
    ["reset.dmlr", c.resetsDmlr],
    ["reset.gt", c.resetsGt],
    ["reset.engine", c.resetsEngine],
    ["sched.tlb_invalidations", c.tlbInvalidations],
    ["sched.regs_switched", c.regsSwitched],
    ["shadow_ctx.populated", c.ctxCopies],
    ["shadow_ctx.skipped", c.ctxCopiesSkipped],
    ["invariant.violations", c.invariantViolations],
  ];
  for (const [k, v] of scalars) put(out, k, v);
  return sortKeys(out);
}

/** A flat record of the global counters (all of them, zeros included). */
export function globalCounterRecord(g: GvtCounters): Record<string, number> {
  return {
    "sched.switches": g.switches,
    "sched.drain_wait_ns": g.drainWaitNs,
    "sched.engine_switches": g.engineSwitches,
    "sched.regs_switched": g.regsSwitched,
    "sched.switch_cost_ns": g.switchCostNs,
    "sched.ticks": g.ticks,
    "sched.balances": g.balances,
    "sched.idle_ns": g.idleNs,
    "invariant.checks": g.invariantChecks,
    "invariant.violations": g.invariantViolations,
    "invariant.gpu_writes_checked": g.gpuWritesChecked,
    "plugin.errors": g.pluginErrors,
  };
}

function sortKeys(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}
