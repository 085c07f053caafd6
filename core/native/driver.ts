/**
 * The native (host) driver: enough of an i915-like gen9 driver to run workloads directly on
 * the physical GPU model. This is the "% of native" baseline.
 *
 * Device level ({@link NativeDriver}): forcewake, execlist mode (RING_MODE run list),
 * interrupt enabling (IER/IMR per group, master, MSI in config space), display pipe A with
 * two framebuffers, a GGTT allocator over the host's slices (mapped through the BAR0 GTT
 * window), and the interrupt handler (master off, read and ack IIRs, process seqnos, CSB
 * events, vblanks, flip-done and CS errors, master on).
 *
 * Per client ({@link NativeClient}, one per workload; it implements {@link DriverPort}): a
 * full 4-level PPGTT, one logical ring context per engine (2-page image, 4-page ring), a
 * status page for breadcrumbs, a pool of batch buffers, store-target pages and blit
 * surfaces. A batch is built with {@link buildBatch}, the request with
 * {@link emitRingRequest}, the context's ring tail updated in its image and the context
 * submitted through ELSP.
 */

import { CSB_ENTRIES, type CsbReader, walkCsb } from "../hw/csb.ts";
import type { EventSink, Sim } from "../sim/sim.ts";
import { WAIT } from "../sim/sim.ts";
import type { MisbehaviourKind, WorkloadSpec } from "../scenario.ts";
import type { Gpu } from "../hw/gpu.ts";
import { OWNER_HOST, PAGE_SIZE, pageDword } from "../hw/memory.ts";
import { entryAddress, entryPresent, GEN8_PAGE_PRESENT, GEN8_PAGE_RW } from "../hw/pte.ts";
import { maskedEnable } from "../hw/bits.ts";
import {
  contextDescriptor,
  CTX_RING_HEAD,
  CTX_RING_TAIL,
  ctxSet,
  initRegState,
  LRC_STATE_PN,
} from "../hw/context.ts";
import { engineIrqBits, engineIrqMask, ENGINES } from "../hw/engines.ts";
import {
  DISPLAY_PLANE_ENABLE,
  DSPCNTR_A,
  DSPSTRIDE_A,
  DSPSURF_A,
  forcewakePairs,
  GDRST,
  GEN8_CTX_L3LLC_COHERENT,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GEN8_PIPE_VBLANK,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  GFX_RUN_LIST_ENABLE,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_CS_MASTER_ERROR_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  GTT_OFFSET,
  IRQ_GROUP_BASE,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_PIPE_A,
  LEGACY_64B_CONTEXT,
  NUM_ENGINES,
  PIPECONF_A,
  PIPECONF_ENABLE,
  RING_ELSP,
  RING_HWS_PGA,
  RING_MODE,
} from "../hw/regs.ts";
import { MSI_ADDRESS_LO, MSI_DATA, MSI_FLAGS } from "../hw/pci.ts";
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
} from "../cmd/batch.ts";
import { ENGINE_NAMES } from "../scenario.ts";
import { type DriverPort, type Waker, WorkloadRunner } from "../workload/runner.ts";
import { RangeAllocator } from "./ggtt_alloc.ts";
import { Ppgtt4 } from "./ppgtt.ts";

/** 4 KiB pages in a 2 MiB page. */
const PAGES_PER_HUGE = 512;
const MiB = 1024 * 1024;
const RCS_ID = 0;
/** Dwords of the scratch buffer batches are built in. */
const SCRATCH_DWORDS = 4096;
const PTE_VALID = GEN8_PAGE_PRESENT | GEN8_PAGE_RW;

/** The native driver could not set itself up (GGTT range or host memory exhausted). */
export class NativeSetupError extends Error {
  /** Discriminator. */
  readonly fault = "native_setup" as const;
  /**
   * Creates the error.
   * @param message what ran out
   */
  constructor(message: string) {
    super(message);
    this.name = "NativeSetupError";
  }
}

/** CPU-side costs of the native driver (ns). */
export interface NativeCosts {
  /** Fixed cost of building and submitting one request. */
  submit: number;
  /** Cost per batch dword written by the CPU. */
  perDword: number;
  /** One MMIO access. */
  mmio: number;
  /** Interrupt handling latency before a waiter resumes. */
  irq: number;
  /** Mapping one page (allocation + PTE write). */
  mapPage: number;
  /** One page-table entry rewrite. */
  pte: number;
}

/** Default native costs. */
export const NATIVE_COSTS: Readonly<NativeCosts> = {
  submit: 2_000,
  perDword: 0.25,
  mmio: 100,
  irq: 1_500,
  mapPage: 400,
  pte: 60,
};

/** Options of the native driver. */
export interface NativeOptions {
  /** Owner tag of everything the driver allocates (default host). */
  owner: number;
  /** GGTT range in the aperture the driver may use. */
  apertureBase: number;
  /** Size of that range (default 128 MiB, the host's share). */
  apertureSize: number;
  /** GGTT range in hidden memory (default: right above the aperture). */
  hiddenBase: number;
  /** Size of that range (default 384 MiB). */
  hiddenSize: number;
  /** Ring size in pages (default 4). */
  ringPages: number;
  /** Run batches from a per-client 4-level PPGTT (default true) or from the GGTT. */
  ppgtt: boolean;
  /** Requests in flight per engine per client before a submit blocks (default 16). */
  maxInflight: number;
  /** Display mode (framebuffer size). */
  width: number;
  /** Display height. */
  height: number;
  /** Blit rectangle width in 32-bit pixels (default 256). */
  blitWidth: number;
  /** Blit rectangle height (default 32). */
  blitHeight: number;
  /** CPU costs. */
  costs: Partial<NativeCosts>;
}

/** Per-engine state of one client. */
interface EngineCtx {
  lrca: number;
  statePage: Uint32Array;
  ringGma: number;
  ringMfns: number[];
  ringSize: number;
  tail: number;
  submitted: number;
  completed: number;
  descLo: number;
  descHi: number;
  slotGma: number[];
  slotPages: number[];
  slotMfns: number[][];
  storeGma: number;
  opts: BatchOptions;
}

/** The device-level native driver. */
export class NativeDriver implements EventSink, CsbReader {
  /** Effective options. */
  readonly opts: NativeOptions;
  /** Effective costs. */
  readonly costs: NativeCosts;
  /** Clients in creation order. */
  readonly clients: NativeClient[] = [];
  /** GGTT allocator over the aperture range. */
  readonly aperture: RangeAllocator;
  /** GGTT allocator over the hidden range. */
  readonly hidden: RangeAllocator;
  /** Interrupts handled. */
  interrupts = 0;
  /** User interrupts seen per engine. */
  readonly userInterrupts = new Float64Array(NUM_ENGINES);
  /** CSB events processed per engine. */
  readonly csbEvents = new Float64Array(NUM_ENGINES);
  /** Engine hangs recovered (GDRST) per engine. */
  readonly hangs = new Float64Array(NUM_ENGINES);
  /** Frames shown (flip-done interrupts). */
  frames = 0;
  /** Vblank interrupts. */
  vblanks = 0;
  /** Flips requested. */
  flipsRequested = 0;
  /** Misbehaviour requests ignored (nothing natively mediates them). */
  misbehavioursIgnored = 0;
  /** Misbehaviours really performed (ring garbage written and submitted). */
  misbehavioursInjected = 0;
  /** Submissions skipped because the engine is absent. */
  skippedSubmits = 0;

  private readonly fb: number[] = [];
  private readonly iir = new Uint32Array(4);
  private fbNext = 1;
  private readonly csbHead = new Int32Array(NUM_ENGINES).fill(CSB_ENTRIES - 1);
  private nextCtxId = 1;

  /**
   * Creates the instance.
   * @param sim the simulation
   * @param gpu the physical GPU
   * @param options overrides
   */
  constructor(readonly sim: Sim, readonly gpu: Gpu, options: Partial<NativeOptions> = {}) {
    this.opts = {
      owner: OWNER_HOST,
      apertureBase: 0,
      apertureSize: Math.min(128 * MiB, gpu.apertureSize),
      hiddenBase: gpu.apertureSize,
      hiddenSize: Math.min(384 * MiB, gpu.hiddenSize),
      ringPages: 4,
      ppgtt: true,
      maxInflight: 16,
      width: 1024,
      height: 768,
      blitWidth: 256,
      blitHeight: 32,
      costs: {},
      ...options,
    };
    this.costs = { ...NATIVE_COSTS, ...this.opts.costs };
    this.aperture = new RangeAllocator(this.opts.apertureBase, this.opts.apertureSize);
    this.hidden = new RangeAllocator(this.opts.hiddenBase, this.opts.hiddenSize);
    this.init();
  }

  /** 32-bit MMIO write. */
  private w(offset: number, value: number): void {
    this.gpu.mmioWrite(offset, 4, value);
  }
  /** 32-bit MMIO read. */
  private r(offset: number): number {
    return this.gpu.mmioRead32(offset);
  }

  /** Device bring-up: forcewake, run lists, interrupts, MSI, display. */
  private init(): void {
    const g = this.gpu;
    const fw = forcewakePairs(g.config.platform);
    for (const [req] of fw) this.w(req, maskedEnable(1));
    this.r(fw[0][1]);
    g.cfgWrite(MSI_ADDRESS_LO, 4, 0xfee00000);
    g.cfgWrite(MSI_DATA, 2, 0x4021);
    g.cfgWrite(MSI_FLAGS, 2, 0x0001);
    g.onMsi = this;
    const engineBits = GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT |
      GT_CS_MASTER_ERROR_INTERRUPT;
    const gtMask = [0, 0, 0, 0];
    for (let e = 0; e < NUM_ENGINES; e++) {
      gtMask[ENGINES[e].irqGroup] |= engineIrqMask(e, engineBits);
      this.w(ENGINES[e].mmioBase + RING_MODE, maskedEnable(GFX_RUN_LIST_ENABLE));
    }
    for (let grp = 0; grp < 4; grp++) {
      this.w(IRQ_GROUP_BASE[grp] + IRQ_IMR, ~gtMask[grp] >>> 0);
      this.w(IRQ_GROUP_BASE[grp] + IRQ_IER, gtMask[grp] >>> 0);
    }
    const pipeBits = GEN8_PIPE_VBLANK | GEN9_PIPE_PLANE1_FLIP_DONE;
    this.w(IRQ_GROUP_BASE[IRQ_PIPE_A] + IRQ_IMR, ~pipeBits >>> 0);
    this.w(IRQ_GROUP_BASE[IRQ_PIPE_A] + IRQ_IER, pipeBits);
    this.w(GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
    // Display: two framebuffers in the aperture, pipe A on.
    const fbPages = Math.ceil((this.opts.width * this.opts.height * 4) / PAGE_SIZE);
    for (let i = 0; i < 2; i++) this.fb.push(this.allocGgtt(this.aperture, fbPages).gma);
    this.w(DSPCNTR_A, DISPLAY_PLANE_ENABLE);
    this.w(DSPSTRIDE_A, this.opts.width * 4);
    this.w(DSPSURF_A, this.fb[0]);
    this.w(PIPECONF_A, PIPECONF_ENABLE);
  }

  /**
   * Allocates `pages` GGTT pages backed by fresh frames; returns the address and frames.
   * Throws {@link NativeSetupError} when the range or memory is exhausted.
   */
  allocGgtt(range: RangeAllocator, pages: number): { gma: number; mfns: number[] } {
    const gma = range.alloc(pages);
    if (gma < 0) throw new NativeSetupError("native driver: GGTT range exhausted");
    const mfns: number[] = [];
    for (let i = 0; i < pages; i++) {
      const mfn = this.gpu.memory.allocFrame(this.opts.owner);
      if (mfn < 0) throw new NativeSetupError("native driver: host memory exhausted");
      mfns.push(mfn);
      this.setGgtt(gma + i * PAGE_SIZE, mfn);
    }
    return { gma, mfns };
  }

  /** Writes the GGTT entry of `gma` through the BAR0 GTT window (mfn -1 clears it). */
  setGgtt(gma: number, mfn: number): void {
    const pte = mfn < 0 ? 0 : mfn * PAGE_SIZE + PTE_VALID;
    this.gpu.mmioWrite(GTT_OFFSET + Math.floor(gma / PAGE_SIZE) * 8, 8, pte);
  }

  /** Frees GGTT pages and their frames. */
  freeGgtt(range: RangeAllocator, gma: number, mfns: number[]): void {
    for (let i = 0; i < mfns.length; i++) {
      this.setGgtt(gma + i * PAGE_SIZE, -1);
      this.gpu.memory.freeFrame(mfns[i]);
    }
    range.free(gma, mfns.length);
  }

  /** Creates a client (a process with its own PPGTT and contexts). */
  createClient(name: string): NativeClient {
    const c = new NativeClient(this, name, this.clients.length);
    this.clients.push(c);
    return c;
  }

  /** @internal a fresh context id */
  newContextId(): number {
    return this.nextCtxId++;
  }

  /** Queues a flip to the other framebuffer (completes at the next vblank). */
  flip(): number {
    this.flipsRequested++;
    this.w(DSPSURF_A, this.fb[this.fbNext]);
    this.fbNext ^= 1;
    return this.costs.mmio;
  }

  /** Submits a context on `engine` through ELSP (element 1 empty). */
  elspSubmit(engine: number, descLo: number, descHi: number): void {
    const elsp = ENGINES[engine].mmioBase + RING_ELSP;
    this.w(elsp, 0);
    this.w(elsp, 0);
    this.w(elsp, descHi);
    this.w(elsp, descLo);
  }

  /** @internal the MSI handler (i915 gen8_irq_handler shape) */
  describeEvent(): string {
    return "native interrupt handler";
  }

  /** @internal the MSI handler (i915 gen8_irq_handler shape) */
  onEvent(): void {
    this.interrupts++;
    this.w(GEN8_MASTER_IRQ, 0);
    const iir = this.iir;
    for (let g = 0; g < 4; g++) {
      const v = this.r(IRQ_GROUP_BASE[g] + IRQ_IIR);
      if (v) this.w(IRQ_GROUP_BASE[g] + IRQ_IIR, v);
      iir[g] = v;
    }
    const pipeIir = this.r(IRQ_GROUP_BASE[IRQ_PIPE_A] + IRQ_IIR);
    if (pipeIir) this.w(IRQ_GROUP_BASE[IRQ_PIPE_A] + IRQ_IIR, pipeIir);
    let completed = false;
    for (let e = 0; e < NUM_ENGINES; e++) {
      const bits = engineIrqBits(e, iir[ENGINES[e].irqGroup]);
      if (bits & GT_CONTEXT_SWITCH_INTERRUPT) this.processCsb(e);
      if (bits & GT_CS_MASTER_ERROR_INTERRUPT) {
        this.recoverHang(e);
        completed = true;
      }
      if (bits & GT_RENDER_USER_INTERRUPT) {
        this.userInterrupts[e]++;
        completed = true;
      }
    }
    const clients = this.clients;
    if (completed) { for (let i = 0; i < clients.length; i++) clients[i].onCompletion(); }
    if (pipeIir & GEN9_PIPE_PLANE1_FLIP_DONE) this.frames++;
    if (pipeIir & GEN8_PIPE_VBLANK) {
      this.vblanks++;
      for (let i = 0; i < clients.length; i++) clients[i].onVblank();
    }
    this.w(GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
  }

  /** Consumes new CSB entries and advances the read pointer. */
  private processCsb(e: number): void {
    this.csbHead[e] = walkCsb(this, e, this.csbHead[e]);
  }

  /** A CSB register read ({@link CsbReader}). */
  csbRead(offset: number): number {
    return this.r(offset);
  }

  /** A CSB register write ({@link CsbReader}). */
  csbWrite(offset: number, value: number): void {
    this.w(offset, value);
  }

  /** Counts a CSB event. */
  csbEntry(engine: number, _status: number, _ctxId: number): void {
    this.csbEvents[engine]++;
  }

  /** Resets a hung engine (GDRST) and abandons its requests. */
  private recoverHang(e: number): void {
    this.hangs[e]++;
    this.w(GDRST, ENGINES[e].resetBit);
    this.csbHead[e] = CSB_ENTRIES - 1;
    for (const c of this.clients) c.abandon(e);
  }
}

/** One client of the native driver: runs one workload; implements {@link DriverPort}. */
export class NativeClient implements DriverPort, EventSink {
  /** Per-engine contexts. */
  private readonly ctx: EngineCtx[] = [];
  /** The client's page tables (when the driver uses PPGTT). */
  readonly ppgtt: Ppgtt4 | null;
  /** Batches submitted per engine. */
  readonly submitted = new Float64Array(NUM_ENGINES);
  /** Pages currently mapped by `map` operations. */
  mappedPages = 0;
  /** PTE rewrites performed. */
  pteRewrites = 0;

  private waker: Waker | null = null;
  private waitEngine = -2;
  private waitVblankFlag = false;
  private blockedEngine = -1;
  private readonly blockedMix: MixCounts = emptyMix();
  private readonly va: RangeAllocator;
  private readonly statusGma: number;
  private readonly statusPage: Uint32Array;
  private readonly blitSrc: number;
  private readonly blitDst: number;
  private readonly mapped: number[] = [];
  private readonly mappedMfn: number[] = [];
  private mapHead = 0;
  private pteCursor = 0;
  private scratch = new Uint32Array(SCRATCH_DWORDS);
  private readonly ringScratch = new Uint32Array(64);
  private curSeq = 0;
  /** The render targets `fill` commands clear (allocated at first use). */
  private readonly fills: FillTarget[] = [];
  /** A flip waits until the requests submitted before it completed (per-engine seqnos). */
  private flipQueued = false;
  private readonly flipFence = new Float64Array(NUM_ENGINES);

  /**
   * Creates the instance.
   * @param drv the device driver
   * @param name client name (the workload's)
   * @param index client index
   */
  constructor(private readonly drv: NativeDriver, readonly name: string, readonly index: number) {
    const gpu = drv.gpu, o = drv.opts;
    this.ppgtt = o.ppgtt ? new Ppgtt4(gpu.memory, o.owner) : null;
    this.va = new RangeAllocator(1 * MiB, 2048 * MiB);
    const st = drv.allocGgtt(drv.aperture, 1);
    this.statusGma = st.gma;
    this.statusPage = gpu.memory.page(st.mfns[0]);
    const blitPages = Math.ceil((o.blitWidth * 4 * o.blitHeight) / PAGE_SIZE);
    this.blitSrc = this.allocData(blitPages);
    this.blitDst = this.allocData(blitPages);
    // Fill the blit source with a recognisable pattern.
    for (let i = 0; i < blitPages * 1024; i++) {
      this.writeData(this.blitSrc + i * 4, (index << 24) ^ i);
    }
    for (let e = 0; e < NUM_ENGINES; e++) this.ctx.push(this.createContext(e));
  }

  /** Display-sized render target `i` of `fill` (allocated at first use), coloured per batch. */
  private fillTarget(i: number): FillTarget {
    const o = this.drv.opts;
    while (this.fills.length <= i) {
      const gma = this.allocData(Math.ceil((o.width * 4 * o.height) / PAGE_SIZE));
      this.fills.push({ gma, width: o.width, height: o.height, color: 0 });
    }
    const f = this.fills[i];
    f.color = (this.curSeq * 0x9e3779b1) >>> 0;
    return f;
  }

  /** Allocates `pages` data pages in the client's address space (PPGTT VA or GGTT). */
  private allocData(pages: number): number {
    const drv = this.drv;
    if (!this.ppgtt) return drv.allocGgtt(drv.hidden, pages).gma;
    const va = this.va.alloc(pages);
    for (let i = 0; i < pages; i++) {
      const mfn = drv.gpu.memory.allocFrame(drv.opts.owner);
      if (va < 0 || mfn < 0 || !this.ppgtt.map(va + i * PAGE_SIZE, mfn)) {
        throw new NativeSetupError("native driver: client address space or memory exhausted");
      }
    }
    return va;
  }

  /** CPU write of a dword at a client address (through the client's page tables). */
  private writeData(addr: number, v: number): void {
    const pa = this.translate(addr);
    if (pa >= 0) this.drv.gpu.memory.write32(pa, v);
  }

  /** Client address to physical (PPGTT walk or GGTT), or -1. */
  translate(addr: number): number {
    if (!this.ppgtt) return this.drv.gpu.ggttTranslate(addr);
    const pte = this.ppgtt.pteAddress(addr);
    if (pte < 0) return -1;
    const mem = this.drv.gpu.memory;
    const lo = mem.read32(pte);
    if (!entryPresent(lo)) return -1;
    return entryAddress(lo, mem.read32(pte + 4)) + (addr % PAGE_SIZE);
  }

  /** Reads a dword at a client address (for checks). */
  readData(addr: number): number {
    const pa = this.translate(addr);
    return pa < 0 ? 0 : this.drv.gpu.memory.read32(pa);
  }

  /** Address of store target `i` on `engine`. */
  storeAddress(engine: number, i: number): number {
    return this.ctx[engine].storeGma + ((i & 1023) << 2);
  }

  /** Blit source and destination addresses. */
  blitSurfaces(): { src: number; dst: number; bytes: number } {
    const o = this.drv.opts;
    return { src: this.blitSrc, dst: this.blitDst, bytes: o.blitWidth * 4 * o.blitHeight };
  }

  /** Sequence number last completed on `engine`. */
  completedSeqno(engine: number): number {
    return this.statusPage[engine * 16];
  }

  /** Allocates a context image and ring for one engine and fills its register state. */
  private createContext(e: number): EngineCtx {
    const drv = this.drv, o = drv.opts, mem = drv.gpu.memory;
    const img = drv.allocGgtt(drv.aperture, 1 + LRC_STATE_PN);
    const ring = drv.allocGgtt(drv.aperture, o.ringPages);
    const statePage = mem.page(img.mfns[LRC_STATE_PN]);
    initRegState(
      statePage,
      e,
      ring.gma,
      o.ringPages * PAGE_SIZE,
      this.ppgtt ? this.ppgtt.pml4 : 0,
      drv.gpu.config.platform.gen,
    );
    const id = drv.newContextId();
    const c: EngineCtx = {
      lrca: img.gma,
      statePage,
      ringGma: ring.gma,
      ringMfns: ring.mfns,
      ringSize: o.ringPages * PAGE_SIZE,
      tail: 0,
      submitted: 0,
      completed: 0,
      descLo: contextDescriptor(img.gma, LEGACY_64B_CONTEXT, GEN8_CTX_L3LLC_COHERENT),
      descHi: id,
      slotGma: new Array(o.maxInflight).fill(-1),
      slotPages: new Array(o.maxInflight).fill(0),
      slotMfns: Array.from({ length: o.maxInflight }, () => [] as number[]),
      storeGma: this.allocData(1),
      opts: null as unknown as BatchOptions,
    };
    const ggtt = !this.ppgtt;
    c.opts = {
      storeAddr: (i: number) => c.storeGma + ((i & 1023) << 2),
      storeValue: (i: number) => ((this.curSeq & 0xffff) << 16 | (i & 0xffff)) >>> 0,
      ggtt,
      blitSrc: this.blitSrc,
      blitDst: this.blitDst,
      blitPitch: o.blitWidth * 4,
      blitWidth: o.blitWidth,
      blitHeight: o.blitHeight,
      fillTarget: (i: number) => this.fillTarget(i),
    };
    this.drv.gpu.mmioWrite(ENGINES[e].mmioBase + RING_HWS_PGA, 4, this.statusGma);
    return c;
  }

  // ------------------------------------------------------------------ DriverPort
  /** DriverPort: remembers the waker of the workload process. */
  bind(waker: Waker): void {
    this.waker = waker;
  }
  /** DriverPort: the device driver is up from its construction. */
  ready(): number {
    return 0;
  }
  /** DriverPort: builds and submits a batch (blocks while too many are in flight). */
  submitBatch(engine: number, mix: Readonly<MixCounts>): number {
    if (!((this.drv.gpu.execlists.present >> engine) & 1)) {
      this.drv.skippedSubmits++;
      return 0;
    }
    const c = this.ctx[engine];
    if (c.submitted - c.completed >= this.drv.opts.maxInflight) {
      this.blockedEngine = engine;
      copyMix(this.blockedMix, mix);
      return WAIT;
    }
    return this.doSubmit(engine, mix);
  }

  /** Writes the batch and the ring request, updates the tail and writes ELSP. */
  private doSubmit(e: number, mix: Readonly<MixCounts>): number {
    const drv = this.drv, c = this.ctx[e], o = drv.opts;
    const seq = ++c.submitted;
    this.curSeq = seq;
    this.submitted[e]++;
    const slot = seq % o.maxInflight;
    const len = batchLength(mix, e);
    const pages = Math.ceil((len * 4) / PAGE_SIZE);
    if (c.slotPages[slot] < pages) this.growSlot(c, slot, pages);
    if (this.scratch.length < len) this.scratch = new Uint32Array(pages * 1024);
    const n = buildBatch(mix, e, c.opts, this.scratch, 0);
    const mem = drv.gpu.memory, mfns = c.slotMfns[slot];
    const src = this.scratch;
    for (let p = 0, off = 0; off < n; p++, off += 1024) {
      const page = mem.page(mfns[p]), m = Math.min(1024, n - off);
      for (let i = 0; i < m; i++) page[i] = src[off + i];
    }
    // Ring request.
    const rl = ringRequestLength(e);
    if (c.tail + rl * 4 > c.ringSize) {
      while (c.tail < c.ringSize) {
        this.ringWrite(c, c.tail, 0);
        c.tail += 4;
      }
      c.tail = 0;
    }
    const statusSeqnoGma = this.statusGma + e * 64;
    const m = emitRingRequest(
      this.ringScratch,
      0,
      e,
      c.slotGma[slot],
      !!this.ppgtt,
      statusSeqnoGma,
      seq,
    );
    for (let i = 0; i < m; i++) this.ringWrite(c, c.tail + i * 4, this.ringScratch[i]);
    c.tail = (c.tail + m * 4) % c.ringSize;
    ctxSet(c.statePage, CTX_RING_TAIL, c.tail);
    drv.elspSubmit(e, c.descLo, c.descHi);
    return drv.costs.submit + n * drv.costs.perDword + 4 * drv.costs.mmio;
  }

  /** Writes one ring dword. */
  private ringWrite(c: EngineCtx, off: number, v: number): void {
    this.drv.gpu.memory.page(c.ringMfns[Math.floor(off / PAGE_SIZE)])[pageDword(off)] = v;
  }

  /** Reallocates a batch slot with at least `pages` pages. */
  private growSlot(c: EngineCtx, slot: number, pages: number): void {
    const drv = this.drv, mem = drv.gpu.memory;
    if (c.slotGma[slot] >= 0) {
      if (this.ppgtt) {
        for (let i = 0; i < c.slotMfns[slot].length; i++) {
          this.ppgtt.unmap(c.slotGma[slot] + i * PAGE_SIZE);
          mem.freeFrame(c.slotMfns[slot][i]);
        }
        this.va.free(c.slotGma[slot], c.slotMfns[slot].length);
      } else drv.freeGgtt(drv.hidden, c.slotGma[slot], c.slotMfns[slot]);
    }
    const want = Math.max(pages, 2);
    if (this.ppgtt) {
      const va = this.va.alloc(want);
      const mfns: number[] = [];
      for (let i = 0; i < want; i++) {
        const mfn = mem.allocFrame(drv.opts.owner);
        if (va < 0 || mfn < 0 || !this.ppgtt.map(va + i * PAGE_SIZE, mfn)) {
          throw new NativeSetupError("native driver: batch memory exhausted");
        }
        mfns.push(mfn);
      }
      c.slotGma[slot] = va;
      c.slotMfns[slot] = mfns;
    } else {
      const a = drv.allocGgtt(drv.hidden, want);
      c.slotGma[slot] = a.gma;
      c.slotMfns[slot] = a.mfns;
    }
    c.slotPages[slot] = want;
  }
  /**
   * DriverPort: flips to the other framebuffer once what was submitted before has completed
   * (the frame's rendering), at once when nothing is in flight.
   */
  flip(): number {
    this.refresh();
    if (this.idle(-1)) return this.drv.flip();
    for (let e = 0; e < NUM_ENGINES; e++) this.flipFence[e] = this.ctx[e].submitted;
    this.flipQueued = true;
    return this.drv.costs.mmio;
  }

  /** True once every request the queued flip waits for has completed. */
  private flipFenceDone(): boolean {
    for (let e = 0; e < NUM_ENGINES; e++) {
      if (this.ctx[e].completed < this.flipFence[e]) return false;
    }
    return true;
  }

  /** True if everything submitted on `engine` (-1: all) has completed. */
  private idle(engine: number): boolean {
    if (engine >= 0) return this.ctx[engine].completed >= this.ctx[engine].submitted;
    for (let e = 0; e < NUM_ENGINES; e++) {
      if (this.ctx[e].completed < this.ctx[e].submitted) return false;
    }
    return true;
  }
  /** DriverPort: waits for completion (WAIT until the user interrupt). */
  waitCompletion(engine: number): number {
    this.refresh();
    if (this.idle(engine)) return 0;
    this.waitEngine = engine;
    return WAIT;
  }
  /** DriverPort: waits for the next vblank interrupt. */
  waitVblank(): number {
    this.waitVblankFlag = true;
    return WAIT;
  }
  /**
   * DriverPort: allocates and maps pages. A 2 MiB page is its 512 frames, paid as one map
   * (one page-directory entry natively).
   */
  mapPages(n: number, huge = false): number {
    if (huge) return this.mapPages(n * PAGES_PER_HUGE) / PAGES_PER_HUGE;
    const drv = this.drv;
    for (let i = 0; i < n; i++) {
      const mfn = drv.gpu.memory.allocFrame(drv.opts.owner);
      if (mfn < 0) return i * drv.costs.mapPage;
      let addr: number;
      if (this.ppgtt) {
        addr = this.va.alloc(1);
        this.ppgtt.map(addr, mfn);
      } else {
        addr = drv.hidden.alloc(1);
        drv.setGgtt(addr, mfn);
      }
      this.mapped.push(addr);
      this.mappedMfn.push(mfn);
      this.mappedPages++;
    }
    return n * drv.costs.mapPage;
  }
  /** DriverPort: unmaps and frees the oldest mapped pages (2 MiB ones as their 512 frames). */
  unmapPages(n: number, huge = false): number {
    if (huge) return this.unmapPages(n * PAGES_PER_HUGE) / PAGES_PER_HUGE;
    const drv = this.drv;
    let done = 0;
    while (done < n && this.mapHead < this.mapped.length) {
      const addr = this.mapped[this.mapHead], mfn = this.mappedMfn[this.mapHead];
      this.mapHead++;
      if (this.ppgtt) {
        this.ppgtt.unmap(addr);
        this.va.free(addr, 1);
      } else {
        drv.setGgtt(addr, -1);
        drv.hidden.free(addr, 1);
      }
      drv.gpu.memory.freeFrame(mfn);
      this.mappedPages--;
      done++;
    }
    if (this.mapHead > 1024 && this.mapHead * 2 > this.mapped.length) {
      this.mapped.splice(0, this.mapHead);
      this.mappedMfn.splice(0, this.mapHead);
      this.mapHead = 0;
    }
    return done * drv.costs.mapPage;
  }
  /** DriverPort: rewrites PTEs of mapped pages. */
  pteRewrite(n: number): number {
    const drv = this.drv;
    const live = this.mapped.length - this.mapHead;
    for (let i = 0; i < n; i++) {
      if (live > 0) {
        const k = this.mapHead + (this.pteCursor++ % live);
        const addr = this.mapped[k];
        if (this.ppgtt) this.ppgtt.rewrite(addr);
        else drv.setGgtt(addr, this.mappedMfn[k]);
      } else {
        const addr = this.ctx[0].storeGma;
        if (this.ppgtt) this.ppgtt.rewrite(addr);
        else drv.setGgtt(addr, Math.floor(drv.gpu.ggttTranslate(addr) / PAGE_SIZE));
      }
      this.pteRewrites++;
    }
    return n * drv.costs.pte;
  }
  /**
   * DriverPort: natively nothing mediates misbehaviour. `ring_garbage` really writes
   * undecodable dwords into the render ring and submits them: the GPU hangs the context
   * and the interrupt handler recovers with a GDRST engine reset. Other kinds are counted
   * and skipped.
   */
  misbehave(kind: MisbehaviourKind, count: number): number {
    const drv = this.drv;
    if (kind !== "ring_garbage" || !((drv.gpu.execlists.present >> RCS_ID) & 1)) {
      drv.misbehavioursIgnored += count;
      return 0;
    }
    const c = this.ctx[RCS_ID];
    for (let i = 0; i < count; i++) {
      if (c.tail + 8 > c.ringSize) {
        while (c.tail < c.ringSize) {
          this.ringWrite(c, c.tail, 0);
          c.tail += 4;
        }
        c.tail = 0;
      }
      this.ringWrite(c, c.tail, 0xffffffff);
      this.ringWrite(c, c.tail + 4, 0);
      c.tail = (c.tail + 8) % c.ringSize;
    }
    ctxSet(c.statePage, CTX_RING_TAIL, c.tail);
    drv.elspSubmit(RCS_ID, c.descLo, c.descHi);
    drv.misbehavioursInjected += count;
    return drv.costs.submit + 4 * drv.costs.mmio;
  }

  // ------------------------------------------------------------------ interrupt side

  /** Reads completed seqnos from the status page. */
  private refresh(): void {
    for (let e = 0; e < NUM_ENGINES; e++) {
      const c = this.ctx[e];
      const s = this.statusPage[e * 16];
      if (s > c.completed && s <= c.submitted) c.completed = s;
    }
  }

  /** @internal after user interrupts / hangs */
  onCompletion(): void {
    this.refresh();
    if (this.flipQueued && this.flipFenceDone()) {
      this.flipQueued = false;
      this.drv.flip();
    }
    if (this.blockedEngine >= 0) {
      const e = this.blockedEngine, c = this.ctx[e];
      if (c.submitted - c.completed < this.drv.opts.maxInflight) {
        this.blockedEngine = -1;
        const cost = this.doSubmit(e, this.blockedMix);
        this.drv.sim.schedule(this.drv.costs.irq + cost, this, 0);
      }
      return;
    }
    if (this.waitEngine !== -2 && this.idle(this.waitEngine)) {
      this.waitEngine = -2;
      this.drv.sim.schedule(this.drv.costs.irq, this, 0);
    }
  }

  /** @internal on vblank */
  onVblank(): void {
    if (this.waitVblankFlag) {
      this.waitVblankFlag = false;
      this.drv.sim.schedule(this.drv.costs.irq, this, 0);
    }
  }

  /** @internal after an engine reset: requests on `engine` are abandoned. */
  abandon(engine: number): void {
    const c = this.ctx[engine];
    c.completed = c.submitted;
    this.statusPage[engine * 16] = c.submitted;
    ctxSet(c.statePage, CTX_RING_HEAD, c.tail);
  }

  /** @internal delayed wake: resumes the workload process */
  describeEvent(): string {
    return "native workload wake";
  }

  /** @internal delayed wake: resumes the workload process */
  onEvent(): void {
    this.waker?.wake();
  }
}

/** What a native run reports. */
export interface NativeResult {
  /** Simulated duration (ns). */
  duration: number;
  /** Per engine: name, busy ns, utilization (0..1), commands, dwords, batches. */
  engines: {
    name: string;
    busyNs: number;
    utilization: number;
    commands: number;
    dwords: number;
    batches: number;
  }[];
  /** Commands executed (all engines). */
  commands: number;
  /** Frames shown (flips completed). */
  frames: number;
  /** Vblanks seen. */
  vblanks: number;
  /** Interrupts (MSIs) handled. */
  interrupts: number;
  /** Command faults. */
  faults: number;
  /** Engine hangs recovered. */
  hangs: number;
  /** Per workload: name and its runner counters. */
  workloads: { name: string; batches: number; flips: number; finished: boolean }[];
}

/** A native run in progress: the driver, its clients and the workload runners. */
export interface NativeRun {
  /** The driver. */
  driver: NativeDriver;
  /** Runners, one per workload. */
  runners: WorkloadRunner[];
  /** Summary as of now. */
  result(): NativeResult;
}

/**
 * Starts `workloads` natively on `gpu` (one client each, random stream
 * `native:<name>`); run the simulation yourself, then call `result()`.
 */
export function startNative(
  sim: Sim,
  gpu: Gpu,
  workloads: readonly WorkloadSpec[],
  options: Partial<NativeOptions> = {},
): NativeRun {
  const driver = new NativeDriver(sim, gpu, options);
  const t0 = sim.now;
  const runners = workloads.map((w) => {
    const client = driver.createClient(w.name);
    const r = new WorkloadRunner(sim, w, client, sim.streams.stream(`native:${w.name}`));
    r.spawn();
    return r;
  });
  return {
    driver,
    runners,
    result(): NativeResult {
      const c = gpu.counters();
      const duration = sim.now - t0;
      const engines = ENGINE_NAMES.map((name, e) => {
        const commands = Object.values(c.commands[e]).reduce((a, b) => a + b, 0);
        return {
          name,
          busyNs: c.busyNs[e],
          utilization: duration > 0 ? c.busyNs[e] / duration : 0,
          commands,
          dwords: c.dwords[e],
          batches: c.batches[e],
        };
      });
      return {
        duration,
        engines,
        commands: engines.reduce((a, e) => a + e.commands, 0),
        frames: driver.frames,
        vblanks: driver.vblanks,
        interrupts: driver.interrupts,
        faults: c.commandFaults,
        hangs: Array.from(driver.hangs).reduce((a, b) => a + b, 0),
        workloads: runners.map((r) => ({
          name: r.spec.name,
          batches: r.counters.batches,
          flips: r.counters.flips,
          finished: r.finished,
        })),
      };
    },
  };
}

/** Runs `workloads` natively for `duration` ns and returns the summary. */
export function runNative(
  sim: Sim,
  gpu: Gpu,
  workloads: readonly WorkloadSpec[],
  duration: number,
  options: Partial<NativeOptions> = {},
): NativeResult {
  const run = startNative(sim, gpu, workloads, options);
  sim.runUntil(sim.now + duration);
  return run.result();
}
