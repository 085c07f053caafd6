/**
 * The state of one vGPU (i915 `struct intel_vgpu`): virtual registers, virtual config
 * space, its graphics-memory slices and fences, execlist and workload queues, GTT shadows,
 * display, failsafe status and counters.
 */

import { VgpuOpregion } from "./opregion.ts";
import { VgpuDmabufs } from "./dmabuf.ts";
import { MMIO_SIZE, NUM_ENGINES } from "../hw/regs.ts";
import type { VgpuTypeSpec } from "../scenario.ts";
import { type FailsafeReason, VgpuCounters } from "./counters.ts";
import { VirtualExeclist } from "./execlist.ts";
import { buildEdid } from "./edid.ts";
import { VirtualGgtt } from "./gtt.ts";
import type { VgpuPpgtt } from "./ppgtt.ts";
import type { VgpuResources } from "./resources.ts";
import type { Workload } from "./workload.ts";
import { ShadowContexts } from "./shadow_ctx.ts";

/** Size of the virtual PCI config space. */
export const CFG_SPACE_SIZE = 256;

/** Per-vGPU scheduler bookkeeping (`struct vgpu_sched_data`). */
export class VgpuSchedData {
  /** Weight (sched_ctl.weight). */
  weight: number;
  /** On the run queue. */
  active = false;
  /** When it was last scheduled in (ns). */
  schedInTime = 0;
  /** Total time it held the GPU (ns). */
  schedTime = 0;
  /** Time slice left in this balance stage (ns, may be negative: debt). */
  leftTs = 0;
  /** Time slice allocated per balance period (ns). */
  allocatedTs = 0;
  /** Start-up priority active. */
  priSched = false;
  /** Start-up priority end (ns). */
  priTime = 0;

  /** Creates a VgpuSchedData.
   * @param weight initial weight */
  constructor(weight: number) {
    this.weight = weight;
  }
}

/** One vGPU. */
export class Vgpu {
  /** Virtual registers: 2 MiB, one dword per register. */
  readonly vreg: Uint32Array = new Uint32Array(MMIO_SIZE >>> 2);
  /** Virtual PCI config space. */
  readonly vcfg: Uint8Array = new Uint8Array(CFG_SPACE_SIZE);
  /** dma-buf objects and exports of its display (core/gvt/dmabuf.ts). */
  readonly dmabufs: VgpuDmabufs = new VgpuDmabufs();
  /** The virtual OpRegion (its host pages and where the guest has them mapped). */
  readonly opregion: VgpuOpregion = new VgpuOpregion();
  /** Counters. */
  readonly counters: VgpuCounters = new VgpuCounters();
  /** Virtual execlists, one per engine. */
  readonly execlists: VirtualExeclist[] = [];
  /** Workload queues per engine (FIFO). */
  readonly queues: Workload[][] = [];
  /** Scheduler data. */
  readonly sched: VgpuSchedData;
  /** Virtual GGTT of its slices. */
  readonly ggtt: VirtualGgtt;
  /** In failsafe (MMIO/GTT plain copies; nothing shadowed or submitted). */
  failsafe = false;
  /** Why it is in failsafe. */
  failsafeReason: FailsafeReason | null = null;
  /** The guest read PVINFO (it is PV-aware). */
  pvAware = false;
  /** Execlist submission enabled per engine (RING_MODE run-list). */
  readonly runList: Uint8Array = new Uint8Array(NUM_ENGINES);
  /** Engines with a TLB invalidation pending until the next switch to this vGPU. */
  tlbPending = 0;
  /** Vblank timer generation (bumped to cancel). */
  vblankGen = 0;
  /** Vblank timer armed. */
  vblankOn = false;
  /** Pending flip-done events per pipe. */
  readonly flipPending: Uint8Array = new Uint8Array(3);
  /** Guest-physical base of BAR0 as the guest programmed it. */
  bar0 = 0;
  /** Guest-physical base of BAR2. */
  bar2 = 0;
  /** Destroyed. */
  destroyed = false;
  /** Its shadow context per engine and what was last shadowed there (core/gvt/shadow_ctx.ts). */
  readonly shadowContexts: ShadowContexts = new ShadowContexts();
  /** PPGTT shadowing state (set by the mediator). */
  ppgtt: VgpuPpgtt | null = null;
  /** Owner tag of the VM's memory frames. */
  owner: number;
  /** The virtual monitor's EDID (the type's resolution). */
  readonly edid: Uint8Array;
  /** Next EDID byte an i2c-over-AUX read returns; -1: no EDID transfer selected. */
  edidPos = -1;

  /**
   * Creates a Vgpu.
   * @param id vGPU id
   * @param vm VM name
   * @param type vGPU type
   * @param res allocated slices and fences
   * @param memory guest RAM (bytes)
   * @param vcpus guest vCPUs
   * @param weight scheduler weight
   * @param owner owner tag of the VM's frames in host memory
   */
  constructor(
    readonly id: number,
    readonly vm: string,
    readonly type: VgpuTypeSpec,
    readonly res: VgpuResources,
    readonly memory: number,
    readonly vcpus: number,
    weight: number,
    owner: number,
  ) {
    this.owner = owner;
    this.edid = buildEdid(type.width, type.height);
    this.sched = new VgpuSchedData(weight);
    this.ggtt = new VirtualGgtt(res);
    for (let e = 0; e < NUM_ENGINES; e++) {
      this.execlists.push(new VirtualExeclist(e));
      this.queues.push([]);
    }
  }

  /**
   * Workloads dispatched to an engine and not completed yet. Upstream keeps the running
   * workload on its queue until `complete_current_workload`, so it counts as pending.
   */
  inFlight = 0;

  /** True if a workload is queued or running (`vgpu_has_pending_workload`). */
  hasPendingWorkload(): boolean {
    if (this.inFlight > 0) return true;
    for (let e = 0; e < NUM_ENGINES; e++) if (this.queues[e].length > 0) return true;
    return false;
  }

  /** True if [gma, gma + size) lies inside its aperture or hidden slice. */
  gmaInSlices(gma: number, size: number): boolean {
    const a = this.res.aperture, h = this.res.hidden;
    const end = gma + size;
    return (gma >= a.base && end <= a.base + a.size) || (gma >= h.base && end <= h.base + h.size);
  }

  /** The scheduler weight. */
  get weight(): number {
    return this.sched.weight;
  }
}
