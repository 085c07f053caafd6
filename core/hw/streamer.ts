/**
 * The command streamer of one engine: fetches real command dwords from memory through the
 * GGTT (ring, privileged batches) or the context's PPGTT (non-privileged batches, ASI bit 8
 * of MI_BATCH_BUFFER_START), decodes them with the shared table and executes them.
 *
 * Execution is incremental and timed: {@link CommandStreamer.advance} decodes from where the
 * stream stopped, charging each command's cost, up to the next command with an effect someone
 * else can see (a memory or register write, an interrupt, a flip, a blit, a read that decides
 * control flow) and returns the time until that command completes. The caller (the execlist
 * front end) calls `advance` again at that instant; only then is the effect performed and
 * decoding continues. So every store, post-sync write, blit, register load and user interrupt
 * becomes visible at the simulated instant its command completes, never at submission.
 * Commands without such an effect (state, draws, walkers, no-op flushes, batch start/end)
 * only take time; an effect whose command completes with no time left to wait is performed
 * at once.
 *
 * Addresses: a command's target address uses the global GTT when its use-GGTT bit is set
 * and the stream is privileged (ring or GGTT batch); otherwise the context's PPGTT (or the
 * GGTT for a context without one). Commands without such a bit (blits) use the address
 * space of the buffer they execute from. Writes are only done to frames whose owner equals
 * the context's owner; writes to the scratch frame are dropped; anything else is an
 * "isolation" fault. Faults stop the element and are reported as {@link CommandFault}.
 */
import {
  CMD,
  cmdLength,
  COMMANDS,
  decode,
  F_LEN_CONST,
  NUM_KINDS,
  usesGgtt,
  X_BB_END,
  X_BB_START,
  X_BLT_COPY,
  X_BLT_FILL,
  X_COND_BB_END,
  X_DISPLAY_FLIP,
  X_FLUSH_DW,
  X_LRI,
  X_LRM,
  X_LRR,
  X_NONE,
  X_PIPE_CONTROL,
  X_REPORT_PERF,
  X_SDI,
  X_SEMAPHORE_WAIT,
  X_SRM,
  X_STORE_INDEX,
  X_UPDATE_GTT,
  X_USER_INTERRUPT,
} from "../cmd/table.ts";
import { CommandFault, type CommandFaultKind } from "./fault.ts";
import type { HostMemory } from "./memory.ts";
import { type Iommu, SCRATCH_IOVA } from "./iommu.ts";
import { OWNER_SCRATCH, PAGE_SIZE, pageDword, pageOffset } from "./memory.ts";
import {
  BB_2ND_LEVEL,
  BB_PPGTT,
  BLT_X,
  BLT_Y,
  bltBytesPerPixel,
  BR13_PITCH,
  CMD_GMA_64B,
  CMD_GMA_BYTE,
  CMD_GMA_QW,
  cmdAddress,
  cmdReg,
  flipPrimaryPipe,
  flipSurface,
  NOTIFY,
  PIPE_CONTROL_MMIO_WRITE_BIT,
  POST_SYNC_OP,
  POST_SYNC_WRITE_IMM,
  POST_SYNC_WRITE_TIMESTAMP,
  STORE_INDEX_OFFSET,
  UPDATE_GTT_OFFSET,
} from "../cmd/fields.ts";
import { byteOf, getField, isSet, withByte } from "./bits.ts";
import { ENGINES } from "./engines.ts";
import {
  entryAddress,
  entryPresent,
  entryValue,
  GEN8_PDE_PS_2M,
  legacyPdpIndex,
  LEVEL_PD,
  LEVEL_PDP,
  LEVEL_PML4,
  LEVEL_PT,
  PAGE_SIZE_2M,
  ptIndex,
} from "./pte.ts";
import { HWS_PGA_FIELDS } from "./registers/ring.ts";
import {
  GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  RING_HWS_PGA,
} from "./regs.ts";

/** What the streamer needs from the GPU. */
export interface StreamerHost {
  /** Host memory. */
  readonly memory: HostMemory;
  /** DMA remapping of PPGTT leaf addresses. */
  readonly iommu: Iommu;
  /** GGTT translation: pa or -1. */
  ggttTranslate(gma: number): number;
  /** Writes a GGTT entry (MI_UPDATE_GTT). */
  ggttWrite(index: number, pte: number): unknown;
  /** Register read by a command (SRM/LRR). */
  cmdRegRead(offset: number): number;
  /** Register write by a command (LRI/LRM/LRR). */
  cmdRegWrite(offset: number, value: number): void;
  /** MI_DISPLAY_FLIP. */
  commandFlip(pipe: number, surface: number): void;
  /** Raises engine-relative interrupt bits (MI_USER_INTERRUPT, notify) of `engine`. */
  commandInterrupt(engine: number, bits: number): void;
  /** Current time (ns). */
  now(): number;
}

/** PPGTT mode of a context. */
export const PPGTT_NONE = 0, PPGTT_L3 = 3, PPGTT_L4 = 4;

/** A legacy (3-level) PPGTT maps 4 GiB, a 4-level one 256 TiB. */
const LEGACY_PPGTT_SPAN = 2 ** 32, PPGTT_L4_SPAN = 2 ** 48;
const MAX_COMMANDS = 1 << 22;
const EMPTY = new Uint32Array(1024);
/** A page of zeros, never written: the source of a blit from a page that has no storage. */
const ZEROS = new Uint32Array(1024);
/** Longest command with an effect (the only ones kept while their effect is pending). */
const MAX_CMD_DWORDS = Math.max(
  ...COMMANDS.filter((c) => c.exec !== X_NONE).map((c) =>
    c.flags & F_LEN_CONST ? c.len : (1 << c.len) + 1
  ),
);

/** Per-run statistics kept by the streamers (plain typed arrays, shared by all engines). */
export class StreamerStats {
  /** Commands executed per engine and kind: index engine * NUM_KINDS + kind. */
  readonly byKind: Float64Array = new Float64Array(4 * NUM_KINDS);
  /** Commands executed per command id (all engines). */
  readonly byId: Float64Array = new Float64Array(COMMANDS.length);
  /** Dwords executed per engine. */
  readonly dwords: Float64Array = new Float64Array(4);
  /** Batch buffers started per engine. */
  readonly batches: Float64Array = new Float64Array(4);
  /** Bytes moved by blits. */
  blitBytes = 0;
  /** Writes dropped because they hit the scratch frame. */
  scratchWrites = 0;
  /** Register writes from commands that were ignored (registers with side effects). */
  ignoredRegWrites = 0;
  /** Commands whose effect was performed at its own completion instant (suspension points). */
  timedEffects = 0;
}

/** The command streamer of one engine (see the module documentation). */
export class CommandStreamer {
  /** Cost per command id (ns), shared by the engines. */
  costs: Float64Array;
  /** Blit throughput (bytes per ns). */
  blitBytesPerNs: number;
  /** Blits move their pixels; false: same cost, page walk and checks, nothing copied. */
  readonly blitData: boolean;

  // ---- context of the current element (set by the execlist front end) ----
  /** Context id (for faults). */
  ctxId = 0;
  /** Owner tag of the context. */
  owner = 0;
  /** IOMMU domain its PPGTT leaf addresses are translated in (0: the host's). */
  domain = 0;
  /** PPGTT mode. */
  ppgtt: number = PPGTT_NONE;
  /** PPGTT roots: PML4 (4-level) or PDP0..3 (3-level), physical addresses. */
  readonly roots: Float64Array = new Float64Array(4);
  /** Ring start (GGTT address), size (bytes), head and tail (byte offsets). */
  ringStart = 0;
  /** Ring size in bytes. */
  ringSize = 0;
  /** Ring head: where the element started; where it stopped once it is done. */
  head = 0;
  /** Ring tail. */
  tail = 0;

  // ---- results ----
  /** A command with a visible effect waits for its completion instant (see {@link advance}). */
  pending = false;
  /** Fault of the last advance, or null. */
  fault: CommandFault | null = null;
  /** Graphics address of the last command decoded (ACTHD). */
  acthd = 0;
  /** Address of the last batch buffer started (BBADDR). */
  bbaddr = 0;

  // ---- where the stream stopped (kept across suspensions) ----
  private level = 0;
  private ringOff = 0;
  private bbGma = 0;
  private asi = 0;
  private retRing = 0;
  private retBb = 0;
  private retAsi = 0;
  private count = 0;
  // ---- the pending command: its dwords as fetched, and how it was reached ----
  private readonly pend = new Uint32Array(MAX_CMD_DWORDS);
  private pendX = X_NONE;
  /** Command id of the pending command. */
  private pendId = 0;
  private pendLen = 0;
  private pendGma = 0;
  private pendPriv = false;
  private pendSpace = 0;

  private readonly cmdBuf = new Uint32Array(1 << 16);
  private cost = 0;
  // ---- a blit's walk cache: the PPGTT leaf table of the last 2 MiB region walked ----
  private walkCache = false;
  private walkRegion = -1;
  private walkPt = 0;

  /**
   * Creates the streamer of one engine.
   * @param host the GPU
   * @param engine engine id
   * @param stats statistics shared by the engines
   * @param costs ns per command id
   * @param blitBytesPerNs blit throughput
   * @param blitData whether blits move their pixels (host setting `blit_data`)
   */
  constructor(
    private readonly host: StreamerHost,
    readonly engine: number,
    readonly stats: StreamerStats,
    costs: Float64Array,
    blitBytesPerNs: number,
    blitData = true,
  ) {
    this.costs = costs;
    this.blitBytesPerNs = blitBytesPerNs;
    this.blitData = blitData;
  }

  /** Translates `gma` in the context's PPGTT; pa or -1. */
  ppgttTranslate(gma: number): number {
    const mem = this.host.memory;
    const region = Math.floor(gma / PAGE_SIZE_2M);
    let pt: number;
    if (region === this.walkRegion) pt = this.walkPt;
    else {
      let pd: number, upper = -1; // the PDP table's address (4-level), to check its owner
      if (this.ppgtt === PPGTT_L4) {
        if (gma >= PPGTT_L4_SPAN) return -1;
        const pdp = this.entry(mem, this.roots[0], ptIndex(gma, LEVEL_PML4));
        if (pdp < 0) return -1;
        pd = this.entry(mem, pdp, ptIndex(gma, LEVEL_PDP));
        upper = pdp;
      } else if (this.ppgtt === PPGTT_L3) {
        if (gma >= LEGACY_PPGTT_SPAN) return -1;
        pd = this.roots[legacyPdpIndex(gma)];
        if (pd === 0) return -1;
      } else return -1;
      if (pd < 0) return -1;
      const pdeAddr = pd + ptIndex(gma, LEVEL_PD) * 8;
      const pdeLo = mem.read32(pdeAddr);
      if (!entryPresent(pdeLo)) return -1;
      pt = entryAddress(pdeLo, mem.read32(pdeAddr + 4));
      if (pdeLo & GEN8_PDE_PS_2M) return this.dma(pt - (pt % PAGE_SIZE_2M) + (gma % PAGE_SIZE_2M)); // 2 MiB page
      if (this.walkCache && this.walkStays(upper, pd)) {
        this.walkRegion = region;
        this.walkPt = pt;
      }
    }
    const page = this.entry(mem, pt, ptIndex(gma, LEVEL_PT));
    return page < 0 ? -1 : this.dma(page + (gma % PAGE_SIZE));
  }

  /**
   * True if the upper tables of a walk (root, PDP and PD by address; `pdp` -1 for a 3-level
   * walk) are whole pages no blit of this context can write (none is a frame of its owner,
   * the only frames its blits write): the leaf table they lead to, cached during a blit, is
   * then what walking again would find, reads and all (the leaf entry is read every time).
   */
  private walkStays(pdp: number, pd: number): boolean {
    if (this.ppgtt === PPGTT_L4 && !this.foreignTable(this.roots[0])) return false;
    return (pdp < 0 || this.foreignTable(pdp)) && this.foreignTable(pd);
  }

  /** True if the table at `a` starts a page that is not a frame of the context's owner. */
  private foreignTable(a: number): boolean {
    return a % PAGE_SIZE === 0 && this.host.memory.ownerOf(a / PAGE_SIZE) !== this.owner;
  }

  /**
   * A leaf's device address as host physical address: the page walk itself reads the host's
   * shadow tables, the data pages are the vGPU's, in its IOMMU domain.
   */
  private dma(addr: number): number {
    return this.domain === 0 && addr < SCRATCH_IOVA
      ? addr
      : this.host.iommu.translate(this.domain, addr);
  }

  /** Reads a present page-table entry: the next-level address, or -1. */
  private entry(mem: HostMemory, table: number, index: number): number {
    const a = table + index * 8;
    if (!mem.valid(a) || pageOffset(a) === PAGE_SIZE - 4) {
      // out of memory (counted as a bad access) or split across two frames: dword by dword
      const lo = mem.read32(a);
      return entryPresent(lo) ? entryAddress(lo, mem.read32(a + 4)) : -1;
    }
    // both dwords in one frame: look its storage up once
    const p = mem.peek(Math.floor(a / PAGE_SIZE)), i = pageDword(a);
    return p !== null && entryPresent(p[i]) ? entryAddress(p[i], p[i + 1]) : -1;
  }

  /** Translates in an address space: 0 GGTT, 1 PPGTT. */
  translate(gma: number, ppgtt: number): number {
    const pa = ppgtt === 1 && this.ppgtt !== PPGTT_NONE
      ? this.ppgttTranslate(gma)
      : this.host.ggttTranslate(gma);
    return pa >= 0 && pa < this.host.memory.bytes ? pa : -1;
  }

  /** Records a command fault at the current command's time; returns -1. */
  private setFault(kind: CommandFaultKind, gma: number, dw0: number, detail: string): number {
    this.fault = new CommandFault(
      kind,
      this.engine,
      this.ctxId,
      this.owner,
      gma,
      dw0,
      this.host.now() + this.cost,
      detail,
    );
    return -1;
  }

  /** Writes a dword at `gma`; returns false after recording a fault. */
  private store(gma: number, space: number, value: number, dw0: number): boolean {
    const pa = this.translate(gma, space);
    if (pa < 0) {
      this.setFault("bad_address", gma, dw0, "write target not mapped");
      return false;
    }
    const mem = this.host.memory;
    const mfn = Math.floor(pa / PAGE_SIZE);
    const o = mem.ownerOf(mfn);
    if (o !== this.owner) {
      if (o === OWNER_SCRATCH) {
        this.stats.scratchWrites++;
        return true;
      }
      this.setFault("isolation", gma, dw0, `write to frame ${mfn} owned by ${o}`);
      return false;
    }
    mem.page(mfn)[pageDword(pa)] = value;
    return true;
  }

  /** Reads a dword at a graphics address; -1 if not mapped. */
  private load(gma: number, space: number): number {
    const pa = this.translate(gma, space);
    return pa < 0 ? -1 : this.host.memory.read32(pa);
  }

  /** RING_TIMESTAMP value (12 MHz) now. */
  private timestamp(): number {
    return Math.floor((this.host.now() * 12) / 1000) >>> 0;
  }

  /** Starts an element: the stream begins at {@link head}, nothing pending. */
  begin(): void {
    this.fault = null;
    this.pending = false;
    this.cost = 0;
    this.count = 0;
    this.level = 0;
    this.ringOff = this.head;
    this.bbGma = 0;
    this.asi = 0;
  }

  /**
   * Performs the pending effect (if any), then decodes on. Returns the time in ns from now
   * until the next command with a visible effect completes ({@link pending} set: call again
   * at that instant), or until the last command completes when the stream reached the tail
   * ({@link pending} clear, {@link head} = tail), or -1 on a fault ({@link fault} set, the
   * time until the faulting command in {@link partialCost}).
   */
  advance(): number {
    this.cost = 0;
    if (this.pending) {
      this.pending = false;
      if (!this.apply()) return -1;
    }
    const host = this.host, mem = host.memory, stats = this.stats;
    const costs = this.costs, kinds = CMD.kind, execs = CMD.exec, validLen = CMD.validLen;
    const byKind = stats.byKind, byId = stats.byId;
    const engine = this.engine, kindBase = engine * NUM_KINDS;
    const ringStart = this.ringStart, ringSize = this.ringSize, tail = this.tail;
    if (ringSize <= 0 || this.head >= ringSize || tail >= ringSize) {
      return this.setFault("bad_ring", ringStart, 0, "head/tail outside ring");
    }
    let cost = 0, dwords = 0, n = this.count;
    let level = this.level, ringOff = this.ringOff, bbGma = this.bbGma, asi = this.asi;
    let curVpn = -1, curSpace = -1;
    let page: Uint32Array = EMPTY;
    for (;;) {
      let gma: number, space: number;
      if (level === 0) {
        if (ringOff === tail) break;
        gma = ringStart + ringOff;
        space = 0;
      } else {
        gma = bbGma;
        space = asi;
      }
      const vpn = Math.floor(gma / PAGE_SIZE);
      if (vpn !== curVpn || space !== curSpace) {
        const pa = this.translate(gma, space);
        if (pa < 0) {
          this.cost = cost;
          return this.setFault("bad_address", gma, 0, "command fetch not mapped");
        }
        page = mem.page(Math.floor(pa / PAGE_SIZE));
        curVpn = vpn;
        curSpace = space;
      }
      const idx = pageDword(gma);
      const dw0 = page[idx];
      const id = decode(dw0, engine);
      if (id < 0) {
        this.cost = cost;
        return this.setFault("unknown_command", gma, dw0, "undecodable");
      }
      const len = cmdLength(id, dw0);
      const vl = validLen[id];
      if (vl !== 0 && len !== vl) {
        this.cost = cost;
        return this.setFault("bad_length", gma, dw0, COMMANDS[id].name);
      }
      let buf: Uint32Array = page, b = idx;
      if (level === 0) {
        const room = tail >= ringOff ? tail - ringOff : ringSize - ringOff + tail;
        if (len * 4 > room) {
          this.cost = cost;
          return this.setFault("bad_ring", gma, dw0, "command crosses the ring tail");
        }
      }
      if (idx + len > 1024 || (level === 0 && ringOff + len * 4 > ringSize)) {
        if (!this.gather(level, ringOff, gma, space, len)) {
          this.cost = cost;
          return this.setFault("bad_address", gma, dw0, "command fetch not mapped");
        }
        buf = this.cmdBuf;
        b = 0;
      }
      if (++n > MAX_COMMANDS) {
        this.cost = cost;
        return this.setFault("runaway", gma, dw0, "too many commands");
      }
      this.acthd = gma;
      cost += costs[id];
      dwords += len;
      byKind[kindBase + kinds[id]]++;
      byId[id]++;
      if (level === 0) {
        ringOff += len * 4;
        if (ringOff >= ringSize) ringOff -= ringSize;
      } else bbGma += len * 4;
      const x = execs[id];
      if (x === X_NONE || x === X_SEMAPHORE_WAIT) continue; // time only (semaphores taken as signalled)
      if (x === X_BB_START) {
        const target = cmdAddress(buf, b + 1);
        const ppgttBit = getField(dw0, BB_PPGTT);
        const second = isSet(dw0, BB_2ND_LEVEL);
        this.cost = cost;
        if (ppgttBit && this.ppgtt === 0) {
          return this.setFault("bad_context", gma, dw0, "PPGTT batch without a PPGTT");
        }
        const newAsi = level > 0 && asi === 1 ? 1 : ppgttBit;
        if (level === 0) {
          if (second) return this.setFault("bb_nesting", gma, dw0, "2nd level from ring");
          this.retRing = ringOff;
          level = 1;
        } else if (level === 1) {
          if (second) {
            this.retBb = bbGma;
            this.retAsi = asi;
            level = 2;
          }
        } else return this.setFault("bb_nesting", gma, dw0, "batch start in 2nd level");
        bbGma = target;
        asi = newAsi;
        this.bbaddr = target;
        stats.batches[engine]++;
        continue;
      }
      if (x === X_BB_END) {
        if (level === 2) {
          level = 1;
          bbGma = this.retBb;
          asi = this.retAsi;
        } else if (level === 1) {
          level = 0;
          ringOff = this.retRing;
        }
        continue;
      }
      if (!hasEffect(x, dw0, buf[b + 1])) continue;
      // A visible effect: keep the command as fetched and stop until it completes.
      if (x === X_BLT_COPY || x === X_BLT_FILL) {
        const bytes = blitBytes(x, buf, b, len);
        if (bytes < 0) {
          this.cost = cost;
          return this.setFault("bad_length", gma, dw0, "short blit");
        }
        cost += bytes / this.blitBytesPerNs;
      }
      const pend = this.pend;
      for (let i = 0; i < len; i++) pend[i] = buf[b + i];
      this.pendX = x;
      this.pendId = id;
      this.pendLen = len;
      this.pendGma = gma;
      this.pendPriv = level === 0 || asi === 0;
      this.pendSpace = level === 0 ? 0 : asi;
      this.level = level;
      this.ringOff = ringOff;
      this.bbGma = bbGma;
      this.asi = asi;
      this.count = n;
      if (cost > 0) {
        stats.dwords[engine] += dwords;
        this.pending = true;
        this.cost = cost;
        return cost;
      }
      // Completes with no time to wait: perform it now and go on.
      if (!this.apply()) return -1;
      level = this.level;
      ringOff = this.ringOff;
      bbGma = this.bbGma;
      asi = this.asi;
      curVpn = -1;
    }
    this.cost = cost;
    stats.dwords[engine] += dwords;
    this.level = level;
    this.ringOff = ringOff;
    this.count = n;
    this.head = ringOff;
    return cost;
  }

  /** Time from the last advance's start to its fault (ns). */
  get partialCost(): number {
    return this.cost;
  }

  /** Performs the pending command's effect now; false after recording a fault. */
  private apply(): boolean {
    const host = this.host, buf = this.pend, len = this.pendLen, dw0 = buf[0];
    const privileged = this.pendPriv, gma = this.pendGma;
    // The command's use-GGTT bit counts only in a privileged buffer.
    const sp = usesGgtt(COMMANDS[this.pendId], buf) && privileged ? 0 : this.ppgtt !== 0 ? 1 : 0;
    this.stats.timedEffects++;
    switch (this.pendX) {
      case X_LRI:
        for (let i = 1; i + 1 < len; i += 2) host.cmdRegWrite(cmdReg(buf[i]), buf[i + 1]);
        return true;
      case X_SDI: {
        const a = cmdAddress(buf, 1);
        if (!this.store(a, sp, buf[3], dw0)) return false;
        return len < 5 || this.store(a + 4, sp, buf[4], dw0);
      }
      case X_SRM: {
        return this.store(cmdAddress(buf, 2), sp, host.cmdRegRead(cmdReg(buf[1])), dw0);
      }
      case X_LRM: {
        const a = cmdAddress(buf, 2);
        const v = this.load(a, sp);
        if (v < 0) {
          this.setFault("bad_address", a, dw0, "MI_LOAD_REGISTER_MEM source");
          return false;
        }
        host.cmdRegWrite(cmdReg(buf[1]), v);
        return true;
      }
      case X_LRR:
        host.cmdRegWrite(cmdReg(buf[2]), host.cmdRegRead(cmdReg(buf[1])));
        return true;
      case X_FLUSH_DW: {
        const op = getField(dw0, POST_SYNC_OP);
        if (op !== 0) {
          const a = cmdAddress(buf, 1, CMD_GMA_QW);
          const ts = op === POST_SYNC_WRITE_TIMESTAMP;
          if (!this.store(a, sp, ts ? this.timestamp() : buf[3], dw0)) return false;
          if (len >= 5 && !this.store(a + 4, sp, ts ? 0 : buf[4], dw0)) return false;
        }
        if (isSet(dw0, NOTIFY)) {
          host.commandInterrupt(this.engine, GT_RENDER_PIPECTL_NOTIFY_INTERRUPT);
        }
        return true;
      }
      case X_PIPE_CONTROL: {
        const dw1 = buf[1];
        const op = getField(dw1, POST_SYNC_OP);
        if (isSet(dw1, PIPE_CONTROL_MMIO_WRITE_BIT)) host.cmdRegWrite(cmdReg(buf[2]), buf[4]);
        else if (op !== 0 && len >= 6) {
          const a = cmdAddress(buf, 2, CMD_GMA_QW);
          const imm = op === POST_SYNC_WRITE_IMM;
          const lo = imm ? buf[4] : op === POST_SYNC_WRITE_TIMESTAMP ? this.timestamp() : 0;
          const hi = imm ? buf[5] : 0;
          if (!this.store(a, sp, lo, dw0) || !this.store(a + 4, sp, hi, dw0)) return false;
        }
        if (isSet(dw1, NOTIFY)) {
          host.commandInterrupt(this.engine, GT_RENDER_PIPECTL_NOTIFY_INTERRUPT);
        }
        return true;
      }
      case X_USER_INTERRUPT:
        host.commandInterrupt(this.engine, GT_RENDER_USER_INTERRUPT);
        return true;
      case X_DISPLAY_FLIP: {
        host.commandFlip(flipPrimaryPipe(dw0), flipSurface(buf[2]));
        return true;
      }
      case X_BLT_COPY:
      case X_BLT_FILL:
        return this.blit(this.pendX, buf, dw0, this.pendSpace, gma);
      case X_STORE_INDEX: {
        const hwsPga = host.cmdRegRead(ENGINES[this.engine].mmioBase + RING_HWS_PGA);
        const hws = (hwsPga & HWS_PGA_FIELDS.address.mask) >>> 0;
        return this.store(hws + (buf[1] & STORE_INDEX_OFFSET.mask), 0, buf[2], dw0);
      }
      case X_UPDATE_GTT: {
        if (!privileged) {
          this.setFault("privilege", gma, dw0, "MI_UPDATE_GTT");
          return false;
        }
        const first = getField(buf[1], UPDATE_GTT_OFFSET);
        for (let i = 2; i + 1 < len; i += 2) {
          host.ggttWrite(first + ((i - 2) >> 1), entryValue(buf[i], buf[i + 1]));
        }
        return true;
      }
      case X_COND_BB_END: {
        const a = cmdAddress(buf, 2, CMD_GMA_QW);
        const v = this.load(a, sp);
        if (v < 0) {
          this.setFault("bad_address", a, dw0, "conditional end source");
          return false;
        }
        if (v <= buf[1] && this.level > 0) {
          if (this.level === 2) {
            this.level = 1;
            this.bbGma = this.retBb;
            this.asi = this.retAsi;
          } else {
            this.level = 0;
            this.ringOff = this.retRing;
          }
        }
        return true;
      }
      case X_REPORT_PERF: {
        const a = cmdAddress(buf, 1, CMD_GMA_64B);
        return this.store(a, sp, buf[3], dw0) && this.store(a + 4, sp, this.timestamp(), dw0);
      }
      default:
        return true;
    }
  }

  /** Copies a command that crosses a page or the ring end into the scratch buffer. */
  private gather(level: number, ringOff: number, gma: number, space: number, len: number): boolean {
    const buf = this.cmdBuf;
    let vpn = -1, base = 0; // the page being read and its physical address (one walk a page)
    for (let i = 0; i < len && i < buf.length; i++) {
      const a = level === 0 ? this.ringStart + ((ringOff + 4 * i) % this.ringSize) : gma + 4 * i;
      if (Math.floor(a / PAGE_SIZE) !== vpn) {
        const pa = this.translate(a, space);
        if (pa < 0) return false;
        vpn = Math.floor(a / PAGE_SIZE);
        base = pa - pageOffset(a);
      }
      buf[i] = this.host.memory.read32(base + pageOffset(a));
    }
    return true;
  }

  /** XY_SRC_COPY_BLT / XY_COLOR_BLT (length checked at decode); false after a fault. */
  private blit(
    x: number,
    buf: Uint32Array,
    dw0: number,
    space: number,
    gma: number,
  ): boolean {
    const copy = x === X_BLT_COPY;
    const br13 = buf[1];
    const cpp = bltBytesPerPixel(br13);
    const dstPitch = getField(br13, BR13_PITCH);
    const x1 = getField(buf[2], BLT_X), y1 = getField(buf[2], BLT_Y);
    const x2 = getField(buf[3], BLT_X), y2 = getField(buf[3], BLT_Y);
    if (x2 <= x1 || y2 <= y1) return true;
    const dst = cmdAddress(buf, 4, CMD_GMA_BYTE);
    const rowBytes = (x2 - x1) * cpp;
    let src = 0, srcPitch = 0, sx = 0, sy = 0;
    if (copy) {
      sx = getField(buf[6], BLT_X);
      sy = getField(buf[6], BLT_Y);
      srcPitch = getField(buf[7], BR13_PITCH);
      src = cmdAddress(buf, 8, CMD_GMA_BYTE);
    }
    const color = copy ? 0 : buf[6];
    this.dVpn = -1;
    this.sVpn = -1;
    // Nothing but this blit runs until it ends: its walks may be cached (see walkStays).
    this.walkCache = true;
    let ok = true;
    const rows = y2 - y1;
    for (let y = 0; y < rows && ok;) {
      const d = dst + (y1 + y) * dstPitch + x1 * cpp;
      const s = src + (sy + y) * srcPitch + sx * cpp;
      const idle = this.idleRows(copy, d, s, rowBytes, dstPitch, srcPitch, color, rows - y);
      if (idle > 0) {
        if (this.dScratch) this.stats.scratchWrites += idle; // one dropped chunk a row
        y += idle;
      } else {
        ok = this.copyRow(copy, d, s, rowBytes, color, space, gma, dw0);
        y++;
      }
    }
    this.walkCache = false;
    this.walkRegion = -1;
    this.dStore = null; // hold no page between blits
    this.sStore = ZEROS;
    if (ok) this.stats.blitBytes += rowBytes * (y2 - y1);
    return ok;
  }

  /**
   * How many rows from the one at `d` (source `s`) lie in the blit's current target (and
   * source) page and change nothing there, up to `left`: a scratch target drops them,
   * `blit_data off` copies nothing, zeros onto a page without storage stay zeros. 0 when this
   * row needs {@link copyRow} (another page, or data to move).
   */
  private idleRows(
    copy: boolean,
    d: number,
    s: number,
    rowBytes: number,
    dPitch: number,
    sPitch: number,
    color: number,
    left: number,
  ): number {
    if (Math.floor(d / PAGE_SIZE) !== this.dVpn) return 0;
    const zeros = (copy ? this.sStore === ZEROS : color === 0) && this.dStore === null;
    if (!this.dScratch && this.blitData && !zeros) return 0;
    const k = rowsInPage(d, rowBytes, dPitch, left);
    if (!copy) return k;
    return Math.floor(s / PAGE_SIZE) === this.sVpn ? rowsInPage(s, rowBytes, sPitch, k) : 0;
  }

  /** Destination page of the blit in progress (vpn, frame, whether it is scratch, storage). */
  private dVpn = -1;
  private dMfn = -1;
  private dScratch = false;
  private dStore: Uint32Array | null = null;
  /** Source page of the blit in progress (vpn, frame, storage or {@link ZEROS}). */
  private sVpn = -1;
  private sMfn = -1;
  private sStore: Uint32Array = ZEROS;

  /**
   * Copies (or fills) one blit row page by page, checking ownership of every target page.
   * A page never written reads as zeros and has no storage yet: copying such a page (or
   * filling with 0) onto another such page changes nothing, so neither is created. The
   * storage of the current pages is looked up once per page: only this blit's own writes
   * create storage meanwhile.
   */
  private copyRow(
    copy: boolean,
    dst: number,
    src: number,
    n: number,
    color: number,
    space: number,
    gma: number,
    dw0: number,
  ): boolean {
    const mem = this.host.memory;
    let done = 0;
    while (done < n) {
      const da = dst + done, dvpn = Math.floor(da / PAGE_SIZE);
      if (dvpn !== this.dVpn) {
        const dpa = this.translate(da, space);
        if (dpa < 0) {
          this.setFault("bad_address", da, dw0, "blit destination");
          return false;
        }
        const dmfn = Math.floor(dpa / PAGE_SIZE);
        const owner = mem.ownerOf(dmfn);
        if (owner !== this.owner && owner !== OWNER_SCRATCH) {
          this.setFault("isolation", gma, dw0, `blit to frame ${dmfn} owned by ${owner}`);
          return false;
        }
        this.dScratch = owner === OWNER_SCRATCH;
        this.dMfn = dmfn;
        this.dVpn = dvpn;
        this.dStore = mem.peek(dmfn);
      }
      const doff = pageOffset(da);
      let chunk = Math.min(n - done, PAGE_SIZE - doff);
      let soff = 0;
      if (copy) {
        const sa = src + done, svpn = Math.floor(sa / PAGE_SIZE);
        if (svpn !== this.sVpn) {
          const spa = this.translate(sa, space);
          if (spa < 0) {
            this.setFault("bad_address", sa, dw0, "blit source");
            return false;
          }
          this.sMfn = Math.floor(spa / PAGE_SIZE);
          this.sVpn = svpn;
          this.sStore = mem.peek(this.sMfn) ?? ZEROS;
        }
        soff = pageOffset(sa);
        chunk = Math.min(chunk, PAGE_SIZE - soff);
      }
      if (this.dScratch) {
        this.stats.scratchWrites++;
        done += chunk;
        continue;
      }
      if (!this.blitData) {
        done += chunk;
        continue;
      }
      const sp = copy ? this.sStore : ZEROS;
      if ((copy ? sp === ZEROS : color === 0) && this.dStore === null) {
        done += chunk; // zeros onto zeros
        continue;
      }
      let dp = this.dStore;
      if (dp === null) {
        dp = this.dStore = mem.page(this.dMfn);
        if (this.sMfn === this.dMfn) this.sStore = dp; // its source page has storage now too
      }
      if (copy) {
        if (((doff | soff | chunk) & 3) === 0) {
          const di = doff >>> 2, si = soff >>> 2, m = chunk >>> 2;
          // native copies; copyWithin handles an overlap within one page like memmove
          if (sp === dp) dp.copyWithin(di, si, si + m);
          else if (m <= 256) {
            // a row of a small surface: a word loop beats making a view for set()
            for (let k = 0; k < m; k++) dp[di + k] = sp[si + k];
          } else dp.set(sp.subarray(si, si + m), di);
        } else {
          for (let i = 0; i < chunk; i++) {
            const sb = soff + i, db = doff + i;
            dp[db >>> 2] = withByte(dp[db >>> 2], db & 3, byteOf(sp[sb >>> 2], sb & 3));
          }
        }
      } else if (((doff | chunk) & 3) === 0) dp.fill(color, doff >>> 2, (doff + chunk) >>> 2);
      else {
        for (let i = 0; i < chunk; i++) {
          const db = doff + i;
          dp[db >>> 2] = withByte(dp[db >>> 2], db & 3, byteOf(color, (dst + done + i) & 3));
        }
      }
      done += chunk;
    }
    return true;
  }
}

/**
 * True if a command has an effect another agent can see (so it is performed at its own
 * completion instant): memory and register writes, interrupts, flips, blits, GTT updates,
 * and reads that decide control flow. PIPE_CONTROL and MI_FLUSH_DW only when they post-sync
 * write, write a register or notify.
 */
function hasEffect(x: number, dw0: number, dw1: number): boolean {
  if (x === X_FLUSH_DW) return getField(dw0, POST_SYNC_OP) !== 0 || isSet(dw0, NOTIFY);
  if (x === X_PIPE_CONTROL) {
    return getField(dw1, POST_SYNC_OP) !== 0 || isSet(dw1, PIPE_CONTROL_MMIO_WRITE_BIT) ||
      isSet(dw1, NOTIFY);
  }
  return true;
}

/** How many rows of `rowBytes` every `pitch` bytes from `a` on stay in its page (at most `max`). */
function rowsInPage(a: number, rowBytes: number, pitch: number, max: number): number {
  const room = PAGE_SIZE - pageOffset(a) - rowBytes; // what the first row leaves of the page
  if (room < 0) return 0;
  return pitch === 0 ? max : Math.min(max, Math.floor(room / pitch) + 1);
}

/** Bytes a blit at `buf[b]` moves, or -1 if the command is too short. */
function blitBytes(x: number, buf: Uint32Array, b: number, len: number): number {
  if (len < (x === X_BLT_COPY ? 10 : 7)) return -1;
  const x1 = getField(buf[b + 2], BLT_X), y1 = getField(buf[b + 2], BLT_Y);
  const x2 = getField(buf[b + 3], BLT_X), y2 = getField(buf[b + 3], BLT_Y);
  if (x2 <= x1 || y2 <= y1) return 0;
  return (x2 - x1) * bltBytesPerPixel(buf[b + 1]) * (y2 - y1);
}
