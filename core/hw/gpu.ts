/**
 * The physical GPU (gen9 Skylake GT2 defaults, every size configurable): BAR0 with a
 * table-driven 2 MiB register space and the GGTT window at 8 MiB, the GGTT itself, fences,
 * PCI config space with MSI, forcewake, GDRST, the interrupt unit, display pipes, and four
 * engines with execlists and a command streamer.
 *
 * Accesses never throw: MMIO/GTT accessors return {@link MmioFault} / {@link GttFault}
 * objects, command faults hang the engine's context and land in {@link Gpu.faults}.
 * Interrupts leave the GPU as MSIs through {@link Gpu.onMsi} (an {@link EventSink}
 * scheduled at the current time with `kind` = MSI data and `arg` = MSI address), so the
 * host (native driver or mediator) handles them in its own event.
 */

import { bytesAt, hi32, join64, lo32, maskedMerge, withBytes } from "./bits.ts";
import type { EventSink, Sim } from "../sim/sim.ts";
import { ENGINE_NAMES, type EngineName, type HostSpec } from "../scenario.ts";
import { COMMANDS, costTable, KIND_NAMES, NUM_KINDS } from "../cmd/table.ts";
import { type CommandFault, GttFault, MmioFault } from "./fault.ts";
import { Iommu, SCRATCH_IOVA } from "./iommu.ts";
import { HostMemory, OWNER_HOST, PAGE_SIZE, pageOffset } from "./memory.ts";
import { entryAddress, entryPresent } from "./pte.ts";
import { engineIdOf, engineIrqMask, ENGINES } from "./engines.ts";
import { IrqUnit } from "./irq.ts";
import { Display } from "./display.ts";
import { PciConfig } from "./pci.ts";
import { CommandStreamer, StreamerStats } from "./streamer.ts";
import { ENGINE_BUSY, ENGINE_HUNG, Execlists } from "./execlist.ts";
import {
  buildRegisterDefs,
  REG_MASKED,
  REG_RO,
  REG_W1C,
  type RegDef,
  SEM_CSB_PTR,
  SEM_DSPSURF,
  SEM_ELSP,
  SEM_EXECLIST_STATUS,
  SEM_FORCEWAKE,
  SEM_GDRST,
  SEM_IRQ,
  SEM_MASTER_IRQ,
  SEM_PIPECONF,
  SEM_PLAIN,
  SEM_TIMESTAMP,
} from "./regdefs.ts";
import { DEFAULT_PLATFORM, type Platform, platformOf } from "./platform.ts";
import { FORCEWAKE } from "./registers/gt.ts";
import {
  BAR0_SIZE,
  GEN6_GRDOM_FULL,
  GTT_OFFSET,
  MMIO_SIZE,
  NUM_ENGINES,
  NUM_PIPES,
  RING_EXECLIST_STATUS_LO,
  RING_TIMESTAMP_UDW,
} from "./regs.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const costTableNames: readonly string[] = COMMANDS.map((c) => c.name);

/** GPU configuration (all sizes in bytes). */
export interface GpuConfig {
  /** CPU-visible aperture (default 512 MiB). */
  aperture: number;
  /** GGTT address space (default 4 GiB; 8-byte entries, one per 4 KiB page). */
  ggtt: number;
  /** Fence registers (default 32). */
  fences: number;
  /** Engines present (default all four). */
  engines: EngineName[];
  /** Host physical memory (default 4 GiB, sparse). */
  hostMemoryBytes: number;
  /** Display refresh rate (default 60 Hz). */
  refreshHz: number;
  /** Command cost overrides: command name -> ns. */
  commandCosts: Record<string, number>;
  /** Blit throughput in bytes per ns (default 8, i.e. 8 GB/s). */
  blitBytesPerNs: number;
  /** Blits move their pixels (default true; false: cost, page walk and checks only). */
  blitData: boolean;
  /** Time to switch in (restore) a logical ring context per element (default 1000 ns). */
  contextSwitchNs: number;
  /** Platform profile: which registers exist and what commands may write. */
  platform: Platform;
  /** IOMMU domains (the host's and one per vGPU id; default 16, gScale mode asks for more). */
  iommuDomains?: number;
}

/** Default configuration: gen9 Skylake GT2. */
export const SKYLAKE_GT2: Readonly<GpuConfig> = {
  aperture: 512 * MiB,
  ggtt: 4 * GiB,
  fences: 32,
  engines: [...ENGINE_NAMES],
  hostMemoryBytes: 4 * GiB,
  refreshHz: 60,
  commandCosts: {},
  blitBytesPerNs: 8,
  blitData: true,
  contextSwitchNs: 1000,
  platform: DEFAULT_PLATFORM,
};

/** The GPU configuration a scenario's host section asks for. */
export function gpuConfigFromHost(host: HostSpec): Partial<GpuConfig> {
  return {
    aperture: host.aperture,
    ggtt: host.ggtt,
    fences: host.fences,
    engines: [...host.engines],
    refreshHz: host.refreshHz,
    blitData: host.blitData ?? true,
    commandCosts: { ...host.commandCosts },
    platform: platformOf(host.gpu) ?? DEFAULT_PLATFORM,
  };
}

/** Counters of the physical GPU as plain data. */
export interface GpuCounters {
  /** Commands per engine, by kind name. */
  commands: Record<string, number>[];
  /** Commands per command name (only names executed at least once). */
  byCommand: Record<string, number>;
  /** Dwords executed per engine. */
  dwords: number[];
  /** Busy time per engine (ns). */
  busyNs: number[];
  /** Context elements executed per engine. */
  elements: number[];
  /** Batch buffers started per engine. */
  batches: number[];
  /** CSB events per engine. */
  csbEvents: number[];
  /** Interrupt events raised per group. */
  irqRaised: number[];
  /** MSIs sent. */
  msis: number;
  /** MSIs not sent because MSI was disabled in config space. */
  msisDisabled: number;
  /** Vblanks per pipe. */
  vblanks: number[];
  /** Completed flips per pipe. */
  flips: number[];
  /** MMIO reads / writes / faults. */
  mmioReads: number;
  /** MMIO writes. */
  mmioWrites: number;
  /** Refused MMIO accesses. */
  mmioFaults: number;
  /** GGTT entry writes. */
  ggttWrites: number;
  /** Command faults. */
  commandFaults: number;
  /** Blit bytes. */
  blitBytes: number;
  /** Writes dropped on the scratch page. */
  scratchWrites: number;
  /** Engine resets (GDRST). */
  engineResets: number;
}

/**
 * What a GPU derives from its platform's register definitions, one word per register dword:
 * flags, side-effect class, unit, read-only bits, reset value. Never written (the static parts
 * of a world, core/snapshot_state.ts `SNAPSHOT_STATIC`), so built once per platform and fence
 * count and shared by every GPU of the process: a world build does not allocate and fill
 * 6 MiB of them again.
 */
export interface RegisterTables {
  /** The register definitions (frozen). */
  readonly defs: readonly RegDef[];
  /** REG_* flags per dword. */
  readonly flags: Uint8Array;
  /** Side-effect class (SEM_*) per dword. */
  readonly sem: Uint8Array;
  /** Unit per dword. */
  readonly unit: Int16Array;
  /** Read-only bits per dword. */
  readonly ro: Uint32Array;
  /** Value after reset per dword. */
  readonly reset0: Uint32Array;
}

const registerTablesOf = new WeakMap<Platform, Map<number, RegisterTables>>();

/** The {@link RegisterTables} of `platform` with `fences` fence registers (built on first use). */
export function registerTables(fences: number, platform: Platform): RegisterTables {
  let byFences = registerTablesOf.get(platform);
  if (byFences === undefined) registerTablesOf.set(platform, byFences = new Map());
  let t = byFences.get(fences);
  if (t === undefined) {
    const defs = Object.freeze(buildRegisterDefs(fences, platform).map((d) => Object.freeze(d)));
    const n = MMIO_SIZE / 4;
    t = {
      defs,
      flags: new Uint8Array(n),
      sem: new Uint8Array(n),
      unit: new Int16Array(n),
      ro: new Uint32Array(n),
      reset0: new Uint32Array(n),
    };
    for (const d of defs) {
      const i = d.offset >> 2;
      t.flags[i] = d.flags;
      t.sem[i] = d.sem;
      t.unit[i] = d.unit;
      t.ro[i] = d.roMask;
      t.reset0[i] = d.reset;
    }
    byFences.set(fences, t);
  }
  return t;
}

/** The physical GPU. */
export class Gpu {
  /** Effective configuration. */
  readonly config: Readonly<GpuConfig>;
  /** Host physical memory. */
  readonly memory: HostMemory;
  /** DMA remapping between the GPU and host memory (one domain per vGPU, 0 the host's). */
  readonly iommu: Iommu;
  /**
   * The IOMMU domain of each GGTT entry's device address: a vGPU's slices hold addresses its
   * backend mapped in its domain; everything else is the host's (0).
   */
  readonly ggttDomain: Uint16Array;
  /** BAR0 register space as dwords (2 MiB). */
  readonly regs: Uint32Array = new Uint32Array(MMIO_SIZE / 4);
  /** The register-definition table. */
  readonly registerDefs: readonly RegDef[];
  /** GGTT entries: low dwords. */
  readonly ggttLo: Uint32Array;
  /** GGTT entries: high dwords. */
  readonly ggttHi: Uint32Array;
  private readonly dirtyFlag: Uint8Array;
  private dirtyList = new Int32Array(PAGE_SIZE);
  private dirtyCount = 0;
  /** Number of GGTT entries. */
  readonly ggttEntries: number;
  /** Interrupt unit. */
  readonly irq: IrqUnit;
  /** Display pipes. */
  readonly display: Display;
  /** PCI configuration space. */
  readonly pci: PciConfig;
  /** The command streamer of each engine (one cost vector and one set of statistics). */
  readonly streamers: readonly CommandStreamer[];
  /** Command statistics of all engines. */
  readonly streamerStats: StreamerStats = new StreamerStats();
  /** Cost per command id (ns) the streamers charge. */
  readonly commandCosts: Float64Array;
  /** Execlist front ends. */
  readonly execlists: Execlists;
  /** Command faults so far (oldest first; capped at 1000, the count keeps going). */
  readonly faults: CommandFault[] = [];
  /** Where MSIs go (kind = MSI data, arg = MSI address); null drops them. */
  onMsi: EventSink | null = null;
  /** Names of cost overrides that matched no command. */
  readonly unknownCosts: string[];

  // the platform's RegisterTables, shared with every GPU of the platform (never written)
  private readonly flags: Uint8Array;
  private readonly sem: Uint8Array;
  private readonly unit: Int16Array;
  private readonly ro: Uint32Array;
  private readonly reset0: Uint32Array;
  private readonly ctxOwners = new Map<number, number>();
  private readonly ctxDomains = new Map<number, number>();
  private msis = 0;
  private msisDisabled = 0;
  private mmioReads = 0;
  private mmioWrites = 0;
  private mmioFaults = 0;
  private ggttWrites = 0;
  private commandFaults = 0;
  private engineResets = 0;
  private readonly msiSink: EventSink;

  /**
   * Creates the instance.
   * @param sim the simulation
   * @param config overrides of {@link SKYLAKE_GT2}
   */
  constructor(readonly sim: Sim, config: Partial<GpuConfig> = {}) {
    this.config = { ...SKYLAKE_GT2, ...config };
    const c = this.config;
    this.memory = new HostMemory(c.hostMemoryBytes);
    this.iommu = new Iommu(this.memory.frames, this.memory.scratchMfn, c.iommuDomains);
    this.ggttEntries = Math.floor(c.ggtt / PAGE_SIZE);
    this.ggttDomain = new Uint16Array(this.ggttEntries);
    this.ggttLo = new Uint32Array(this.ggttEntries);
    this.ggttHi = new Uint32Array(this.ggttEntries);
    this.dirtyFlag = new Uint8Array(this.ggttEntries);
    const t = registerTables(Math.min(c.fences, 32), c.platform);
    this.registerDefs = t.defs;
    this.flags = t.flags;
    this.sem = t.sem;
    this.unit = t.unit;
    this.ro = t.ro;
    this.reset0 = t.reset0;
    // (not a 2 MiB copy: the other words are zeros already)
    for (const d of t.defs) this.regs[d.offset >> 2] = d.reset;
    this.irq = new IrqUnit(this.regs, () => this.sendMsi());
    this.display = new Display(sim, this.regs, this.irq, c.refreshHz);
    this.pci = new PciConfig(BAR0_SIZE, c.aperture, c.platform.deviceId);
    const costs = costTable(c.commandCosts);
    this.unknownCosts = costs.unknown;
    this.commandCosts = costs.cost;
    this.streamers = ENGINES.map((_, e) =>
      new CommandStreamer(this, e, this.streamerStats, costs.cost, c.blitBytesPerNs, c.blitData)
    );
    this.execlists = new Execlists(this);
    this.execlists.contextSwitchNs = c.contextSwitchNs;
    let present = 0;
    for (const n of c.engines) present |= 1 << engineIdOf(n);
    this.execlists.present = present;
    this.msiSink = {
      onEvent: (kind: number, arg: number): void => {
        if (this.onMsi) this.onMsi.onEvent(kind, arg);
      },
    };
  }

  // ------------------------------------------------------------------ sizes

  /** Aperture size (bytes). */
  get apertureSize(): number {
    return this.config.aperture;
  }

  /** Hidden (high) graphics memory size: GGTT space above the aperture. */
  get hiddenSize(): number {
    return this.ggttEntries * PAGE_SIZE - this.config.aperture;
  }

  /** Number of fence registers. */
  get fenceCount(): number {
    return Math.min(this.config.fences, 32);
  }

  // ------------------------------------------------------------------ MMIO

  /** Checks an access; returns a fault or null. */
  checkMmio(offset: number, size: number, write: boolean): MmioFault | null {
    if (size > 8) return new MmioFault("too_large", offset, size, write);
    if ((size !== 1 && size !== 2 && size !== 4 && size !== 8) || offset % size !== 0) {
      return new MmioFault("misaligned", offset, size, write);
    }
    if (offset >= 0 && offset + size <= MMIO_SIZE) return null;
    if (offset >= GTT_OFFSET && offset + size <= GTT_OFFSET + this.ggttEntries * 8) return null;
    return new MmioFault("out_of_range", offset, size, write);
  }

  /** Reads `size` bytes (1, 2, 4, 8) of BAR0 at `offset`; 8-byte values as numbers. */
  mmioRead(offset: number, size: number): number | MmioFault {
    const f = this.checkMmio(offset, size, false);
    if (f) {
      this.mmioFaults++;
      return f;
    }
    this.mmioReads++;
    if (offset >= GTT_OFFSET) {
      const idx = (offset - GTT_OFFSET) >>> 3;
      if (size === 8) return join64(this.ggttLo[idx], this.ggttHi[idx]);
      // one dword of the entry (a 64-bit number is exact only up to 2^53)
      const dw = (offset & 4) ? this.ggttHi[idx] : this.ggttLo[idx];
      return size === 4 ? dw : bytesAt(dw, offset & 3, size);
    }
    if (size === 8) return join64(this.readReg(offset), this.readReg(offset + 4));
    const dw = this.readReg(offset & ~3);
    return size === 4 ? dw : bytesAt(dw, offset & 3, size);
  }

  /** 32-bit MMIO read for callers that know the offset is valid (faults read as 0). */
  mmioRead32(offset: number): number {
    const v = this.mmioRead(offset, 4);
    return typeof v === "number" ? v : 0;
  }

  /** Writes `size` bytes of BAR0 at `offset`; returns a fault or null. */
  mmioWrite(offset: number, size: number, value: number): MmioFault | null {
    const f = this.checkMmio(offset, size, true);
    if (f) {
      this.mmioFaults++;
      return f;
    }
    this.mmioWrites++;
    if (offset >= GTT_OFFSET) {
      const idx = (offset - GTT_OFFSET) >>> 3;
      if (size === 8) this.ggttWrite(idx, value);
      else {
        const arr = (offset & 4) ? this.ggttHi : this.ggttLo;
        arr[idx] = size === 4 ? value : withBytes(arr[idx], offset & 3, size, value);
        this.ggttWrites++;
        this.markGgttDirty(idx);
      }
      return null;
    }
    if (size === 8) {
      this.writeReg(offset, lo32(value));
      this.writeReg(offset + 4, hi32(value));
    } else if (size === 4) this.writeReg(offset, value >>> 0);
    else {
      const a = offset & ~3;
      this.writeReg(a, withBytes(this.regs[a >> 2], offset & 3, size, value));
    }
    return null;
  }

  /** A register dword as the CPU reads it (with read side effects). */
  private readReg(offset: number): number {
    const i = offset >> 2;
    switch (this.sem[i]) {
      case SEM_TIMESTAMP: {
        const ticks = Math.floor((this.sim.now * 12) / 1000);
        return pageOffset(offset) === RING_TIMESTAMP_UDW ? hi32(ticks) : lo32(ticks);
      }
      case SEM_EXECLIST_STATUS: {
        const e = this.unit[i];
        return (offset - ENGINES[e].mmioBase) === RING_EXECLIST_STATUS_LO
          ? this.execlists.statusLo(e)
          : this.execlists.currentContextId(e);
      }
      case SEM_MASTER_IRQ:
        return this.irq.readMaster();
      default:
        return this.regs[i];
    }
  }

  /** A register dword write with the table's semantics and side effects. */
  private writeReg(offset: number, v: number): void {
    const i = offset >> 2;
    const f = this.flags[i];
    if (f & REG_RO) return;
    const old = this.regs[i];
    let nv: number;
    if (f & REG_MASKED) nv = maskedMerge(old, v);
    else if (f & REG_W1C) nv = old & ~v;
    else nv = v;
    const ro = this.ro[i];
    if (ro !== 0) nv = (nv & ~ro) | (old & ro);
    this.regs[i] = nv;
    const s = this.sem[i];
    if (s === SEM_PLAIN) return;
    const u = this.unit[i];
    switch (s) {
      case SEM_ELSP:
        this.execlists.elspWrite(u, v);
        break;
      case SEM_IRQ:
      case SEM_MASTER_IRQ:
        this.irq.update();
        break;
      case SEM_GDRST:
        this.gdrst(nv);
        break;
      case SEM_FORCEWAKE:
        this.regs[FORCEWAKE[u].ack >> 2] = nv & 0xffff;
        break;
      case SEM_PIPECONF:
        this.display.pipeconf(u, nv);
        break;
      case SEM_DSPSURF:
        this.display.surf(u);
        break;
      case SEM_CSB_PTR:
        break;
    }
  }

  /** GDRST write: resets the selected engines; the bits self-clear. */
  private gdrst(v: number): void {
    for (let e = 0; e < NUM_ENGINES; e++) {
      if ((v & GEN6_GRDOM_FULL) || (v & ENGINES[e].resetBit)) this.resetEngine(e);
    }
    this.regs[0x941c >> 2] = 0; // reset completes at once: the bits self-clear
  }

  /** Resets one engine (what a GDRST bit does). */
  resetEngine(engine: number): void {
    this.engineResets++;
    this.execlists.reset(engine);
  }

  /** Register value for commands (SRM/LRR source). */
  cmdRegRead(offset: number): number {
    if (offset < 0 || offset >= MMIO_SIZE) return 0;
    return this.readReg(offset & ~3);
  }

  /**
   * Register write from a command (LRI/LRM/LRR): plain and masked registers only; writes to
   * registers with side effects (ELSP, interrupts, GDRST, display) are ignored and counted.
   */
  cmdRegWrite(offset: number, value: number): void {
    if (offset < 0 || offset >= MMIO_SIZE) {
      this.streamerStats.ignoredRegWrites++;
      return;
    }
    const i = offset >> 2;
    if (this.sem[i] !== SEM_PLAIN || (this.flags[i] & REG_RO)) {
      this.streamerStats.ignoredRegWrites++;
      return;
    }
    this.writeReg(offset & ~3, value >>> 0);
  }

  /** MI_DISPLAY_FLIP from a command stream. */
  commandFlip(pipe: number, surface: number): void {
    this.display.commandFlip(pipe, surface);
  }

  /** MI_USER_INTERRUPT / notify from a command stream: engine-relative bits of `engine`. */
  commandInterrupt(engine: number, bits: number): void {
    this.irq.raise(ENGINES[engine].irqGroup, engineIrqMask(engine, bits));
  }

  /** Current time. */
  now(): number {
    return this.sim.now;
  }

  /** A copy of the register space as it is after reset (to change: see {@link resetValues}). */
  mmioSnapshot(): Uint32Array {
    return this.reset0.slice();
  }

  /**
   * The register space as it is after reset, the GPU's own table (the mediator's vreg
   * snapshot): read-only, a static part of the world (core/snapshot_state.ts), so sharing it
   * costs no 2 MiB copy per world.
   */
  get resetValues(): Uint32Array {
    return this.reset0;
  }

  /**
   * The buffers of the tables a GPU holds only zeros in until a vGPU is created: its GGTT
   * entries, their domains and dirty flags (the host driver maps nothing at start-up).
   * tests/snapshot_lay_test.ts checks it for worlds built only to be laid over.
   */
  zeroTables(): ArrayBuffer[] {
    return [this.ggttLo, this.ggttHi, this.ggttDomain, this.dirtyFlag].map((a) =>
      a.buffer as ArrayBuffer
    );
  }

  /** The definition of the register at `offset`, if it has one. */
  regDef(offset: number): RegDef | undefined {
    return this.registerDefs.find((d) => d.offset === offset);
  }

  // ------------------------------------------------------------------ config space

  /** PCI config read. */
  cfgRead(offset: number, size: number): number | MmioFault {
    return this.pci.read(offset, size);
  }

  /** PCI config write. */
  cfgWrite(offset: number, size: number, value: number): MmioFault | null {
    return this.pci.write(offset, size, value);
  }

  /** Sends an MSI through the config-space MSI capability (when enabled). */
  private sendMsi(): void {
    if (!this.pci.msiEnabled) {
      this.msisDisabled++;
      return;
    }
    this.msis++;
    this.sim.schedule(0, this.msiSink, this.pci.msiData, this.pci.msiAddress);
  }

  // ------------------------------------------------------------------ GGTT

  /** Reads GGTT entry `index` (a number up to 2^53), or a fault. */
  ggttRead(index: number): number | GttFault {
    if (index < 0 || index >= this.ggttEntries || index !== Math.floor(index)) {
      return new GttFault("out_of_range", index);
    }
    return join64(this.ggttLo[index], this.ggttHi[index]);
  }

  /** Writes GGTT entry `index`; returns a fault or null. */
  ggttWrite(index: number, pte: number): GttFault | null {
    if (index < 0 || index >= this.ggttEntries || index !== Math.floor(index)) {
      return new GttFault("out_of_range", index);
    }
    this.ggttLo[index] = lo32(pte);
    this.ggttHi[index] = hi32(pte);
    this.ggttWrites++;
    this.markGgttDirty(index);
    return null;
  }

  /**
   * GGTT entries written since {@link clearGgttDirty}, in first-write order (the first
   * {@link ggttDirtyCount}); lets a checker look only at what changed.
   */
  get ggttDirty(): Int32Array {
    return this.dirtyList;
  }

  /** How many entries of {@link ggttDirty} are valid. */
  get ggttDirtyCount(): number {
    return this.dirtyCount;
  }

  /** Forgets the dirty entries. */
  clearGgttDirty(): void {
    for (let i = 0; i < this.dirtyCount; i++) this.dirtyFlag[this.dirtyList[i]] = 0;
    this.dirtyCount = 0;
  }

  /** Records that entry `index` changed (once until cleared). */
  private markGgttDirty(index: number): void {
    if (this.dirtyFlag[index] === 1) return;
    this.dirtyFlag[index] = 1;
    if (this.dirtyCount === this.dirtyList.length) {
      const l = new Int32Array(Math.min(this.ggttEntries, this.dirtyList.length * 2));
      l.set(this.dirtyList);
      this.dirtyList = l;
    }
    this.dirtyList[this.dirtyCount++] = index;
  }

  /**
   * Translates a graphics address through the GGTT and the entry's IOMMU domain: host
   * physical address, or -1.
   */
  ggttTranslate(gma: number): number {
    const idx = Math.floor(gma / PAGE_SIZE);
    if (idx < 0 || idx >= this.ggttEntries) return -1;
    const lo = this.ggttLo[idx];
    if (!entryPresent(lo)) return -1;
    let pa = entryAddress(lo, this.ggttHi[idx]) + (gma % PAGE_SIZE);
    const d = this.ggttDomain[idx];
    if (d !== 0 || pa >= SCRATCH_IOVA) pa = this.iommu.translate(d, pa);
    return pa >= 0 && pa < this.memory.bytes ? pa : -1;
  }

  /** Sets the IOMMU domain of GGTT entries [first, first + count) (a vGPU's slice, or 0). */
  setGgttDomain(first: number, count: number, domain: number): void {
    this.ggttDomain.fill(domain, Math.max(0, first), Math.min(this.ggttEntries, first + count));
  }

  // ------------------------------------------------------------------ contexts

  /**
   * Tags the context whose image is at GGTT address `lrca` with an owner, and the IOMMU
   * domain its PPGTT's leaf addresses are translated in (0: the host's).
   */
  setContextOwner(lrca: number, owner: number, domain = 0): void {
    this.ctxOwners.set(lrca - (lrca % PAGE_SIZE), owner);
    if (domain !== 0) this.ctxDomains.set(lrca - (lrca % PAGE_SIZE), domain);
  }

  /** Removes a context owner tag. */
  clearContextOwner(lrca: number): void {
    this.ctxOwners.delete(lrca - (lrca % PAGE_SIZE));
    this.ctxDomains.delete(lrca - (lrca % PAGE_SIZE));
  }

  /** The IOMMU domain of the context at `lrca` (0 when untagged: the host's). */
  contextDomain(lrca: number): number {
    return this.ctxDomains.get(lrca) ?? 0;
  }

  /**
   * Owner of the context at `lrca`: its tag, else the owner of the frame holding its
   * register state, else the host.
   */
  contextOwner(lrca: number): number {
    const t = this.ctxOwners.get(lrca);
    if (t !== undefined) return t;
    const pa = this.ggttTranslate(lrca + PAGE_SIZE);
    return pa < 0 ? OWNER_HOST : this.memory.ownerOf(Math.floor(pa / PAGE_SIZE));
  }

  /** @internal records a command fault */
  recordFault(f: CommandFault): void {
    this.commandFaults++;
    if (this.faults.length < 1000) this.faults.push(f);
  }

  // ------------------------------------------------------------------ state and counters

  /** True if the engine is executing. */
  engineBusy(engine: number): boolean {
    return this.execlists.state[engine] === ENGINE_BUSY;
  }

  /** True if the engine is hung (until reset). */
  engineHung(engine: number): boolean {
    return this.execlists.state[engine] === ENGINE_HUNG;
  }

  /** Counters as plain data. */
  counters(): GpuCounters {
    const st = this.streamerStats, ex = this.execlists, now = this.sim.now;
    const commands: Record<string, number>[] = [];
    for (let e = 0; e < NUM_ENGINES; e++) {
      const r: Record<string, number> = {};
      for (let k = 0; k < NUM_KINDS; k++) r[KIND_NAMES[k]] = st.byKind[e * NUM_KINDS + k];
      commands.push(r);
    }
    const byCommand: Record<string, number> = {};
    st.byId.forEach((n, id) => {
      if (n > 0) byCommand[costTableNames[id]] = n;
    });
    return {
      commands,
      byCommand,
      dwords: Array.from(st.dwords),
      busyNs: [0, 1, 2, 3].map((e) => ex.busyAt(e, now)),
      elements: Array.from(ex.elements),
      batches: Array.from(st.batches),
      csbEvents: Array.from(ex.csbEvents),
      irqRaised: Array.from(this.irq.raised),
      msis: this.msis,
      msisDisabled: this.msisDisabled,
      vblanks: Array.from(this.display.vblanks),
      flips: Array.from(this.display.flips),
      mmioReads: this.mmioReads,
      mmioWrites: this.mmioWrites,
      mmioFaults: this.mmioFaults,
      ggttWrites: this.ggttWrites,
      commandFaults: this.commandFaults,
      blitBytes: st.blitBytes,
      scratchWrites: st.scratchWrites,
      engineResets: this.engineResets,
    };
  }

  /** Number of display pipes. */
  get pipes(): number {
    return NUM_PIPES;
  }
}
