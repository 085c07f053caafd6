/**
 * The mediator instance (i915 `struct intel_gvt` + gvt/vgpu.c): owns the physical GPU on
 * behalf of all vGPUs, creates and destroys vGPUs (slices, fences, ids), implements the
 * {@link GvtOps} callbacks a hypervisor backend forwards trapped accesses to, and wires the
 * parts together: MMIO handlers, GGTT/PPGTT shadowing, scanner, execlists, dispatcher,
 * scheduler, virtual interrupts and display, failsafe/reset, invariant checking, counters.
 * It talks to the hypervisor only through the {@link MptGate}.
 *
 * ```ts
 * const gvt = new Gvt(sim, gpu, gate, { host, types: BUILTIN_TYPES, scheduler });
 * const v = gvt.createVgpu({ vm: "desktop", type: "V5_4", memory: 2 << 30, vcpus: 2 });
 * if (isCreateError(v)) throw new Error(v.message);
 * gvt.counters(); // { global: {...}, vgpus: { desktop: {...} } }
 * ```
 */

import { ENGINES } from "../hw/engines.ts";
import { hi32, isSet, lo32, maskedEnable } from "../hw/bits.ts";
import type { Gpu } from "../hw/gpu.ts";
import { entryValue, GEN8_PAGE_PRESENT } from "../hw/pte.ts";
import { CTX_DESC_FIELDS } from "../hw/registers/ring.ts";
import { MSI_ADDRESS_LO, MSI_DATA, MSI_FLAGS, MSI_FLAGS_FIELDS, PCI_COMMAND } from "../hw/pci.ts";
import {
  FENCE_REG_GEN6_LO,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GFX_RUN_LIST_ENABLE,
  IRQ_GROUP_BASE,
  IRQ_IER,
  IRQ_IMR,
  NUM_ENGINES,
  PVINFO,
  RING_MODE,
  VGT_G2V_PPGTT_L3_PAGE_TABLE_CREATE,
  VGT_G2V_PPGTT_L3_PAGE_TABLE_DESTROY,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY,
  VGT_PVINFO_PAGE,
} from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { GvtOps, PlaneInfo } from "../mpt/types.ts";
import { MPT_EINVAL, MPT_ENODEV, MPT_OK } from "../mpt/types.ts";
import type { HostSpec, SchedulerSpec, VgpuTypeSpec } from "../scenario.ts";
import { MS, type Sim } from "../sim/sim.ts";
import { findType } from "../vgpu_types.ts";
import { cfgRead, cfgWrite, initCfgSpace, PCI_BAR0, PCI_BAR2, PCI_COMMAND_MEMORY } from "./cfg.ts";
import {
  type FailsafeReason,
  globalCounterRecord,
  GvtCounters,
  TC,
  vgpuCounterRecord,
  VIOLATION_KINDS,
  violationIsFatal,
  type ViolationKind,
} from "./counters.ts";
import { DEFAULT_DISPATCH_COSTS, type DispatchCosts, Dispatcher } from "./dispatch.ts";
import { VirtualDisplay } from "./display.ts";
import { resetCsb } from "./execlist.ts";
import {
  cleanWorkloads,
  enterFailsafe,
  type ResetHost,
  type ResetKind,
  resetVgpu,
} from "./failsafe.ts";
import { Gscale, type GscaleOptions } from "./gscale.ts";
import { GgttShadow } from "./gtt.ts";
import { buildMmioTable } from "./handlers.ts";
import { HostGm } from "./host_gm.ts";
import { allocOpregion, freeOpregion, unmapOpregion } from "./opregion.ts";
import { DmabufExport } from "./dmabuf.ts";
import { InvariantChecker } from "./invariant.ts";
import { VirtualIrq } from "./irq.ts";
import { MmioEmulator, type MmioHooks } from "./mmio.ts";
import { OOS_POOL_PAGES, OosPool } from "./oos.ts";
import { PpgttShadow } from "./ppgtt.ts";
import { populatePvinfo } from "./pvinfo.ts";
import { GmPartition, isShortage, shortageMessage } from "./resources.ts";
import { DEFAULT_SCAN_OPTIONS, Scanner, type ScanOptions, updateRegWhitelist } from "./scanner.ts";
import { GvtScheduler, type SchedHost } from "./sched.ts";
import { type GvtTracer, TRACE_PAGE_TRACK } from "./tracer.ts";
import { Vgpu } from "./vgpu_state.ts";
import { createWorkload, isWorkloadError, type Workload } from "./workload.ts";

function mib(b: number): string {
  return `${Math.round(b / (1024 * 1024))} MiB`;
}

/** Default guest-physical base of BAR0 (programmed as firmware would). */
export const DEFAULT_BAR0_GPA = 0xf000_0000;
/** Default guest-physical base of BAR2 (64-bit, above 4 GiB). */
export const DEFAULT_BAR2_GPA = 0x40_0000_0000;
/** Default guest-physical base of the config-space (ECAM) window. */
export const DEFAULT_CFG_GPA = 0xd000_0000;

/** The invariant checker runs at most this often, at vGPU switches (ns). */
export const INVARIANT_CHECK_PERIOD = 100 * MS;
/** Every how many periodic checks the invariant checker sweeps everything (1 s). */
export const FULL_CHECK_EVERY = 10;

/** Mediator configuration. */
export interface GvtConfig {
  /** Host sizes and switches (outOfSync, invariants, scanPpgttBatches, refreshHz). */
  host: HostSpec;
  /** vGPU type table. */
  types: readonly VgpuTypeSpec[];
  /** Initial scheduler policy. */
  scheduler: SchedulerSpec;
  /** Scanner costs (defaults {@link DEFAULT_SCAN_OPTIONS}; `scanPpgttBatches` comes from host). */
  scanCosts?: Partial<Omit<ScanOptions, "scanPpgttBatches">>;
  /** Dispatch costs (defaults {@link DEFAULT_DISPATCH_COSTS}). */
  dispatchCosts?: Partial<DispatchCosts>;
  /** Most PPGTT shadow pages alive at once (0: limited by host memory only). */
  maxShadowPages?: number;
  /** OOS pool size (default 8192). */
  oosPoolPages?: number;
  /** gScale mode options (used when `host.gscale`; defaults: ladder and dirty-only copies on). */
  gscale?: GscaleOptions;
}

/** Parameters of {@link Gvt.createVgpu}. */
export interface CreateVgpuParams {
  /** VM name. */
  vm: string;
  /** Type name (V5_4, GVTg_V5_4, V4_4 ...). */
  type: string;
  /** Scheduler weight (default: the type's). */
  weight?: number;
  /** Guest RAM (bytes). */
  memory: number;
  /** vCPUs. */
  vcpus: number;
  /** Owner tag of the VM's frames in host memory (default: the vGPU id). */
  owner?: number;
  /** Guest-physical base of the config-space window (default {@link DEFAULT_CFG_GPA}). */
  cfg?: number;
  /**
   * Exact graphics addresses of the aperture and hidden slices (a migration target: the
   * guest keeps the slices it ballooned for); absent: first fit.
   */
  at?: { aperture: number; hidden: number };
}

/** Why a vGPU could not be created. */
export interface CreateError {
  /** Discriminator. */
  readonly error: "unknown_type" | "no_resources" | "backend";
  /** Human-readable message with the numbers. */
  readonly message: string;
}

/** True if `x` is a {@link CreateError}. */
export function isCreateError(x: Vgpu | CreateError): x is CreateError {
  return (x as CreateError).error !== undefined;
}

/**
 * Who owns the VMs (the world): creates and destroys a VM's vGPU when the hypervisor's
 * toolstack asks through `GvtOps.vgpuCreate` / `vgpuDestroy`, since a vGPU serves a VM the
 * mediator knows nothing else about (its RAM, its guest).
 */
export interface VmHost {
  /** Starts VM `vm` with a new vGPU of `type`; the vGPU id, or a negative errno. */
  createVgpuFor(vm: string, type: string): number;
  /** Stops the VM of vGPU `id`, destroying the vGPU; 0, or a negative errno. */
  destroyVgpuOf(id: number): number;
}

/** A type and how many more instances fit. */
export interface AvailableType {
  /** The type. */
  type: VgpuTypeSpec;
  /** Instances that can still be created. */
  available: number;
}

/** The mediator. */
export class Gvt implements GvtOps, MmioHooks, SchedHost, ResetHost {
  /** Global counters. */
  readonly globalCounters: GvtCounters = new GvtCounters();
  /** vGPUs by id (index 0 is the idle vGPU: always null). */
  readonly vgpus: (Vgpu | null)[] = new Array(8).fill(null);
  /** Partitioning of graphics memory and fences. */
  readonly partition: GmPartition;
  /** Virtual interrupts. */
  readonly irq: VirtualIrq;
  /** Virtual display. */
  readonly display: VirtualDisplay;
  /** GGTT shadowing. */
  readonly ggtt: GgttShadow;
  /** PPGTT shadowing. */
  readonly ppgtt: PpgttShadow;
  /** OOS page pool. */
  readonly oosPool: OosPool;
  /** MMIO trap entry. */
  readonly mmio: MmioEmulator;
  /** Host graphics memory for shadows. */
  readonly hostGm: HostGm;
  /** Command scanner. */
  readonly scanner: Scanner;
  /** Scheduler. */
  readonly sched: GvtScheduler;
  /** Dispatcher. */
  readonly dispatcher: Dispatcher;
  /** Isolation invariant checker. */
  readonly invariants: InvariantChecker;
  /** Plane query and dma-buf export for the hypervisor's display. */
  readonly dmabuf: DmabufExport;
  /** Failsafe entries with their reasons and details (first 1000). */
  readonly failsafeLog: { vm: string; reason: FailsafeReason; detail: string; at: number }[] = [];
  /** gScale mode state (null: upstream partitioning). */
  readonly gscale: Gscale | null;
  /** The backend accepted the callbacks. */
  readonly backendReady: boolean;
  /**
   * The default context images' registers were added to the whitelist
   * (`gvt->is_reg_whitelist_updated`, at the first vGPU's creation).
   */
  regWhitelistUpdated = false;
  /** The VMs' owner, for toolstack-driven create/destroy (null: none; create fails). */
  vmHost: VmHost | null = null;
  /** The registers after reset (the GPU's `resetValues`, shared: never written). */
  private readonly snapshot: Uint32Array;
  private lastCheck = -Infinity;
  private checksSinceFull = FULL_CHECK_EVERY;
  private tracerRef: GvtTracer | null = null;

  /**
   * Trace hooks (null, the default: not tracing). Setting it also hands it to the MMIO
   * emulator, the virtual interrupt controller, the scheduler and the dispatcher.
   */
  get tracer(): GvtTracer | null {
    return this.tracerRef;
  }
  set tracer(t: GvtTracer | null) {
    this.tracerRef = t;
    this.mmio.tracer = t;
    this.irq.tracer = t;
    this.sched.tracer = t;
    this.dispatcher.tracer = t;
    if (this.gscale !== null) this.gscale.tracer = t;
  }

  /**
   * Creates a Gvt.
   * @param sim simulation
   * @param gpu the physical GPU (the mediator becomes its host driver: it takes its MSIs)
   * @param gate the MPT gate of the hypervisor backend
   * @param config host, types, scheduler
   */
  constructor(
    readonly sim: Sim,
    readonly gpu: Gpu,
    readonly gate: MptGate,
    readonly config: GvtConfig,
  ) {
    const host = config.host;
    this.partition = new GmPartition(host);
    this.snapshot = gpu.resetValues;
    this.irq = new VirtualIrq(gate);
    this.display = new VirtualDisplay(sim, this.irq, (id) => this.vgpuById(id), host.refreshHz);
    this.ggtt = new GgttShadow(gate, gpu);
    this.gscale = host.gscale
      ? new Gscale(
        gpu,
        gate,
        this.ggtt.scratchEntry - GEN8_PAGE_PRESENT,
        (id) => this.vgpuById(id),
        this.partition.fencePool,
        [host.hostFences, host.fences],
        config.gscale,
      )
      : null;
    this.ggtt.gscale = this.gscale;
    this.oosPool = new OosPool(config.oosPoolPages ?? OOS_POOL_PAGES);
    this.ppgtt = new PpgttShadow(gate, gpu.memory, this.oosPool, {
      outOfSync: host.outOfSync,
      maxShadowPages: config.maxShadowPages ?? 0,
    });
    const table = buildMmioTable(this, host.fences, gpu.config.platform);
    this.mmio = new MmioEmulator(table, this.ggtt, gate);
    this.hostGm = new HostGm(gpu.memory, gpu, this.partition.hostHidden);
    this.scanner = new Scanner(
      gate,
      this.hostGm,
      (off) => table.cmdAccessible(off),
      gpu.config.platform,
      {
        ...DEFAULT_SCAN_OPTIONS,
        ...config.scanCosts,
        scanPpgttBatches: host.scanPpgttBatches,
      },
    );
    this.sched = new GvtScheduler(sim, this, this.globalCounters, config.scheduler);
    this.dispatcher = new Dispatcher({
      sim,
      gpu,
      gate,
      hostGm: this.hostGm,
      scanner: this.scanner,
      ppgtt: this.ppgtt,
      irq: this.irq,
      sched: this.sched,
      counters: this.globalCounters,
      costs: { ...DEFAULT_DISPATCH_COSTS, ...config.dispatchCosts },
      hostRegs: this.snapshot,
      ownerOf: (v) => v.owner,
      gscale: this.gscale,
      guestError: (w, kind, detail) => this.workloadFailed(w.vgpu, w.engine, kind, detail),
    });
    this.invariants = new InvariantChecker(gpu, this.ppgtt, this.globalCounters, host.invariants);
    this.invariants.gscale = this.gscale;
    this.dmabuf = new DmabufExport(gate);
    this.initHardware();
    this.backendReady = gate.hostInit(this);
  }

  /** Host-driver set-up of the physical GPU: MSI, interrupts, execlist submission. */
  private initHardware(): void {
    const gpu = this.gpu;
    gpu.onMsi = this.dispatcher.msiSink;
    gpu.cfgWrite(MSI_ADDRESS_LO, 4, 0xfee00000);
    gpu.cfgWrite(MSI_DATA, 2, 0x4021);
    gpu.cfgWrite(MSI_FLAGS, 2, MSI_FLAGS_FIELDS.enable.mask);
    for (const g of [0, 1, 3]) {
      gpu.mmioWrite(IRQ_GROUP_BASE[g] + IRQ_IMR, 4, 0);
      gpu.mmioWrite(IRQ_GROUP_BASE[g] + IRQ_IER, 4, 0xffffffff);
    }
    for (let e = 0; e < NUM_ENGINES; e++) {
      gpu.mmioWrite(ENGINES[e].mmioBase + RING_MODE, 4, maskedEnable(GFX_RUN_LIST_ENABLE));
    }
    gpu.mmioWrite(GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL);
  }

  // ------------------------------------------------------------------ vGPU life cycle

  /** A live vGPU by id. */
  vgpuById(id: number): Vgpu | null {
    return id > 0 && id < this.vgpus.length ? this.vgpus[id] : null;
  }

  /** A live vGPU by VM name. */
  vgpuByVm(vm: string): Vgpu | null {
    for (const v of this.vgpus) if (v && v.vm === vm) return v;
    return null;
  }

  /**
   * The id the next successful {@link createVgpu} will use (0: none free). A world registers
   * the VM's guest memory with the backend context under this id before creating the vGPU,
   * since attaching happens inside createVgpu.
   */
  nextVgpuId(): number {
    return this.partition.nextId();
  }

  /** Types and how many more instances of each fit now. */
  availableTypes(): AvailableType[] {
    return this.config.types.map((type) => ({ type, available: this.partition.available(type) }));
  }

  /** Creates a vGPU (`intel_gvt_create_vgpu`). */
  createVgpu(p: CreateVgpuParams): Vgpu | CreateError {
    const type = findType(this.config.types, p.type);
    if (!type) {
      return {
        error: "unknown_type",
        message: `unknown vGPU type "${p.type}" (known: ${
          this.config.types.map((t) => t.name).join(", ")
        })`,
      };
    }
    const res = this.partition.allocate(type, p.at);
    if (isShortage(res)) {
      const why =
        p.at && res.free.aperture >= res.need.aperture && res.free.hidden >= res.need.hidden
          ? `cannot create vGPU of type ${type.name} for vm "${p.vm}": its slices (aperture at ${
            mib(p.at.aperture)
          }, hidden at ${mib(p.at.hidden)}) are not free on this host`
          : shortageMessage(type.name, p.vm, res);
      return { error: "no_resources", message: why };
    }
    const v = new Vgpu(
      res.id,
      p.vm,
      type,
      res,
      p.memory,
      p.vcpus,
      p.weight ?? type.weight,
      p.owner ?? res.id,
    );
    if (this.gscale !== null) this.gscale.attach(v.ggtt);
    // the new vreg is zeros: only defined registers' words of the snapshot can be other than
    // zero, so copying those (not 2 MiB) leaves the pages without registers untouched
    for (const d of this.gpu.registerDefs) v.vreg[d.offset >>> 2] = this.snapshot[d.offset >>> 2];
    populatePvinfo(v.vreg, res);
    for (let e = 0; e < NUM_ENGINES; e++) resetCsb(v.vreg, e);
    initCfgSpace(v, this.gpu.config.platform.deviceId);
    this.programBars(v);
    v.ppgtt = this.ppgtt.createSpace(v.id, v.counters);
    this.setSliceDomain(v, v.id);
    const ok = this.gate.attachVgpu({
      id: v.id,
      vm: p.vm,
      memory: p.memory,
      vcpus: p.vcpus,
      bar0: v.bar0,
      bar2: v.bar2,
      cfg: p.cfg ?? DEFAULT_CFG_GPA,
      type: type.name,
    });
    if (!ok) {
      this.setSliceDomain(v, 0);
      this.gpu.iommu.reset(v.id);
      this.ppgtt.dropSpace(v.ppgtt);
      this.partition.release(res);
      return { error: "backend", message: `the backend failed to attach vGPU ${v.id} (${p.vm})` };
    }
    while (this.vgpus.length <= v.id) this.vgpus.push(null); // gScale ids go past 7
    this.vgpus[v.id] = v;
    allocOpregion(v.opregion, this.gpu.memory, v.owner);
    this.gate.setOpregion(v.id);
    this.gate.setEdid(v.id, 0);
    if (!this.regWhitelistUpdated) {
      const table = this.mmio.table;
      this.regWhitelistUpdated = updateRegWhitelist(
        this.gpu.config.platform,
        (off) => table.setCmdAccessible(off),
      );
    }
    return v;
  }

  /** The IOMMU domain the GPU translates the vGPU's GGTT slices in (its id; 0 when gone). */
  private setSliceDomain(v: Vgpu, domain: number): void {
    // gScale: a shared slot is translated in its holder's domain, set when one loads it
    if (this.gscale !== null) return;
    this.gpu.setGgttDomain(v.ggtt.apIndex, v.ggtt.apCount, domain);
    this.gpu.setGgttDomain(v.ggtt.hiIndex, v.ggtt.hiCount, domain);
  }

  /** Programs BAR0/BAR2 with the default guest-physical bases, as firmware would. */
  private programBars(v: Vgpu): void {
    const w = (off: number, val: number) =>
      cfgWrite(v, this.gate, this.gpu.apertureSize, off, 4, val);
    w(PCI_BAR0, lo32(DEFAULT_BAR0_GPA));
    w(PCI_BAR0 + 4, hi32(DEFAULT_BAR0_GPA));
    w(PCI_BAR2, lo32(DEFAULT_BAR2_GPA));
    w(PCI_BAR2 + 4, hi32(DEFAULT_BAR2_GPA));
  }

  /** Destroys a vGPU (`intel_gvt_destroy_vgpu`); its resources become free. */
  destroyVgpu(id: number): boolean {
    const v = this.vgpuById(id);
    if (!v) return false;
    this.dmabuf.cleanup(v);
    resetVgpu(this, v, "gt");
    v.destroyed = true;
    this.dispatcher.cleanSubmission(v);
    this.display.stop(v);
    if (v.ppgtt) this.ppgtt.dropSpace(v.ppgtt);
    this.ggtt.resetSlices(v.id, v.ggtt, v.counters);
    this.clearFences(v);
    if (this.gscale !== null) this.gscale.detach(v);
    unmapOpregion(v, this.gate);
    this.gate.detachVgpu(v.id);
    // the device leaves the vGPU's IOMMU domain; what the backend did not unmap is a leak
    this.setSliceDomain(v, 0);
    const left = this.gpu.iommu.reset(v.id);
    if (left > 0) {
      this.gate.reportViolation(
        "detachVgpu",
        v.id,
        `${left} IOMMU mapping(s) of vGPU ${v.id} (${v.vm}) outlived detach: every IOVA page a ` +
          `backend maps must be unmapped by the time detachVgpu returns`,
      );
    }
    freeOpregion(v.opregion, this.gpu.memory);
    this.partition.release(v.res);
    this.vgpus[v.id] = null;
    return true;
  }

  /** Resets a vGPU: "dmlr" (device-model level / FLR), "gt" (full GT), or an engine mask. */
  resetVgpu(id: number, kind: ResetKind): boolean {
    const v = this.vgpuById(id);
    if (!v) return false;
    if (this.tracerRef !== null) this.tracerRef.reset(v.id, kind);
    resetVgpu(this, v, kind);
    return true;
  }

  /** Changes a vGPU's weight at run time. */
  setWeight(id: number, weight: number): void {
    const v = this.vgpuById(id);
    if (v) this.sched.setWeight(v, weight);
  }

  /** Replaces the scheduling policy at run time. */
  setPolicy(spec: SchedulerSpec): void {
    this.sched.setPolicy(spec);
  }

  /** Puts a vGPU in failsafe, recording why. */
  failsafe(v: Vgpu, reason: FailsafeReason, detail: string): void {
    if (v.failsafe) return;
    if (this.tracerRef !== null) this.tracerRef.failsafe(v.id, reason, detail);
    enterFailsafe(this, v, reason);
    if (this.failsafeLog.length < 1000) {
      this.failsafeLog.push({ vm: v.vm, reason, detail, at: this.sim.now });
    }
  }

  // ------------------------------------------------------------------ GvtOps (trap path)

  /** {@inheritDoc GvtOps.emulateMmioRead} */
  emulateMmioRead(vgpuId: number, offset: number, size: number): number {
    const v = this.vgpuById(vgpuId);
    return v ? this.mmio.read(v, offset, size) : 0;
  }

  /** {@inheritDoc GvtOps.emulateMmioWrite} */
  emulateMmioWrite(vgpuId: number, offset: number, size: number, value: number): void {
    const v = this.vgpuById(vgpuId);
    if (v) this.mmio.write(v, offset, size, value);
  }

  /** {@inheritDoc GvtOps.emulateCfgRead} */
  emulateCfgRead(vgpuId: number, offset: number, size: number): number {
    const v = this.vgpuById(vgpuId);
    if (!v) return 0;
    v.counters.traps[TC.cfg]++;
    if (this.tracerRef !== null) this.tracerRef.trap(v.id, TC.cfg, false);
    return cfgRead(v, offset, size);
  }

  /** {@inheritDoc GvtOps.emulateCfgWrite} */
  emulateCfgWrite(vgpuId: number, offset: number, size: number, value: number): void {
    const v = this.vgpuById(vgpuId);
    if (!v) return;
    v.counters.traps[TC.cfg]++;
    if (this.tracerRef !== null) this.tracerRef.trap(v.id, TC.cfg, true);
    cfgWrite(v, this.gate, this.gpu.apertureSize, offset, size, value);
  }

  /** {@inheritDoc GvtOps.vgpuCreate} */
  vgpuCreate(vm: string, type: string): number {
    return this.vmHost === null ? MPT_ENODEV : this.vmHost.createVgpuFor(vm, type);
  }

  /** {@inheritDoc GvtOps.vgpuDestroy} */
  vgpuDestroy(vgpuId: number): number {
    if (this.vgpuById(vgpuId) === null) return MPT_EINVAL;
    if (this.vmHost !== null) return this.vmHost.destroyVgpuOf(vgpuId);
    this.destroyVgpu(vgpuId);
    return MPT_OK;
  }

  /** {@inheritDoc GvtOps.vgpuReset} */
  vgpuReset(vgpuId: number): void {
    this.resetVgpu(vgpuId, "dmlr");
  }

  /** {@inheritDoc GvtOps.vgpuActivate} */
  vgpuActivate(vgpuId: number): void {
    const v = this.vgpuById(vgpuId);
    if (v && !v.sched.active) this.sched.startSchedule(v);
  }

  /** {@inheritDoc GvtOps.vgpuQueryPlane} */
  vgpuQueryPlane(vgpuId: number, plane: number): PlaneInfo | number {
    const v = this.vgpuById(vgpuId);
    return v ? this.dmabuf.queryPlane(v, plane) : MPT_EINVAL;
  }

  /** {@inheritDoc GvtOps.vgpuGetDmabuf} */
  vgpuGetDmabuf(vgpuId: number, dmabufId: number): number {
    const v = this.vgpuById(vgpuId);
    return v ? this.dmabuf.getDmabuf(v, dmabufId) : MPT_EINVAL;
  }

  /** {@inheritDoc GvtOps.vgpuPutDmabuf} */
  vgpuPutDmabuf(vgpuId: number, handle: number): void {
    const v = this.vgpuById(vgpuId);
    if (v) this.dmabuf.putDmabuf(v, handle);
  }

  /** {@inheritDoc GvtOps.vgpuDeactivate} */
  vgpuDeactivate(vgpuId: number): void {
    const v = this.vgpuById(vgpuId);
    if (v && v.sched.active) this.sched.stopSchedule(v);
  }

  /** {@inheritDoc GvtOps.writeProtectHandler} */
  writeProtectHandler(vgpuId: number, gpa: number, size: number, value: number): void {
    const v = this.vgpuById(vgpuId);
    if (!v || !v.ppgtt) return;
    if (this.tracerRef !== null) this.tracerRef.trap(v.id, TRACE_PAGE_TRACK, true);
    if (v.failsafe) this.ppgtt.failsafeWrite(v.ppgtt, gpa, size, value);
    else this.ppgtt.handleWrite(v.ppgtt, gpa, size, value);
  }

  // ------------------------------------------------------------------ MmioHooks

  /**
   * A workload failed before it ran (`workload_thread` / `complete_current_workload`): a
   * bad command or address (-EBADRQC, -EFAULT) puts the vGPU in failsafe; anything else
   * fails that workload and, like a vGPU hang, the rest of the engine's queue.
   */
  workloadFailed(v: Vgpu, engine: number, kind: ViolationKind | null, detail: string): void {
    if (kind !== null && violationIsFatal(kind)) this.failsafe(v, "guest_error", detail);
    else cleanWorkloads(this, v, 1 << engine);
  }

  /**
   * A workload whose scan at creation found a violation (`intel_vgpu_create_workload`):
   * destroyed (its mm reference put), the failsafe entered when the errno makes the VM
   * unhealthy (`vgpu_is_vm_unhealthy`), the rest of the submission refused.
   */
  private refuseShadowing(v: Vgpu, w: Workload): void {
    const kind = VIOLATION_KINDS[w.scan.violation], detail = w.scan.detail;
    if (this.tracerRef !== null) this.tracerRef.violation(v.id, kind, detail);
    v.counters.workloadsDropped++;
    this.dispatcher.destroyQueued(w);
    if (violationIsFatal(kind)) this.failsafe(v, "guest_error", detail);
  }

  /** Counts and traces a refused submission (no failsafe: upstream returns -EINVAL). */
  private refuseSubmission(v: Vgpu, kind: ViolationKind, detail: string): void {
    v.counters.violations[VIOLATION_KINDS.indexOf(kind)]++;
    if (this.tracerRef !== null) this.tracerRef.violation(v.id, kind, detail);
  }

  /**
   * Creates workloads for the collected ELSP descriptors (`intel_vgpu_submit_execlist`): an
   * invalid element 0, a valid element without the privilege bit, or an engine without
   * execlist submission refuses the whole submission; a context or ring that cannot be used
   * refuses that element (`intel_vgpu_create_workload`). None of these is a failsafe.
   */
  submitExeclist(v: Vgpu, engine: number): void {
    const el = v.execlists[engine];
    const d = el.elsp;
    if (!isSet(d[0], CTX_DESC_FIELDS.valid)) {
      return this.refuseSubmission(v, "invalid_elsp", "ELSP descriptor 0 is not valid");
    }
    for (let i = 0; i < 2; i++) {
      if (isSet(d[2 * i], CTX_DESC_FIELDS.valid) && !isSet(d[2 * i], CTX_DESC_FIELDS.privilege)) {
        return this.refuseSubmission(v, "invalid_elsp", `ELSP descriptor ${i} lacks privilege`);
      }
    }
    if (!v.runList[engine]) {
      return this.refuseSubmission(v, "invalid_elsp", "ELSP written without execlist mode");
    }
    let flow = this.tracerRef !== null ? this.tracerRef.submission(v.id, engine) : 0;
    for (let i = 0; i < 2; i++) {
      if (!isSet(d[2 * i], CTX_DESC_FIELDS.valid)) continue;
      const q = v.queues[engine];
      const run = this.dispatcher.running[engine];
      const last = q.length > 0 ? q[q.length - 1] : run && run.vgpu === v ? run : null;
      const w = createWorkload(v, engine, d, i, {
        gate: this.gate,
        ppgtt: this.ppgtt,
        space: v.ppgtt!,
        now: this.sim.now,
        platform: this.gpu.config.platform,
      }, last);
      if (isWorkloadError(w)) return this.refuseSubmission(v, w.kind, w.detail);
      // The first workload of an empty queue is scanned and shadowed now, the others at
      // dispatch. gvtsim defers it when PPGTT batches are scanned: it reads them through the
      // PPGTT shadow, which is synced at dispatch (upstream walks the guest tables).
      if (last === null && !this.scanner.options.scanPpgttBatches) {
        if (!this.dispatcher.scanAndShadow(w)) return this.refuseShadowing(v, w);
      }
      w.emulateScheduleIn = i === 0;
      w.flow = flow;
      flow = 0;
      v.queues[engine].push(w);
    }
    this.sched.kick();
    this.dispatcher.kick();
  }

  /** {@inheritDoc MmioHooks.enterFailsafe} */
  enterFailsafe(v: Vgpu, reason: FailsafeReason, detail: string): void {
    this.failsafe(v, reason, detail);
  }

  /** {@inheritDoc MmioHooks.startSchedule} */
  startSchedule(v: Vgpu): void {
    this.sched.startSchedule(v);
  }

  /** {@inheritDoc ResetHost.stopSchedule} */
  stopSchedule(v: Vgpu): void {
    this.sched.stopSchedule(v);
  }

  /** {@inheritDoc MmioHooks.resetEngines} */
  resetEngines(v: Vgpu, engineMask: number): void {
    if (this.tracerRef !== null) this.tracerRef.reset(v.id, engineMask === -1 ? "gt" : engineMask);
    resetVgpu(this, v, engineMask === -1 ? "gt" : engineMask);
  }

  /** g2v notifications: PPGTT create/destroy (`handle_g2v_notification`). */
  g2vNotify(v: Vgpu, code: number): void {
    if (!v.ppgtt) return;
    const base = (VGT_PVINFO_PAGE + PVINFO.pdp) >>> 2;
    const pdps = [0, 1, 2, 3].map((i) =>
      entryValue(v.vreg[base + 2 * i], v.vreg[base + 2 * i + 1])
    );
    switch (code) {
      case VGT_G2V_PPGTT_L3_PAGE_TABLE_CREATE:
      case VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE: {
        const levels = code === VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE ? 4 : 3;
        const mm = this.ppgtt.getMm(v.ppgtt, levels, pdps);
        this.ppgtt.pin(v.ppgtt, mm);
        this.ppgtt.unpin(mm);
        break;
      }
      case VGT_G2V_PPGTT_L3_PAGE_TABLE_DESTROY:
      case VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY: {
        const levels = code === VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY ? 4 : 3;
        const mm = this.ppgtt.findMm(v.ppgtt, levels, pdps);
        if (mm) this.ppgtt.putMm(v.ppgtt, mm);
        break;
      }
    }
  }

  /** {@inheritDoc MmioHooks.ownsEngine} */
  ownsEngine(v: Vgpu, engine: number): boolean {
    return this.dispatcher.engineOwner[engine] === v;
  }

  /** {@inheritDoc MmioHooks.hwRead} */
  hwRead(offset: number): number {
    return this.gpu.mmioRead32(offset);
  }

  /** {@inheritDoc MmioHooks.hwWrite} */
  hwWrite(offset: number, value: number): void {
    this.gpu.mmioWrite(offset, 4, value);
  }

  /** {@inheritDoc MmioHooks.updateVblank} */
  updateVblank(v: Vgpu): void {
    this.display.update(v);
  }

  /** {@inheritDoc MmioHooks.fenceWritten} */
  fenceWritten(v: Vgpu, n: number, hi: number, value: number): void {
    if (this.gscale !== null) this.gscale.fenceWritten(v, n);
    else this.gpu.mmioWrite(FENCE_REG_GEN6_LO + 8 * v.res.fences[n] + hi, 4, value);
  }

  // ------------------------------------------------------------------ SchedHost

  /** {@inheritDoc SchedHost.anyEngineBusy} */
  anyEngineBusy(): boolean {
    return this.dispatcher.anyBusy();
  }

  /** {@inheritDoc SchedHost.kick} */
  kick(): void {
    this.dispatcher.kick();
  }

  /** {@inheritDoc SchedHost.descheduled} */
  descheduled(v: Vgpu): void {
    if (!v.destroyed) this.gate.vgpuDescheduled(v.id);
    const now = this.sim.now;
    if (this.invariants.enabled && now - this.lastCheck >= INVARIANT_CHECK_PERIOD) {
      this.lastCheck = now;
      // Changed GGTT entries every period; the full sweep (every entry, every PPGTT shadow,
      // owner changes under unchanged entries) every FULL_CHECK_EVERY periods.
      if (++this.checksSinceFull >= FULL_CHECK_EVERY) {
        this.checksSinceFull = 0;
        this.checkInvariants();
      } else {
        this.invariants.checkDirtyGgtt(this.vgpus);
        this.invariants.checkGpuWrites((o) => this.vgpuByOwner(o));
      }
    }
  }

  // ------------------------------------------------------------------ ResetHost

  /** Workloads in flight per engine. */
  get running(): readonly (Workload | null)[] {
    return this.dispatcher.running;
  }

  /** {@inheritDoc ResetHost.destroyQueued} */
  destroyQueued(w: Workload): void {
    this.dispatcher.destroyQueued(w);
  }

  /** {@inheritDoc ResetHost.resetPpgtt} */
  resetPpgtt(v: Vgpu, destroy: boolean): void {
    if (!v.ppgtt) return;
    if (destroy) this.ppgtt.destroyAll(v.ppgtt);
    else for (const mm of v.ppgtt.mms) if (mm.pin === 0) this.ppgtt.invalidate(v.ppgtt, mm);
  }

  /** {@inheritDoc ResetHost.resetGgtt} */
  resetGgtt(v: Vgpu): void {
    this.ggtt.resetSlices(v.id, v.ggtt, v.counters);
  }

  /** {@inheritDoc ResetHost.clearFences} */
  clearFences(v: Vgpu): void {
    if (this.gscale !== null) return this.gscale.returnFences(v);
    for (const f of v.res.fences) {
      this.gpu.mmioWrite(FENCE_REG_GEN6_LO + 8 * f, 4, 0);
      this.gpu.mmioWrite(FENCE_REG_GEN6_LO + 8 * f + 4, 4, 0);
    }
  }

  /** {@inheritDoc ResetHost.reloadMmio} */
  reloadMmio(v: Vgpu, from: number, to: number): void {
    v.vreg.set(this.snapshot.subarray(from >>> 2, to >>> 2), from >>> 2);
  }

  /** {@inheritDoc ResetHost.populatePvinfo} */
  populatePvinfo(v: Vgpu): void {
    populatePvinfo(v.vreg, v.res);
  }

  /** {@inheritDoc ResetHost.resetDisplay} */
  resetDisplay(v: Vgpu): void {
    this.display.stop(v);
    v.flipPending.fill(0);
  }

  /** {@inheritDoc ResetHost.resetCfg} */
  resetCfg(v: Vgpu): void {
    const cmd = v.vcfg[PCI_COMMAND];
    if (cmd & PCI_COMMAND_MEMORY) {
      cfgWrite(v, this.gate, this.gpu.apertureSize, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    }
    initCfgSpace(v, this.gpu.config.platform.deviceId);
    this.programBars(v);
  }

  // ------------------------------------------------------------------ checks and counters

  /** The live vGPU of a VM owner tag, or null. */
  private vgpuByOwner(owner: number): Vgpu | null {
    for (const v of this.vgpus) if (v && v.owner === owner) return v;
    return null;
  }

  /** Runs the isolation checks over every vGPU now; returns violations found. */
  checkInvariants(): number {
    if (!this.invariants.enabled) return 0;
    let n = 0;
    for (const v of this.vgpus) if (v) n += this.invariants.checkVgpu(v, v.owner);
    this.gpu.clearGgttDirty(); // the sweep covered them
    n += this.invariants.checkGpuWrites((o) => this.vgpuByOwner(o));
    return n;
  }

  /** All counters as plain data: global and per VM name. */
  counters(): { global: Record<string, number>; vgpus: Record<string, Record<string, number>> } {
    const vgpus: Record<string, Record<string, number>> = {};
    for (const v of this.vgpus) if (v) vgpus[v.vm] = vgpuCounterRecord(v.counters);
    this.globalCounters.pluginErrors = this.gate.errorCount;
    const global = globalCounterRecord(this.globalCounters);
    global["mmio.errors"] = this.mmio.errorCount;
    global["hostgm.pages_in_use"] = this.hostGm.inUse;
    global["ppgtt.live_pages"] = this.ppgtt.livePages;
    global["oos.pool_used"] = this.oosPool.used;
    global["dispatch.mpt_ns"] = this.dispatcher.mptNs;
    if (this.gscale !== null) {
      Object.assign(global, this.gscaleRecord());
      for (const v of this.vgpus) if (v) Object.assign(vgpus[v.vm], this.gscaleRecord(v));
    }
    return { global, vgpus };
  }

  /**
   * gScale mode's counters, mediator-wide or (with `v`) one vGPU's; null upstream, so
   * upstream results keep exactly their keys.
   */
  gscaleRecord(v?: Vgpu): Record<string, number> | null {
    const gs = this.gscale;
    if (gs === null) return null;
    if (v !== undefined) {
      const p = v.ggtt.priv;
      return p === null ? {} : {
        "gscale.entries_copied": p.entriesCopied,
        "gscale.copy_ns": p.copyNs,
        "gscale.slot_users": this.partition.slotUsers(v.res.hidden.base),
      };
    }
    const st = gs.stats;
    return {
      "gscale.copies": st.copies,
      "gscale.copies_skipped": st.copiesSkipped,
      "gscale.entries_copied": st.entriesCopied,
      "gscale.copy_ns": st.copyNs,
      "gscale.ladder_maps": st.ladderMaps,
      "gscale.ladder_unmaps": st.ladderUnmaps,
      "gscale.fence_lends": st.fenceLends,
      "gscale.fence_reclaims": st.fenceReclaims,
    };
  }
}
