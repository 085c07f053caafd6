/**
 * The guest i915 driver model: what a Linux i915 does inside a VM on a vGPU, expressed as
 * real MMIO accesses (all trapped by the hypervisor backend) and real memory contents.
 *
 * Boot (`intel_vgpu_detect`, balloon, `gen8_irq_postinstall`, execlists init):
 * reads PVINFO (magic, version, caps, vGPU id, aperture/hidden slices, fence count) through
 * BAR0, uses only its slices (ballooning), enables MSI in config space (capability walk,
 * address/data, enable), takes forcewake, programs interrupt IMR/IER and the master enable,
 * maps its objects into its GGTT slice through the GTT window (one guest page per graphics
 * page), builds a 4-level PPGTT in guest memory (every entry written through the backend's
 * `guestMemWrite`, so writes to write-protected page-table pages trap), announces it with
 * PVINFO pdp[0] + g2v_notify, writes one logical ring context per engine (core/hw/context.ts),
 * sets the HWSP, RING_MODE run-list, and enables the display pipe and primary plane.
 *
 * Submission: batches are real dwords (core/cmd/batch.ts) in PPGTT (or GGTT) buffers; each
 * request goes into the ring (`emitRingRequest`: batch start + seqno breadcrumb + user
 * interrupt), the context image's RING_TAIL is updated, and the context is submitted with
 * four ELSP dword writes (at most two outstanding, as the execlist has two ports).
 *
 * Interrupts: an MSI wakes the interrupt handler (an explicit state machine: the driver is
 * its event sink, its continuation point is plain data), which reads the master IRQ register,
 * reads and clears (W1C) the GT/pipe IIRs, re-enables the master, reads the CSB through
 * MMIO (write pointer, entries, read-pointer update), then retires requests whose seqno the
 * GPU wrote to the status page, resubmits, completes flips at vblank and wakes the workload.
 *
 * The driver implements {@link DriverPort}: each method performs its accesses at once and
 * returns the simulated time they took (the gate's costs plus guest CPU time), or WAIT.
 */

import type { EventSink, Sim } from "../sim/sim.ts";
import { WAIT } from "../sim/sim.ts";
import type { Rng } from "../sim/rng.ts";
import type { MisbehaviourKind } from "../scenario.ts";
import type { VgpuInfo } from "../mpt/types.ts";
import type { MsiReceiver } from "../mpt/context.ts";
import {
  findCap,
  findMsiCap,
  MSI_ADDRESS_BASE,
  PCI_AF_CTRL,
  PCI_AF_CTRL_FLR,
  PCI_CAP_ID_AF,
  PCI_MSI_ADDRESS_LO,
  PCI_MSI_DATA_32,
  PCI_MSI_DATA_64,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT,
  PCI_MSI_FLAGS_ENABLE,
} from "../mpt/pci.ts";
import type { DriverPort, Waker } from "../workload/runner.ts";
import {
  batchLength,
  type BatchOptions,
  buildBatch,
  copyMix,
  emitRingRequest,
  emptyMix,
  type FillTarget,
  type MixCounts,
  ringRequestLength,
  zeroMix,
} from "../cmd/batch.ts";
import { emitBatchBufferEnd, emitNoop, emitUpdateGtt } from "../cmd/encode.ts";
import { CMD_TYPE } from "../cmd/fields.ts";
import {
  DISPLAY_PLANE_ENABLE,
  DSPCNTR_A,
  DSPSTRIDE_A,
  DSPSURF_A,
  forcewakePairs,
  GDRST,
  GEN8_CTX_STATUS_COMPLETE,
  GEN8_CTX_STATUS_PREEMPTED,
  GEN8_CTX_VALID,
  GEN8_DE_PIPE_A_IRQ,
  GEN8_GT_BCS_IRQ,
  GEN8_GT_RCS_IRQ,
  GEN8_GT_VCS1_IRQ,
  GEN8_GT_VCS2_IRQ,
  GEN8_GT_VECS_IRQ,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GEN8_PIPE_VBLANK,
  GFX_RUN_LIST_ENABLE,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  GTT_OFFSET,
  IRQ_GROUP_BASE,
  IRQ_GT0,
  IRQ_GT1,
  IRQ_GT3,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_PIPE_A,
  LEGACY_64B_CONTEXT,
  MMIO_SIZE,
  NUM_ENGINES,
  PIPECONF_A,
  PIPECONF_ENABLE,
  PVINFO,
  RING_ELSP,
  RING_HWS_PGA,
  RING_MODE,
  ringReg,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE,
  VGT_MAGIC_HI,
  VGT_MAGIC_LO,
  VGT_PVINFO_PAGE,
} from "../hw/regs.ts";
import { GEN8_PAGE_PRESENT, GEN8_PAGE_RW, GEN8_PDE_PS_2M, PAGE_SIZE_2M } from "../hw/pte.ts";
import type { GuestMemory } from "./memory.ts";
import { fieldValue, hi32, lo32, maskedEnable } from "../hw/bits.ts";
import { CTX_DESC_FIELDS } from "../hw/registers/ring.ts";
import { bytesToPageEnd, copyWords, PAGE_SIZE, pageDword } from "../hw/memory.ts";
import {
  contextDescriptor,
  CTX_RING_TAIL,
  ctxValueOffset,
  initRegState,
  LRC_STATE_PN,
} from "../hw/context.ts";
import { engineIrqBits, engineIrqMask, ENGINES } from "../hw/engines.ts";
import { CSB_ENTRIES, csbPtrOffset, type CsbReader, csbWritePtr, walkCsb } from "../hw/csb.ts";
import {
  DEFAULT_PLATFORM,
  type PlatformId,
  platformOfDeviceId,
  PLATFORMS,
} from "../hw/platform.ts";
import { PCI_ASLS } from "../hw/pci.ts";
import { GuestMetrics } from "./metrics.ts";
import type { GuestTracer } from "../metrics/trace.ts";

/** The guest-side trap entry points (an {@link MptGate} provides them). */
export interface GuestTrapPort {
  /** The guest CPU reads BAR0/config space at `gpa`. */
  guestMmioRead(vgpuId: number, gpa: number, size: number): number;
  /** The guest CPU writes BAR0/config space at `gpa`. */
  guestMmioWrite(vgpuId: number, gpa: number, size: number, value: number): void;
  /** The guest CPU writes its RAM (trapped if the page is write-protected). */
  guestMemWrite(vgpuId: number, gpa: number, size: number, value: number): void;
  /** Returns the ns charged since the last call, and resets. */
  takeCost(): number;
}

/** Guest driver settings. */
export interface GuestDriverOptions {
  /** The simulation. */
  sim: Sim;
  /** Where guest accesses go (the MPT gate). */
  port: GuestTrapPort;
  /** The VM's vGPU (id, BAR0 and config-space addresses). */
  info: VgpuInfo;
  /** The VM's RAM. */
  mem: GuestMemory;
  /** The driver's random stream (misbehaviour choices). */
  rng: Rng;
  /** Engines the driver uses (default all four). */
  engines?: readonly number[];
  /** Framebuffer width in pixels (default 1024). */
  width?: number;
  /** Framebuffer height (default 768). */
  height?: number;
  /** User batches in the PPGTT (non-privileged, default) or in the GGTT. */
  ppgttBatches?: boolean;
  /** Requests in flight per engine before submission blocks (default 64). */
  maxInFlight?: number;
  /** Guest CPU time to write one dword of commands (ns, default 1). */
  cpuNsPerDword?: number;
  /** Metrics to add to (a VM started again keeps counting where it left off). */
  metrics?: GuestMetrics;
  /** Guest CPU time per page-table entry update, besides the write itself (ns, default 50). */
  cpuNsPerPte?: number;
}

/** Driver state. */
export type GuestDriverState = "off" | "running" | "failed";

const HUGE = PAGE_SIZE_2M;
const RING_BYTES = 4 * PAGE_SIZE;
const RING_DWORDS = RING_BYTES / 4;
const HWS_SEQNO_DW = 0x30; // I915_GEM_HWS_INDEX
const PPGTT_HEAP = 0x100000; // first user VA
/** Where the firmware puts the OpRegion: the last two pages of the low 1 MiB it reserves. */
const OPREGION_GPA = 0xfe000;
const IDLE_NS = 1_000_000;
const MSI_DATA = 0x41;
const BLIT_W = 64, BLIT_H = 64, BLIT_PITCH = BLIT_W * 4;
const W_NONE = 0, W_COMPLETION = 1, W_VBLANK = 2, W_SPACE = 3;

/** A graphics buffer: its address (GGTT or PPGTT) and the guest pages behind it. */
export class GfxObject {
  constructor(readonly gma: number, readonly gfns: Int32Array, readonly ggtt: boolean) {}
  /** Guest-physical address of byte `off`. */
  gpa(off: number): number {
    return this.gfns[Math.floor(off / PAGE_SIZE)] * PAGE_SIZE + (off % PAGE_SIZE);
  }
}

/** Per-engine driver state. */
export class EngineState {
  ctx: GfxObject | null = null;
  ring: GfxObject | null = null;
  hwsp: GfxObject | null = null;
  store: GfxObject | null = null;
  descLo = 0;
  descHi = 0;
  tail = 0; // dwords
  submittedTail = 0;
  elspOut = 0; // ELSP submissions not yet acknowledged by CSB
  csbHead = CSB_ENTRIES - 1;
  seqno = 0;
  retired = 0;
  readonly inflightSeq: Float64Array;
  readonly inflightTime: Float64Array;
  readonly inflightObj: (GfxObject | null)[];
  head = 0; // ring of in-flight requests
  count = 0;
  submittedCount = 0; // in-flight requests whose ELSP write happened (their latency runs)
  constructor(cap: number) {
    this.inflightSeq = new Float64Array(cap);
    this.inflightTime = new Float64Array(cap);
    this.inflightObj = new Array(cap).fill(null);
  }
}

/**
 * Batch-building options of a guest driver (plain data, so a snapshot can capture it):
 * stores go to `storeBase` + 4 i (within one page); the misbehaviour variant also loads
 * GDRST (a register a guest must not touch).
 */
export class DriverBatchOptions implements BatchOptions {
  /** Graphics address of the store page. */
  storeBase = 0;
  /** Blit source surface address. */
  blitSrc = 0;
  /** Blit destination surface address. */
  blitDst = 0;
  /** Surface pitch in bytes. */
  readonly blitPitch = BLIT_PITCH;
  /** Blit width in pixels. */
  readonly blitWidth = BLIT_W;
  /** Blit height in rows. */
  readonly blitHeight = BLIT_H;
  /** The render targets `fill` commands clear (the driver allocates them as needed). */
  readonly fills: FillTarget[] = [];

  /**
   * Creates it.
   * @param ggtt addresses are global-GTT addresses
   * @param misbehave register loads target GDRST
   */
  constructor(readonly ggtt: boolean, readonly misbehave: boolean) {}

  /** Graphics address of store `i`. */
  storeAddr(i: number): number {
    return this.storeBase + ((i * 4) % PAGE_SIZE);
  }

  /** Value of store `i`. */
  storeValue(i: number): number {
    return i;
  }

  /** Render target `i` of `fill` (the driver allocates them before a batch needs them). */
  fillTarget(i: number): FillTarget {
    return this.fills[i];
  }

  /** Register written by load `i`: GDRST when misbehaving, else the engine's default. */
  get lriReg(): ((i: number) => number) | undefined {
    return this.misbehave ? gdrstReg : undefined;
  }
}

/** The register a misbehaving guest loads. */
function gdrstReg(_i: number): number {
  return GDRST;
}

/** Interrupt handler continuation points: loop top, IIRs handled, effects applied. */
const IRQ_TOP = 0, IRQ_HANDLED = 1, IRQ_APPLIED = 2;

/** The i915-like guest driver of one VM; see the module documentation. */
export class GuestDriver implements DriverPort, MsiReceiver, EventSink, CsbReader {
  /** What the driver observed. */
  readonly metrics: GuestMetrics;
  /** Lifecycle state. */
  state: GuestDriverState = "off";
  /** Why boot failed (when `state` is "failed"). */
  bootError = "";
  /** PVINFO as read at boot. */
  readonly pvinfo = {
    vgtId: 0,
    caps: 0,
    apertureBase: 0,
    apertureSize: 0,
    hiddenBase: 0,
    hiddenSize: 0,
    fences: 0,
  };
  /** True once MSI is enabled in config space. */
  msiEnabled = false;
  /** Trace hooks (null, the default: not tracing): brackets each ELSP submission. */
  tracer: GuestTracer | null = null;

  private readonly sim: Sim;
  private port: GuestTrapPort;
  private id: number;
  /** The device's platform (from its PCI id at boot). */
  private platform: PlatformId = DEFAULT_PLATFORM.id;
  private readonly bar0: number;
  private mem: GuestMemory;
  private readonly rng: Rng;
  private readonly engines: readonly number[];
  private readonly width: number;
  private readonly height: number;
  private readonly ppgttBatches: boolean;
  private readonly maxInFlight: number;
  private readonly cpuDw: number;
  private readonly cpuPte: number;
  private readonly eng: (EngineState | null)[] = new Array(NUM_ENGINES).fill(null);
  private readonly free: Map<number, GfxObject[]> = new Map();
  private readonly fb: GfxObject[] = [];
  private fbIndex = 0;
  private flipPending = false;
  /** A flip waits for the requests in flight when it was asked for (its fence). */
  private flipQueued = false;
  private readonly flipFence = new Float64Array(NUM_ENGINES);
  private blitSrc: GfxObject | null = null;
  private blitDst: GfxObject | null = null;
  private apNext = 0;
  private hidNext = 0;
  private pml4 = -1; // gfn
  private readonly tables = new Map<number, number>(); // VA-prefix key -> table gfn
  private readonly owned = new Set<number>(); // guest pages the driver allocated
  private vaNext = PPGTT_HEAP;
  private readonly churn: number[] = []; // VAs mapped by `map`
  private readonly churnGfn: number[] = [];
  private readonly hugeVa: number[] = []; // 2 MiB pages mapped by `map ... huge`
  private readonly hugeGfn: number[] = [];
  private rewriteCursor = 0;
  private spareGfn = -1;
  private staging = new Uint32Array(4096);
  private readonly regState = new Uint32Array(1024);
  private waker: Waker | null = null;
  private waiting = W_NONE;
  private waitEngine = -1;
  private deferredEngine = -1;
  private readonly deferredMix: MixCounts = emptyMix();
  /** Interrupt handler: started, sleeping until an MSI, and where it continues. */
  private irqStarted = false;
  private irqSleeping = false;
  private irqPhase = IRQ_TOP;
  private msiPending = false;
  private irqMaster = 0;
  private readonly irqIir = new Uint32Array(16);
  private readonly csbFreed = new Int32Array(NUM_ENGINES);
  private cpu = 0;
  /** Batches with fills so far (their colour). */
  private fillSeq = 0;
  private readonly opts: DriverBatchOptions;

  /** Creates it.
   * @param o driver settings */
  constructor(o: GuestDriverOptions) {
    this.metrics = o.metrics ?? new GuestMetrics();
    this.sim = o.sim;
    this.port = o.port;
    this.id = o.info.id;
    this.bar0 = o.info.bar0;
    this.cfgBase = o.info.cfg ?? -1;
    this.mem = o.mem;
    this.rng = o.rng;
    this.engines = o.engines ?? [0, 1, 2, 3];
    this.width = o.width ?? 1024;
    this.height = o.height ?? 768;
    this.ppgttBatches = o.ppgttBatches ?? true;
    this.maxInFlight = o.maxInFlight ?? 64;
    this.cpuDw = o.cpuNsPerDword ?? 1;
    this.cpuPte = o.cpuNsPerPte ?? 50;
    this.opts = new DriverBatchOptions(this.ppgttBatches === false, false);
    this.misOpts = new DriverBatchOptions(true, true);
  }

  private readonly cfgBase: number;
  private readonly misOpts: DriverBatchOptions;

  /**
   * The VM now runs on another host (the switch-over of a live migration): its traps reach
   * the target's hypervisor, which knows its vGPU as `id`, and its RAM is the target's copy.
   * The guest itself notices nothing: same BARs, same graphics addresses, same pages.
   */
  migrated(port: GuestTrapPort, id: number, mem: GuestMemory): void {
    this.port = port;
    this.id = id;
    this.mem = mem;
  }

  // ---- MMIO helpers (every access is a trap through the port) --------------------------------

  /** A trapped BAR0 read. */
  private rd(off: number, size = 4): number {
    this.metrics.mmioReads++;
    return this.port.guestMmioRead(this.id, this.bar0 + off, size);
  }

  /** A trapped BAR0 write. */
  private wr(off: number, value: number, size = 4): void {
    this.metrics.mmioWrites++;
    this.port.guestMmioWrite(this.id, this.bar0 + off, size, value);
  }

  /** A config-space read (through the ECAM window). */
  private cfgRd(off: number, size: number): number {
    return this.port.guestMmioRead(this.id, this.cfgBase + off, size);
  }

  /** A config-space write. */
  private cfgWr(off: number, size: number, value: number): void {
    this.port.guestMmioWrite(this.id, this.cfgBase + off, size, value);
  }

  /** Drains the accumulated trap cost plus guest CPU time of the current operation. */
  private spent(): number {
    const trap = this.port.takeCost();
    this.metrics.trapTime += trap;
    const t = trap + this.cpu;
    this.cpu = 0;
    return Math.round(t);
  }

  // ---- boot ------------------------------------------------------------------------------------

  /**
   * Boots the driver (idempotent): PVINFO detection and ballooning, MSI, interrupts, GGTT
   * and PPGTT set-up, contexts, display. Returns the simulated time it took (ns).
   */
  boot(): number {
    if (this.state !== "off") return 0;
    this.port.takeCost();
    this.cpu = 0;
    this.doBoot();
    const t = this.spent();
    this.metrics.bootTime = t;
    if ((this.state as GuestDriverState) === "failed") return t;
    this.state = "running";
    if (!this.irqStarted) {
      this.irqStarted = true;
      this.sim.schedule(t, this, 0);
    }
    return t;
  }

  /** Marks boot as failed with a reason. */
  private fail(msg: string): void {
    this.state = "failed";
    this.bootError = msg;
  }

  /** The boot sequence (see the module documentation). */
  private doBoot(): void {
    const P = VGT_PVINFO_PAGE;
    // PCI enumeration enables memory decode before the driver probes BAR0; on hypervisors
    // that trap BAR0 through a trap area, that is what maps it (cfg_write -> set_trap_area).
    if (this.cfgBase >= 0) this.cfgWr(0x04, 2, this.cfgRd(0x04, 2) | 0x6);
    // The firmware reserved the OpRegion's pages and says where (ASLS); i915's
    // intel_opregion_setup reads it back.
    if (this.cfgBase >= 0 && this.cfgRd(PCI_ASLS, 4) !== OPREGION_GPA) {
      this.cfgWr(PCI_ASLS, 4, OPREGION_GPA);
    }
    // The device id says which platform (i915_pci.c): the context image sizes follow it.
    if (this.cfgBase >= 0) {
      this.platform = platformOfDeviceId(this.cfgRd(0x02, 2))?.id ?? DEFAULT_PLATFORM.id;
    }
    // intel_vgpu_detect: the 64-bit magic (read as two dwords: it exceeds 2^53), version
    const lo = this.rd(P + PVINFO.magic), hi = this.rd(P + PVINFO.magic + 4);
    if (lo !== VGT_MAGIC_LO || hi !== VGT_MAGIC_HI) {
      return this.fail(`no vGPU: PVINFO magic ${hi.toString(16)}${lo.toString(16)}`);
    }
    const major = this.rd(P + PVINFO.versionMajor, 2);
    const minor = this.rd(P + PVINFO.versionMinor, 2);
    if (major !== 1) return this.fail(`unsupported PVINFO version ${major}.${minor}`);
    const pv = this.pvinfo;
    pv.caps = this.rd(P + PVINFO.vgtCaps);
    pv.vgtId = this.rd(P + PVINFO.vgtId);
    // intel_vgt_balloon: the slices this vGPU may use
    pv.apertureBase = this.rd(P + PVINFO.apertureBase);
    pv.apertureSize = this.rd(P + PVINFO.apertureSize);
    pv.hiddenBase = this.rd(P + PVINFO.hiddenBase);
    pv.hiddenSize = this.rd(P + PVINFO.hiddenSize);
    pv.fences = this.rd(P + PVINFO.fenceNum);
    if (pv.apertureSize < 16 * PAGE_SIZE || pv.hiddenSize < 16 * PAGE_SIZE) {
      return this.fail(`slices too small (aperture ${pv.apertureSize}, hidden ${pv.hiddenSize})`);
    }
    this.apNext = pv.apertureBase;
    this.hidNext = pv.hiddenBase;

    this.enableMsi();
    for (const [req, ack] of forcewakePairs(PLATFORMS[this.platform])) {
      this.wr(req, maskedEnable(1));
      this.rd(ack);
    }
    this.irqPostinstall();

    // PPGTT (4-level) with the objects the workload uses
    this.pml4 = this.page();
    if (this.pml4 < 0) return this.fail("out of guest memory");
    const blitPages = BLIT_PITCH * BLIT_H / PAGE_SIZE;
    this.blitSrc = this.ppgttBatches
      ? this.ppgttObject(blitPages)
      : this.ggttObject(blitPages, false);
    this.blitDst = this.ppgttBatches
      ? this.ppgttObject(blitPages)
      : this.ggttObject(blitPages, false);
    this.spareGfn = this.page();
    if (this.blitSrc === null || this.blitDst === null || this.spareGfn < 0) {
      return this.fail("out of guest memory");
    }
    // gen8_ppgtt_notify_vgt: pdp[0] = PML4, then g2v notify
    const pml4Gpa = this.pml4 * PAGE_SIZE;
    this.wr(P + PVINFO.pdp, lo32(pml4Gpa));
    this.wr(P + PVINFO.pdp + 4, hi32(pml4Gpa));
    this.wr(P + PVINFO.g2vNotify, VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE);

    // misbehaviour store target: a GGTT page outside both slices
    this.misOpts.storeBase = this.outOfSliceGma();

    for (const e of this.engines) if (!this.initEngine(e)) return;
    if (!this.initDisplay()) return;
  }

  /** pci_enable_msi: walk the capability list, program address/data, set enable. */
  private enableMsi(): void {
    if (this.cfgBase < 0) return;
    const cap = findMsiCap({ cfgRead: (o, s) => this.cfgRd(o, s) });
    const flags = this.cfgRd(cap + PCI_MSI_FLAGS, 2);
    this.cfgWr(cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDRESS_BASE);
    if (flags & PCI_MSI_FLAGS_64BIT) {
      this.cfgWr(cap + PCI_MSI_ADDRESS_LO + 4, 4, 0);
      this.cfgWr(cap + PCI_MSI_DATA_64, 2, MSI_DATA);
    } else this.cfgWr(cap + PCI_MSI_DATA_32, 2, MSI_DATA);
    this.cfgWr(cap + PCI_MSI_FLAGS, 2, (flags | PCI_MSI_FLAGS_ENABLE) & 0xffff);
    this.msiEnabled = true;
  }

  /** gen8_irq_postinstall: clear IIRs, unmask and enable engine and vblank interrupts. */
  private irqPostinstall(): void {
    const gt = new Uint32Array(4);
    for (const e of this.engines) {
      gt[ENGINES[e].irqGroup] |= engineIrqMask(
        e,
        GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT,
      );
    }
    for (const g of [IRQ_GT0, IRQ_GT1, IRQ_GT3]) {
      const base = IRQ_GROUP_BASE[g];
      this.wr(base + IRQ_IIR, 0xffffffff);
      this.wr(base + IRQ_IMR, ~gt[g] >>> 0);
      this.wr(base + IRQ_IER, gt[g]);
    }
    const pipe = IRQ_GROUP_BASE[IRQ_PIPE_A];
    this.wr(pipe + IRQ_IIR, 0xffffffff);
    this.wr(pipe + IRQ_IMR, ~GEN8_PIPE_VBLANK >>> 0);
    this.wr(pipe + IRQ_IER, GEN8_PIPE_VBLANK);
    this.wr(GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL >>> 0);
  }

  /** Creates an engine's context, ring and status page; enables execlists. */
  private initEngine(e: number): boolean {
    const s = new EngineState(this.maxInFlight);
    s.ctx = this.ggttObject(ENGINES[e].contextPages[PLATFORMS[this.platform].gen], false);
    s.ring = this.ggttObject(RING_BYTES / PAGE_SIZE, false);
    s.hwsp = this.ggttObject(1, true);
    s.store = this.ppgttBatches ? this.ppgttObject(1) : this.ggttObject(1, false);
    if (s.ctx === null || s.ring === null || s.hwsp === null || s.store === null) {
      this.fail("graphics memory slice exhausted at boot");
      return false;
    }
    initRegState(
      this.regState,
      e,
      s.ring.gma,
      RING_BYTES,
      this.pml4 * PAGE_SIZE,
      PLATFORMS[this.platform].gen,
    );
    this.writeDwords(s.ctx, LRC_STATE_PN * PAGE_SIZE, this.regState, 0, 1024);
    // lrc descriptor: valid, 64-bit (4-level) addressing, privilege, LRCA; hw id in the upper dword
    s.descLo = contextDescriptor(s.ctx.gma, LEGACY_64B_CONTEXT);
    s.descHi = ((this.id << 8) | (e + 1)) >>> 0;
    this.wr(ringReg(e, RING_HWS_PGA), s.hwsp.gma);
    this.wr(ringReg(e, RING_MODE), maskedEnable(GFX_RUN_LIST_ENABLE));
    const w = csbWritePtr(this.rd(csbPtrOffset(e)));
    s.csbHead = w >= CSB_ENTRIES ? CSB_ENTRIES - 1 : w; // after a reset the next entry is 0
    this.eng[e] = s;
    return true;
  }

  /** Maps two framebuffers and enables pipe A with its primary plane. */
  private initDisplay(): boolean {
    const pages = Math.ceil((this.width * this.height * 4) / PAGE_SIZE);
    for (let i = 0; i < 2; i++) {
      const o = this.ggttObject(pages, true);
      if (o === null) {
        this.fail(`aperture slice too small for a ${this.width}x${this.height} framebuffer`);
        return false;
      }
      this.fb.push(o);
    }
    this.wr(DSPSTRIDE_A, this.width * 4);
    this.wr(DSPCNTR_A, DISPLAY_PLANE_ENABLE);
    this.wr(DSPSURF_A, this.fb[0].gma);
    this.wr(PIPECONF_A, PIPECONF_ENABLE >>> 0);
    return true;
  }

  /**
   * Asks the device for a function-level reset: sets the FLR bit of the Advanced Features
   * capability in config space (`pcie_flr`/`pci_af_flr`). The hypervisor's device model sees
   * the write and resets the vGPU; then the driver starts over ({@link reset}).
   */
  flr(): void {
    if (this.cfgBase >= 0) {
      const af = findCap({ cfgRead: (o, s) => this.cfgRd(o, s) }, PCI_CAP_ID_AF);
      if (af >= 0) this.cfgWr(af + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
      this.port.takeCost();
    }
    this.reset();
  }

  /**
   * A device reset as the guest sees it (e.g. after a device-model reset): every request in
   * flight is lost, all driver pages are returned, and the next operation boots again.
   */
  reset(): void {
    for (const g of this.owned) this.mem.freePage(g);
    this.owned.clear();
    for (const g of this.hugeGfn) this.mem.freeHugePage(g);
    this.hugeVa.length = 0;
    this.hugeGfn.length = 0;
    this.eng.fill(null);
    this.free.clear();
    this.fb.length = 0;
    this.tables.clear();
    this.churn.length = 0;
    this.churnGfn.length = 0;
    this.rewriteCursor = 0;
    this.pml4 = -1;
    this.spareGfn = -1;
    this.vaNext = PPGTT_HEAP;
    this.flipPending = false;
    this.flipQueued = false;
    this.msiPending = false;
    this.msiEnabled = false;
    this.deferredEngine = -1;
    this.state = "off";
    this.metrics.resets++;
    if (this.waiting !== W_NONE) {
      this.waiting = W_NONE;
      this.waker?.wake();
    }
  }

  /** Allocates a guest page owned by the driver, or -1. */
  private page(): number {
    const g = this.mem.allocPage();
    if (g >= 0) this.owned.add(g);
    return g;
  }

  /** Frees a driver page. */
  private unpage(g: number): void {
    if (this.owned.delete(g)) this.mem.freePage(g);
  }

  // ---- graphics memory ---------------------------------------------------------------------

  /** Allocates guest pages and maps them at consecutive GGTT addresses of a slice. */
  private ggttObject(pages: number, aperture: boolean): GfxObject | null {
    const pv = this.pvinfo;
    const gma = aperture ? this.apNext : this.hidNext;
    const end = aperture ? pv.apertureBase + pv.apertureSize : pv.hiddenBase + pv.hiddenSize;
    if (gma + pages * PAGE_SIZE > end) return null;
    const gfns = new Int32Array(pages);
    for (let i = 0; i < pages; i++) {
      const g = this.page();
      if (g < 0) {
        for (let j = 0; j < i; j++) this.unpage(gfns[j]);
        return null;
      }
      gfns[i] = g;
      this.ggttWrite(gma / PAGE_SIZE + i, g * PAGE_SIZE + GEN8_PAGE_PRESENT);
    }
    if (aperture) this.apNext += pages * PAGE_SIZE;
    else this.hidNext += pages * PAGE_SIZE;
    return new GfxObject(gma, gfns, true);
  }

  /** One GGTT entry write through the GTT window (8 bytes, trapped). */
  private ggttWrite(index: number, pte: number): void {
    this.metrics.ggttWrites++;
    this.wr(GTT_OFFSET + index * 8, pte, 8);
  }

  /** Allocates guest pages and maps them at consecutive PPGTT addresses. */
  private ppgttObject(pages: number): GfxObject | null {
    const gfns = new Int32Array(pages);
    const va = this.vaNext;
    for (let i = 0; i < pages; i++) {
      const g = this.page();
      if (g < 0 || !this.ppgttMap(va + i * PAGE_SIZE, g)) {
        for (let j = 0; j < i; j++) this.unpage(gfns[j]);
        if (g >= 0) this.unpage(g);
        return null;
      }
      gfns[i] = g;
    }
    this.vaNext += pages * PAGE_SIZE;
    return new GfxObject(va, gfns, false);
  }

  /** Writes one page-table entry (through the backend, so it traps if the page is tracked). */
  private pteWrite(tableGfn: number, index: number, value: number): void {
    this.metrics.ppgttWrites++;
    this.cpu += this.cpuPte;
    this.port.guestMemWrite(this.id, tableGfn * PAGE_SIZE + index * 8, 8, value);
  }

  /** Walks/creates the 4-level tables for `va` and returns the PT gfn, or -1. */
  private ptFor(va: number): number {
    const l2 = Math.floor(va / 2 ** 21);
    const pd = this.pdFor(va);
    return pd < 0 ? -1 : this.table(pd, l2 % 512, 2 ** 20 + l2);
  }

  /** Walks/creates the tables down to the page directory of `va`; its gfn, or -1. */
  private pdFor(va: number): number {
    const l4 = Math.floor(va / 2 ** 39), l3 = Math.floor(va / 2 ** 30);
    const pdp = this.table(this.pml4, l4 % 512, l4);
    return pdp < 0 ? -1 : this.table(pdp, l3 % 512, 2 ** 10 + l3);
  }

  /** The next-level table under entry `idx` of `parent` (created and linked if absent). */
  private table(parent: number, idx: number, key: number): number {
    let t = this.tables.get(key);
    if (t === undefined) {
      t = this.page();
      if (t < 0) return -1;
      this.tables.set(key, t);
      this.pteWrite(parent, idx, t * PAGE_SIZE + GEN8_PAGE_PRESENT + GEN8_PAGE_RW);
    }
    return t;
  }

  /** Maps one guest page at `va` in the PPGTT. */
  private ppgttMap(va: number, gfn: number): boolean {
    const pt = this.ptFor(va);
    if (pt < 0) return false;
    this.pteWrite(
      pt,
      Math.floor(va / PAGE_SIZE) % 512,
      gfn * PAGE_SIZE + GEN8_PAGE_PRESENT + GEN8_PAGE_RW,
    );
    return true;
  }

  /** A graphics address outside both slices (where misbehaviour aims). */
  private outOfSliceGma(): number {
    const pv = this.pvinfo;
    if (pv.apertureBase >= PAGE_SIZE && pv.hiddenBase !== 0) return 0;
    const hiEnd = pv.hiddenBase + pv.hiddenSize;
    if (hiEnd + PAGE_SIZE <= 2 ** 32) return hiEnd;
    return pv.apertureBase + pv.apertureSize;
  }

  /** Copies dwords into an object's guest pages (plain CPU stores). */
  private writeDwords(
    o: GfxObject,
    byteOff: number,
    src: Uint32Array,
    from: number,
    n: number,
  ): void {
    // One copy per guest page: rings and batches are plain RAM (never write-protected).
    const mem = this.mem, host = mem.host;
    let i = 0;
    while (i < n) {
      const off = byteOff + i * 4;
      const inPage = Math.min(n - i, bytesToPageEnd(off) >>> 2);
      const mfn = mem.writableMfn(Math.floor(o.gpa(off) / PAGE_SIZE));
      if (mfn < 0) mem.faults += inPage;
      else copyWords(host.page(mfn), pageDword(off), src, from + i, inPage);
      i += inPage;
    }
    this.cpu += n * this.cpuDw;
  }

  /** A batch buffer of at least `pages` pages (power of two), from the cache or new. */
  private batchObject(pages: number, ggtt: boolean): GfxObject | null {
    let p = 1;
    while (p < pages) p *= 2;
    const key = ggtt ? -p : p;
    const list = this.free.get(key);
    if (list !== undefined && list.length > 0) return list.pop()!;
    return ggtt ? this.ggttObject(p, false) : this.ppgttObject(p);
  }

  /** Returns a retired batch buffer to its size-class cache. */
  private releaseBatch(o: GfxObject): void {
    const key = o.ggtt ? -o.gfns.length : o.gfns.length;
    let list = this.free.get(key);
    if (list === undefined) {
      list = [];
      this.free.set(key, list);
    }
    list.push(o);
  }

  // ---- submission --------------------------------------------------------------------------

  /** Writes a request for batch `obj` into the ring and submits if a port is free. */
  private request(e: number, s: EngineState, obj: GfxObject, ppgtt: boolean): void {
    const seq = ++s.seqno;
    const n = ringRequestLength(e);
    const st = this.staging;
    emitRingRequest(st, 0, e, obj.gma, ppgtt, s.hwsp!.gma + HWS_SEQNO_DW * 4, seq);
    this.ringWrite(s, st, n);
    const slot = (s.head + s.count) % this.maxInFlight;
    s.inflightSeq[slot] = seq;
    s.inflightObj[slot] = obj;
    s.count++;
    this.metrics.submitted[e]++;
    if (s.elspOut < 2) this.elspSubmit(e, s);
  }

  /** Copies `n` dwords into the ring at its tail (wrapping with MI_NOOP) and updates RING_TAIL. */
  private ringWrite(s: EngineState, src: Uint32Array, n: number): void {
    const ring = s.ring!;
    if (s.tail + n > RING_DWORDS) {
      const pad = RING_DWORDS - s.tail;
      for (let i = 0; i < pad; i++) this.mem.write32(ring.gpa((s.tail + i) * 4), 0);
      this.cpu += pad * this.cpuDw;
      s.tail = 0;
    }
    this.writeDwords(ring, s.tail * 4, src, 0, n);
    s.tail = (s.tail + n) % RING_DWORDS;
    this.mem.write32(
      s.ctx!.gpa(LRC_STATE_PN * PAGE_SIZE + ctxValueOffset(CTX_RING_TAIL)),
      s.tail * 4,
    );
  }

  /** execlists_submit_ports: element 1 (none) then element 0, upper dword first. */
  private elspSubmit(e: number, s: EngineState): void {
    const elsp = ringReg(e, RING_ELSP);
    if (this.tracer !== null) this.tracer.submitBegin(this.id, e);
    this.wr(elsp, 0);
    this.wr(elsp, 0);
    this.wr(elsp, s.descHi);
    this.wr(elsp, s.descLo);
    if (this.tracer !== null) this.tracer.submitEnd(this.id, e);
    // Latency runs from the ELSP write that hands a request to the GPU.
    for (let k = s.submittedCount; k < s.count; k++) {
      s.inflightTime[(s.head + k) % this.maxInFlight] = this.sim.now;
    }
    s.submittedCount = s.count;
    s.submittedTail = s.tail;
    s.elspOut++;
    this.metrics.elspSubmits[e]++;
  }

  /** Builds a batch, writes it to guest memory and queues its request. */
  private doSubmit(
    e: number,
    mix: Readonly<MixCounts>,
    ggtt: boolean,
    opts: DriverBatchOptions,
  ): boolean {
    const s = this.eng[e]!;
    const len = batchLength(mix, e);
    if (this.staging.length < len) this.staging = new Uint32Array(len * 2);
    const obj = this.batchObject(Math.ceil((len * 4) / PAGE_SIZE), ggtt);
    if (obj === null) return false;
    this.opts.blitSrc = this.blitSrc!.gma;
    this.opts.blitDst = this.blitDst!.gma;
    this.opts.storeBase = s.store!.gma;
    if ((mix.fill ?? 0) > 0 && !this.prepareFill(opts, mix.fill!)) return false;
    buildBatch(mix, e, opts, this.staging, 0);
    this.writeDwords(obj, 0, this.staging, 0, len);
    this.request(e, s, obj, !ggtt);
    return true;
  }

  /**
   * Allocates the `n` render targets of a batch's fills when first needed (display-sized
   * surfaces, so workloads without fills keep their memory layout) and picks this batch's
   * colour: every frame rewrites their pages with new contents. False if memory ran out.
   */
  private prepareFill(opts: DriverBatchOptions, n: number): boolean {
    const fills = opts.fills, pages = Math.ceil((this.width * 4 * this.height) / PAGE_SIZE);
    while (fills.length < n) {
      const o = opts.ggtt ? this.ggttObject(pages, false) : this.ppgttObject(pages);
      if (o === null) return false;
      fills.push({ gma: o.gma, width: this.width, height: this.height, color: 0 });
    }
    const color = (++this.fillSeq * 0x9e3779b1) >>> 0;
    for (let i = 0; i < n; i++) fills[i].color = color;
    return true;
  }

  // ---- DriverPort -------------------------------------------------------------------------

  /** Remembers the workload process to wake after WAIT. */
  bind(waker: Waker): void {
    this.waker = waker;
  }

  /** Boots the driver on first use and after a device reset; 0 once it is up. */
  ready(): number {
    return this.boot();
  }

  /** Builds a batch of `mix` for engine `e`, writes it to memory and submits it. */
  submitBatch(e: number, mix: Readonly<MixCounts>): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    const s = this.eng[e];
    if (s === null || s === undefined) return b;
    if (s.count >= this.maxInFlight) {
      copyMix(this.deferredMix, mix);
      this.deferredEngine = e;
      this.waiting = W_SPACE;
      return WAIT;
    }
    this.port.takeCost();
    this.doSubmit(e, mix, !this.ppgttBatches, this.opts);
    return b + this.spent();
  }

  /**
   * Flips to the other framebuffer once the requests in flight now (the rendering of that
   * frame) have completed, as i915 waits for a framebuffer's fences before the plane update;
   * the frame shows at the vblank after the surface write.
   */
  flip(): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    this.port.takeCost();
    this.fbIndex ^= 1;
    this.metrics.flipsRequested++;
    if (this.idle(-1)) this.commitFlip();
    else {
      for (let e = 0; e < NUM_ENGINES; e++) this.flipFence[e] = this.eng[e]?.seqno ?? 0;
      this.flipQueued = true;
    }
    return b + this.spent();
  }

  /** Writes the plane's surface: the flip completes at the next vblank. */
  private commitFlip(): void {
    this.flipQueued = false;
    this.wr(DSPSURF_A, this.fb[this.fbIndex].gma);
    this.flipPending = true;
    if (this.tracer !== null) this.tracer.guestFlip(this.id);
  }

  /** True once every request the queued flip waits for has retired. */
  private flipFenceDone(): boolean {
    for (let e = 0; e < NUM_ENGINES; e++) {
      const s = this.eng[e];
      if (s !== null && s.count > 0 && s.inflightSeq[s.head] <= this.flipFence[e]) return false;
    }
    return true;
  }

  /** Waits until `engine` (or all engines, -1) has no request in flight. */
  waitCompletion(engine: number): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    if (this.idle(engine)) return b;
    this.waiting = W_COMPLETION;
    this.waitEngine = engine;
    return WAIT;
  }

  /** Waits for the next vblank interrupt. */
  waitVblank(): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    this.waiting = W_VBLANK;
    return WAIT;
  }

  /**
   * Maps `n` fresh guest pages into the PPGTT (page-table writes trap when tracked); `huge`:
   * 2 MiB pages, each one page-directory entry with the PS bit over 512 aligned guest frames.
   */
  mapPages(n: number, huge = false): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    this.port.takeCost();
    if (huge) return b + this.mapHuge(n);
    for (let i = 0; i < n; i++) {
      const g = this.page();
      if (g < 0) break;
      const va = this.vaNext;
      if (!this.ppgttMap(va, g)) {
        this.unpage(g);
        break;
      }
      this.vaNext += PAGE_SIZE;
      this.churn.push(va);
      this.churnGfn.push(g);
      this.metrics.pagesMapped++;
    }
    return b + this.spent();
  }

  /** Unmaps the `n` most recently mapped pages of that size (entry cleared) and frees them. */
  unmapPages(n: number, huge = false): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    this.port.takeCost();
    if (huge) return b + this.unmapHuge(n);
    for (let i = 0; i < n && this.churn.length > 0; i++) {
      const va = this.churn.pop()!;
      const g = this.churnGfn.pop()!;
      const pt = this.ptFor(va);
      if (pt >= 0) this.pteWrite(pt, Math.floor(va / PAGE_SIZE) % 512, 0);
      this.unpage(g);
      this.metrics.pagesUnmapped++;
      if (this.rewriteCursor >= this.churn.length) this.rewriteCursor = 0;
    }
    return b + this.spent();
  }

  /** `map N huge pages`: 2 MiB pages at fresh 2 MiB aligned VAs; the CPU time spent. */
  private mapHuge(n: number): number {
    for (let i = 0; i < n; i++) {
      const g = this.mem.allocHuge();
      if (g < 0) break;
      const va = Math.ceil(this.vaNext / HUGE) * HUGE;
      const pd = this.pdFor(va);
      if (pd < 0) {
        this.mem.freeHugePage(g);
        break;
      }
      this.vaNext = va + HUGE;
      this.pteWrite(
        pd,
        Math.floor(va / HUGE) % 512,
        g * PAGE_SIZE + GEN8_PAGE_PRESENT + GEN8_PAGE_RW + GEN8_PDE_PS_2M,
      );
      this.hugeVa.push(va);
      this.hugeGfn.push(g);
      this.metrics.hugePagesMapped++;
    }
    return this.spent();
  }

  /** `unmap N huge pages`: the most recently mapped 2 MiB pages; the CPU time spent. */
  private unmapHuge(n: number): number {
    for (let i = 0; i < n && this.hugeVa.length > 0; i++) {
      const va = this.hugeVa.pop()!, g = this.hugeGfn.pop()!;
      const pd = this.pdFor(va);
      if (pd >= 0) this.pteWrite(pd, Math.floor(va / HUGE) % 512, 0);
      this.mem.freeHugePage(g);
      this.metrics.hugePagesUnmapped++;
    }
    return this.spent();
  }

  /** The 2 MiB pages mapped now: [graphics (PPGTT) address, first gfn] each. */
  hugeMappings(): [number, number][] {
    return this.hugeVa.map((va, i) => [va, this.hugeGfn[i]]);
  }

  /**
   * Rewrites `n` PTEs of pages mapped by `map` (round robin), each time swapping the page's
   * backing frame with a spare one: the "massive update" pattern of gHyvi.
   */
  pteRewrite(n: number): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    this.port.takeCost();
    if (this.churn.length === 0) {
      const got = this.mapPages(Math.max(1, Math.min(n, 512)));
      if (this.churn.length === 0) return b + got;
      this.cpu += got;
    }
    for (let i = 0; i < n; i++) {
      const k = this.rewriteCursor;
      this.rewriteCursor = (k + 1) % this.churn.length;
      const va = this.churn[k];
      const pt = this.ptFor(va);
      if (pt < 0) break;
      const old = this.churnGfn[k];
      this.churnGfn[k] = this.spareGfn;
      this.spareGfn = old;
      this.pteWrite(pt, Math.floor(va / PAGE_SIZE) % 512, this.churnGfn[k] * PAGE_SIZE + 3);
    }
    return b + this.spent();
  }

  /**
   * Performs misbehaviour `kind` `count` times (see {@link MisbehaviourKind}):
   * `ggtt_out_of_slice` writes GGTT entries outside its slices and then submits a
   * privileged batch storing to that range; `priv_reg_write` a privileged batch of
   * MI_LOAD_REGISTER_IMM to GDRST; `bad_address` MI_STORE_DATA_IMM outside its slices;
   * `rejected_command` MI_UPDATE_GTT in a batch; `ring_garbage` undecodable dwords in the
   * ring, submitted; `random_mmio` writes to random BAR0 registers and then random
   * descriptors into the render ELSP; `insufficient_resources` writes PVINFO rsv5.
   */
  misbehave(kind: MisbehaviourKind, count: number): number {
    const b = this.boot();
    if (this.state !== "running") return b + IDLE_NS;
    this.port.takeCost();
    const n = Math.max(1, Math.floor(count));
    this.metrics.misbehaviours += n;
    const e = this.eng[0] !== null ? 0 : this.engines[0];
    const s = this.eng[e];
    const mix = this.deferredMix;
    switch (kind) {
      case "ggtt_out_of_slice": {
        // map a page outside the slices (the mediator drops these writes), then use it
        const base = this.outOfSliceGma() / PAGE_SIZE;
        for (let i = 0; i < n; i++) this.ggttWrite(base + i, this.spareGfn * PAGE_SIZE + 1);
        zeroMix(mix);
        mix.store = 1;
        if (s) this.doSubmit(e, mix, true, this.misOpts);
        break;
      }
      case "priv_reg_write":
        zeroMix(mix);
        mix.lri = n;
        if (s) this.doSubmit(e, mix, true, this.misOpts);
        break;
      case "bad_address":
        zeroMix(mix);
        mix.store = n;
        if (s) this.doSubmit(e, mix, true, this.misOpts);
        break;
      case "rejected_command":
        if (s) this.submitRejected(e, s, n);
        break;
      case "ring_garbage":
        if (s) {
          const st = this.staging;
          // headers of command type 7, which no engine decodes
          const bad = fieldValue(CMD_TYPE, 7), rest = ~CMD_TYPE.mask >>> 0;
          for (let i = 0; i < n; i++) st[i] = (bad | (this.rng.int(0, rest) & rest)) >>> 0;
          this.ringWrite(s, st, Math.min(n, RING_DWORDS / 2));
          if (s.elspOut < 2) this.elspSubmit(e, s);
        }
        break;
      case "random_mmio": {
        // random registers anywhere in BAR0, then random descriptors into the submit port
        for (let i = 0; i < n; i++) {
          const off = this.rng.int(0, MMIO_SIZE / 4 - 1) * 4;
          this.wr(off, this.rng.int(0, 0x7fffffff));
        }
        const elsp = ringReg(e, RING_ELSP);
        if (this.tracer !== null) this.tracer.submitBegin(this.id, e);
        this.wr(elsp, 0);
        this.wr(elsp, 0);
        this.wr(elsp, this.rng.int(0, 0x7fffffff));
        const lrca = this.rng.int(0, 0x7fffffff) & CTX_DESC_FIELDS.lrca.mask;
        this.wr(elsp, (lrca | GEN8_CTX_VALID) >>> 0);
        if (this.tracer !== null) this.tracer.submitEnd(this.id, e);
        break;
      }
      case "insufficient_resources":
        for (let i = 0; i < n; i++) this.wr(VGT_PVINFO_PAGE + PVINFO.rsv5 + 4 * (i % 4), 1);
        break;
    }
    return b + this.spent();
  }

  /** A privileged (GGTT) batch of `n` MI_UPDATE_GTT commands, which the scanner rejects. */
  private submitRejected(e: number, s: EngineState, n: number): void {
    const len = n * 4 + 2;
    if (this.staging.length < len) this.staging = new Uint32Array(len * 2);
    let o = 0;
    for (let i = 0; i < n; i++) {
      o = emitUpdateGtt(this.staging, o, 0, this.spareGfn * PAGE_SIZE + 1, 1);
    }
    o = emitBatchBufferEnd(this.staging, o);
    if (o & 1) o = emitNoop(this.staging, o);
    const obj = this.batchObject(Math.ceil((o * 4) / PAGE_SIZE), true);
    if (obj === null) return;
    this.writeDwords(obj, 0, this.staging, 0, o);
    this.request(e, s, obj, false);
  }

  // ---- interrupts --------------------------------------------------------------------------

  /** An MSI arrived: wake the interrupt handler. */
  onMsi(_addr: number, _data: number): void {
    this.metrics.msis++;
    this.msiPending = true;
    if (this.irqSleeping) {
      this.irqSleeping = false;
      this.sim.schedule(0, this, 0);
    }
  }

  /** @internal the interrupt handler's resumption */
  describeEvent(): string {
    return "guest interrupt handler";
  }

  /**
   * @internal The interrupt handler, resumed by its events: sleeps until an MSI, handles it
   * (taking the time its accesses cost), applies the effects, then wakes a waiting workload.
   */
  onEvent(_kind: number, _arg: number): void {
    for (;;) {
      if (this.irqPhase === IRQ_TOP) {
        if (!this.msiPending) {
          this.irqSleeping = true;
          return;
        }
        this.msiPending = false;
        this.port.takeCost();
        this.handleIrq();
        this.irqPhase = IRQ_HANDLED;
        const t = this.spent();
        if (t > 0) {
          this.sim.schedule(t, this, 0);
          return;
        }
      }
      if (this.irqPhase === IRQ_HANDLED) {
        this.afterIrq();
        this.irqPhase = IRQ_APPLIED;
        const t2 = this.spent();
        if (t2 > 0) {
          this.sim.schedule(t2, this, 0);
          return;
        }
      }
      this.wakeWaiter();
      this.irqPhase = IRQ_TOP;
    }
  }

  /** gen8_irq_handler: master, IIRs (W1C), CSB; effects are applied by {@link afterIrq}. */
  private handleIrq(): void {
    this.metrics.irqs++;
    const master = this.rd(GEN8_MASTER_IRQ) & ~GEN8_MASTER_IRQ_CONTROL;
    this.wr(GEN8_MASTER_IRQ, 0);
    this.irqMaster = master;
    const iir = this.irqIir;
    iir.fill(0);
    if (master & (GEN8_GT_RCS_IRQ | GEN8_GT_BCS_IRQ)) iir[IRQ_GT0] = this.ackIir(IRQ_GT0);
    if (master & (GEN8_GT_VCS1_IRQ | GEN8_GT_VCS2_IRQ)) iir[IRQ_GT1] = this.ackIir(IRQ_GT1);
    if (master & GEN8_GT_VECS_IRQ) iir[IRQ_GT3] = this.ackIir(IRQ_GT3);
    if (master & GEN8_DE_PIPE_A_IRQ) iir[IRQ_PIPE_A] = this.ackIir(IRQ_PIPE_A);
    this.wr(GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL >>> 0);
    this.csbFreed.fill(0);
    for (const e of this.engines) {
      const bits = engineIrqBits(e, iir[ENGINES[e].irqGroup]);
      if (bits & GT_CONTEXT_SWITCH_INTERRUPT) this.readCsb(e);
    }
  }

  /** Reads a group's IIR and clears what it read (write 1 to clear). */
  private ackIir(group: number): number {
    const reg = IRQ_GROUP_BASE[group] + IRQ_IIR;
    const v = this.rd(reg);
    if (v !== 0) this.wr(reg, v);
    return v;
  }

  /** Reads the CSB entries between the last read pointer and the write pointer. */
  private readCsb(e: number): void {
    const s = this.eng[e]!;
    s.csbHead = walkCsb(this, e, s.csbHead);
  }

  /** A CSB register read: a trapped MMIO read ({@link CsbReader}). */
  csbRead(offset: number): number {
    return this.rd(offset);
  }

  /** A CSB register write: a trapped MMIO write ({@link CsbReader}). */
  csbWrite(offset: number, value: number): void {
    this.wr(offset, value);
  }

  /** Counts a CSB event; a completed or preempted element frees an ELSP port. */
  csbEntry(engine: number, status: number, _ctxId: number): void {
    this.metrics.csbEvents++;
    if (status & (GEN8_CTX_STATUS_COMPLETE | GEN8_CTX_STATUS_PREEMPTED)) this.csbFreed[engine]++;
  }

  /** Retires completed requests (status-page seqno), resubmits, completes flips. */
  private afterIrq(): void {
    const now = this.sim.now;
    for (const e of this.engines) {
      const s = this.eng[e];
      if (s === null) continue;
      const hw = this.mem.read32(s.hwsp!.gpa(HWS_SEQNO_DW * 4));
      while (s.count > 0 && s.inflightSeq[s.head] <= hw) {
        const lat = now - s.inflightTime[s.head];
        this.metrics.latency[e].record(lat);
        this.metrics.latencyAll.record(lat);
        this.metrics.completions.push(now, lat);
        this.metrics.completed[e]++;
        const obj = s.inflightObj[s.head];
        if (obj !== null) this.releaseBatch(obj);
        s.inflightObj[s.head] = null;
        s.head = (s.head + 1) % this.maxInFlight;
        s.count--;
        if (s.submittedCount > 0) s.submittedCount--;
        s.retired = hw;
      }
      s.elspOut = Math.max(0, s.elspOut - this.csbFreed[e]);
      if (s.count === 0 && s.tail === s.submittedTail) s.elspOut = 0;
      if (s.tail !== s.submittedTail && s.elspOut < 2) this.elspSubmit(e, s);
    }
    if (this.irqIir[IRQ_PIPE_A] & GEN8_PIPE_VBLANK) {
      this.metrics.vblanks++;
      if (this.flipPending) {
        this.flipPending = false;
        this.metrics.frames++;
        this.metrics.frameTimes.push(now);
      }
    }
    if (this.flipQueued && this.flipFenceDone()) this.commitFlip();
    if (this.waiting === W_SPACE) {
      const e = this.deferredEngine;
      const s = this.eng[e]!;
      if (s.count < this.maxInFlight) {
        this.doSubmit(e, this.deferredMix, !this.ppgttBatches, this.opts);
        this.deferredEngine = -1;
        this.waiting = W_NONE;
        this.waker?.wake();
      }
    }
  }

  /** True if the engine (or every engine, -1) has nothing in flight. */
  private idle(engine: number): boolean {
    if (engine >= 0) {
      const s = this.eng[engine];
      return s === null || s === undefined || s.count === 0;
    }
    for (const s of this.eng) if (s !== null && s.count > 0) return false;
    return true;
  }

  /** Wakes the workload if what it waits for happened. */
  private wakeWaiter(): void {
    if (this.waiting === W_COMPLETION && this.idle(this.waitEngine)) {
      this.waiting = W_NONE;
      this.waker?.wake();
    } else if (this.waiting === W_VBLANK && (this.irqIir[IRQ_PIPE_A] & GEN8_PIPE_VBLANK)) {
      this.waiting = W_NONE;
      this.waker?.wake();
    }
  }

  /** Requests in flight on an engine. */
  inFlight(engine: number): number {
    return this.eng[engine]?.count ?? 0;
  }

  /** The GGTT address of an engine's context image (for tests and tracing), or -1. */
  contextGma(engine: number): number {
    return this.eng[engine]?.ctx?.gma ?? -1;
  }

  /** Guest-physical address of the PML4 page, or -1 before boot. */
  get pml4Gpa(): number {
    return this.pml4 < 0 ? -1 : this.pml4 * PAGE_SIZE;
  }

  /** Last master IRQ value read by the interrupt handler. */
  get lastMasterIrq(): number {
    return this.irqMaster;
  }
}
