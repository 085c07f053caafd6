/**
 * MMIO trap-and-emulate (docs/domain.md section 4, i915 gvt/mmio.c + handlers.c): the handler
 * table maps every register dword of BAR0's 2 MiB to a handler, a read-only mask, flags and
 * a trap class; untracked offsets use the default handler (plain copy into the vreg).
 * {@link MmioEmulator} is the trap entry: it checks the access (size, alignment), routes
 * the 8..16 MiB GTT window to the GGTT shadow and 2..8 MiB to guest memory, applies RO and
 * masked-register semantics, and in failsafe turns every access into a plain copy.
 */

import { bytesAt, hi32, join64, lo32, withBytes } from "../hw/bits.ts";
import { BAR0_SIZE, GTT_OFFSET, MMIO_SIZE } from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import { type FailsafeReason, MMIO_ERROR_KINDS, TC } from "./counters.ts";
import type { GgttShadow } from "./gtt.ts";
import type { VirtualIrq } from "./irq.ts";
import type { GvtTracer } from "./tracer.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** Flag: the upper 16 bits are write enables for the lower 16 (F_MODE_MASK). */
export const F_MODE_MASK = 1 << 0;
/** Flag: GPU commands may write it (F_CMD_ACCESS: the LRI whitelist). */
export const F_CMD_ACCESS = 1 << 1;
/** Flag: holds a graphics memory address (F_GMADR). */
export const F_GMADR = 1 << 2;
/** Flag: unaligned accesses allowed (F_UNALIGN). */
export const F_UNALIGN = 1 << 3;
/** Flag: switched with the context and kept in the context image (F_SR_IN_CTX). */
export const F_SR_IN_CTX = 1 << 4;
/** Flag: tracked (registered) register. */
export const F_TRACKED = 1 << 5;
/** Flag: accessed by the guest at least once (F_ACCESSED). */
export const F_ACCESSED = 1 << 6;
/** Flag: saved across power management (F_PM_SAVE). */
export const F_PM_SAVE = 1 << 7;
/** Flag: commands writing it need patching (F_CMD_WRITE_PATCH). */
export const F_CMD_WRITE_PATCH = 1 << 8;

/** A register handler: dword-granular read/write on one vGPU. */
export interface MmioHandler {
  /** Returns the dword at vreg index `idx`. */
  read(v: Vgpu, idx: number): number;
  /** Writes `value` (RO bits already merged) to vreg index `idx`. */
  write(v: Vgpu, idx: number, value: number): void;
}

/** Default handler: plain copy into the vreg (`intel_vgpu_default_mmio_read/write`). */
export const DEFAULT_HANDLER: MmioHandler = {
  read: (v, idx) => v.vreg[idx],
  write: (v, idx, value) => {
    v.vreg[idx] = value >>> 0;
  },
};

/** The mediator services handlers call. */
export interface MmioHooks {
  /** The virtual interrupt controller. */
  readonly irq: VirtualIrq;
  /** Submits the collected ELSP descriptors of an engine. */
  submitExeclist(v: Vgpu, engine: number): void;
  /** Puts a vGPU in failsafe, saying why. */
  enterFailsafe(v: Vgpu, reason: FailsafeReason, detail: string): void;
  /** Adds a vGPU to the scheduler's run queue (its guest enabled execlists). */
  startSchedule(v: Vgpu): void;
  /** Resets engines of a vGPU (mask of engine ids) or the whole GT (-1). */
  resetEngines(v: Vgpu, engineMask: number): void;
  /** A g2v notification written to PVINFO. */
  g2vNotify(v: Vgpu, code: number): void;
  /** True if the vGPU's workload currently owns the engine on the hardware. */
  ownsEngine(v: Vgpu, engine: number): boolean;
  /** Reads a physical register. */
  hwRead(offset: number): number;
  /** Writes a physical register. */
  hwWrite(offset: number, value: number): void;
  /** Re-evaluates the vblank timer of a vGPU after a pipe configuration change. */
  updateVblank(v: Vgpu): void;
  /**
   * The guest wrote dword `hi` (0 lower, 4 upper) of its fence `n` (already in vreg): the
   * value reaches the vGPU's physical fence (gScale: a fence lent from the pool).
   */
  fenceWritten(v: Vgpu, n: number, hi: number, value: number): void;
}

/**
 * What a handler table registers for each register dword: the same for every table of a
 * platform and fence count (core/gvt/handlers.ts `buildMmioTable`), so built once and shared.
 * `handlerOf`, `roMask` and `cls` are never written after (static parts of a world,
 * core/snapshot_state.ts); `flags` can be (`setCmdAccessible`), so each table copies them.
 */
export interface MmioLayout {
  /** Handler index per register dword. */
  readonly handlerOf: Uint8Array;
  /** Flags per register dword (each table copies them). */
  readonly flags: Uint16Array;
  /** Read-only bits per register dword. */
  readonly roMask: Uint32Array;
  /** Trap class per register dword. */
  readonly cls: Uint8Array;
  /** The dwords with flags (the registered ones). */
  readonly registered: Int32Array;
  /** Tracked registers. */
  readonly tracked: number;
}

/** The handler table (shared by all vGPUs). */
export class MmioTable {
  /** Handler index per register dword (0 = default). */
  readonly handlerOf: Uint8Array;
  /** Flags per register dword. */
  readonly flags: Uint16Array;
  /** Read-only bits per register dword. */
  readonly roMask: Uint32Array;
  /** Trap class per register dword. */
  readonly cls: Uint8Array;
  /** Handlers by index. */
  readonly handlers: MmioHandler[] = [DEFAULT_HANDLER];
  /** Tracked registers. */
  tracked = 0;
  /** Whether the registrations are a shared layout's (then never registered in again). */
  readonly #shared: boolean;

  /**
   * A table with no registers, to {@link register} them in; or with those of a shared
   * `layout` (its arrays, a copy of its flags), which must not be registered in again.
   */
  constructor(layout?: MmioLayout) {
    const n = MMIO_SIZE >>> 2;
    this.handlerOf = layout?.handlerOf ?? new Uint8Array(n);
    this.flags = new Uint16Array(n);
    this.roMask = layout?.roMask ?? new Uint32Array(n);
    this.cls = layout?.cls ?? new Uint8Array(n).fill(TC.untracked);
    this.#shared = layout !== undefined;
    if (layout !== undefined) {
      for (const i of layout.registered) this.flags[i] = layout.flags[i];
      this.tracked = layout.tracked;
    }
  }

  /** This table's registrations, to share with tables built after it ({@link MmioLayout}). */
  layout(): MmioLayout {
    const registered: number[] = [];
    for (let i = 0; i < this.flags.length; i++) if (this.flags[i] !== 0) registered.push(i);
    const { handlerOf, roMask, cls, tracked } = this;
    return {
      handlerOf,
      roMask,
      cls,
      tracked,
      flags: this.flags.slice(),
      registered: new Int32Array(registered),
    };
  }

  /** Adds a handler; returns its index. */
  addHandler(h: MmioHandler): number {
    this.handlers.push(h);
    if (this.handlers.length > 255) throw new RangeError("too many MMIO handlers");
    return this.handlers.length - 1;
  }

  /**
   * Registers `count` dwords from `offset` (`MMIO_F`): handler index, flags, RO mask and
   * trap class. A later registration of the same dword adds flags and replaces the rest.
   */
  register(offset: number, count: number, handler: number, flags: number, ro: number, cls: number) {
    // handlerOf, roMask and cls of a shared layout belong to every table of the platform
    if (this.#shared) throw new Error("an MMIO table built from a shared layout cannot register");
    for (let i = 0; i < count; i++) {
      const idx = (offset >>> 2) + i;
      if ((this.flags[idx] & F_TRACKED) === 0) this.tracked++;
      this.handlerOf[idx] = handler;
      this.flags[idx] |= flags | F_TRACKED;
      this.roMask[idx] = ro >>> 0;
      this.cls[idx] = cls;
    }
  }

  /** True if commands may write the register at `offset` (the scanner's whitelist). */
  cmdAccessible(offset: number): boolean {
    const idx = offset >>> 2;
    return idx < this.flags.length && (this.flags[idx] & F_CMD_ACCESS) !== 0;
  }

  /** Lets commands write the register at `offset` (`intel_gvt_mmio_set_cmd_accessible`). */
  setCmdAccessible(offset: number): void {
    this.flags[offset >>> 2] |= F_CMD_ACCESS;
  }
}

/** A rejected access (typed, counted, most recent kept per emulator). */
export interface MmioAccessError {
  /** Kind (one of MMIO_ERROR_KINDS). */
  kind: typeof MMIO_ERROR_KINDS[number];
  /** vGPU id. */
  vgpuId: number;
  /** BAR0 offset. */
  offset: number;
  /** Access size. */
  size: number;
  /** Write access. */
  write: boolean;
}

/** The trap entry point for BAR0 accesses. */
export class MmioEmulator {
  /** Most recent rejected access. */
  lastError: MmioAccessError | null = null;
  /** Rejected accesses. */
  errorCount = 0;
  /** Trace hooks (null: not tracing). */
  tracer: GvtTracer | null = null;

  /**
   * Creates a MmioEmulator.
   * @param table the handler table
   * @param ggtt GGTT shadow (GTT window)
   * @param gate MPT gate (the 2..8 MiB range is guest memory)
   */
  constructor(
    readonly table: MmioTable,
    private readonly ggtt: GgttShadow,
    private readonly gate: MptGate,
  ) {}

  /** Counts and records a rejected access. */
  private reject(v: Vgpu, kind: number, offset: number, size: number, write: boolean): void {
    v.counters.mmioErrors[kind]++;
    this.errorCount++;
    this.lastError = { kind: MMIO_ERROR_KINDS[kind], vgpuId: v.id, offset, size, write };
  }

  /** Emulates a BAR0 read. Rejected accesses read 0. */
  read(v: Vgpu, offset: number, size: number): number {
    const c = v.counters;
    if (size > 8 || size < 1 || offset < 0 || offset + size > BAR0_SIZE) {
      this.reject(v, size > 8 ? 0 : 2, offset, size, false);
      return 0;
    }
    if (offset >= GTT_OFFSET) {
      c.traps[TC.gtt]++;
      if (this.tracer !== null) this.tracer.trap(v.id, TC.gtt, false);
      if (size !== 4 && size !== 8) {
        this.reject(v, 0, offset, size, false); // gtt.c emulate_ggtt_mmio_read: 4 or 8 bytes
        return 0;
      }
      if (offset % size !== 0) {
        this.reject(v, 1, offset, size, false);
        return 0;
      }
      return this.ggtt.read(v.ggtt, offset - GTT_OFFSET, size);
    }
    if (offset >= MMIO_SIZE) {
      c.traps[TC.guest_mem]++;
      if (this.tracer !== null) this.tracer.trap(v.id, TC.guest_mem, false);
      return this.readGuest(v, offset, size);
    }
    const t = this.table;
    const idx = offset >>> 2;
    c.traps[t.cls[idx]]++;
    if (this.tracer !== null) this.tracer.trap(v.id, t.cls[idx], false);
    if ((t.flags[idx] & F_UNALIGN) === 0 && offset % size !== 0) {
      this.reject(v, 1, offset, size, false);
      return 0;
    }
    t.flags[idx] |= F_ACCESSED;
    const byte = offset & 3;
    if (size === 8 && byte === 0) {
      return join64(this.readDword(v, idx), this.readDword(v, idx + 1));
    }
    let d = this.readDword(v, idx);
    if (byte + size > 4) d = join64(d, this.readDword(v, idx + 1));
    return bytesAt(d, byte, size);
  }

  /** One register dword through its handler (plain copy in failsafe). */
  private readDword(v: Vgpu, idx: number): number {
    if (v.failsafe) return v.vreg[idx];
    return this.table.handlers[this.table.handlerOf[idx]].read(v, idx) >>> 0;
  }

  /** Emulates a BAR0 write. Rejected accesses are dropped. */
  write(v: Vgpu, offset: number, size: number, value: number): void {
    const c = v.counters;
    if (size > 8 || size < 1 || offset < 0 || offset + size > BAR0_SIZE) {
      this.reject(v, size > 8 ? 0 : 2, offset, size, true);
      return;
    }
    if (offset >= GTT_OFFSET) {
      c.traps[TC.gtt]++;
      if (this.tracer !== null) this.tracer.trap(v.id, TC.gtt, true);
      if (size !== 4 && size !== 8) {
        this.reject(v, 0, offset, size, true); // gtt.c emulate_ggtt_mmio_write: 4 or 8 bytes
        return;
      }
      if (offset % size !== 0) {
        this.reject(v, 1, offset, size, true);
        return;
      }
      this.ggtt.write(v.id, v.ggtt, c, offset - GTT_OFFSET, size, value, v.failsafe);
      v.shadowContexts.ggttWritten(Math.floor((offset - GTT_OFFSET) / 8));
      return;
    }
    if (offset >= MMIO_SIZE) {
      c.traps[TC.guest_mem]++;
      if (this.tracer !== null) this.tracer.trap(v.id, TC.guest_mem, true);
      this.writeGuest(v, offset, size, value);
      return;
    }
    const t = this.table;
    const idx = offset >>> 2;
    c.traps[t.cls[idx]]++;
    if (this.tracer !== null) this.tracer.trap(v.id, t.cls[idx], true);
    if ((t.flags[idx] & F_UNALIGN) === 0 && offset % size !== 0) {
      this.reject(v, 1, offset, size, true);
      return;
    }
    t.flags[idx] |= F_ACCESSED;
    const byte = offset & 3;
    if (byte === 0 && size === 4) {
      this.writeDword(v, idx, value >>> 0);
      return;
    }
    if (byte === 0 && size === 8) {
      this.writeDword(v, idx, lo32(value));
      this.writeDword(v, idx + 1, hi32(value));
      return;
    }
    // Sub-dword (or unaligned) write: merge bytes into the current dword(s).
    for (let i = 0; i < size;) {
      const di = (offset + i) >>> 2;
      const b0 = (offset + i) & 3;
      const n = Math.min(4 - b0, size - i);
      const part = Math.floor(value / 2 ** (8 * i));
      this.writeDword(v, di, withBytes(v.vreg[di], b0, n, part));
      i += n;
    }
  }

  /** One register dword through its handler with RO and mode-mask semantics. */
  private writeDword(v: Vgpu, idx: number, value: number): void {
    if (v.failsafe) {
      v.vreg[idx] = value;
      return;
    }
    const t = this.table;
    const old = v.vreg[idx];
    const ro = t.roMask[idx];
    const data = ro !== 0 ? ((old & ro) | (value & ~ro)) >>> 0 : value;
    t.handlers[t.handlerOf[idx]].write(v, idx, data);
    if ((t.flags[idx] & F_MODE_MASK) !== 0) {
      // handlers.c intel_vgpu_mmio_reg_rw: the written mask keeps the handler's bits, the
      // others (the enables included) keep their old value.
      const mask = data >>> 16;
      v.vreg[idx] = ((old & ~mask) | (v.vreg[idx] & mask)) >>> 0;
    }
  }

  /** BAR0 2..8 MiB: reads guest memory behind the BAR. */
  private readGuest(v: Vgpu, offset: number, size: number): number {
    const buf = GUEST_BUF[size];
    if (this.gate.readGpa(v.id, v.bar0 + offset, buf) < 0) return 0;
    let x = 0;
    for (let i = size - 1; i >= 0; i--) x = x * 256 + buf[i];
    return x;
  }

  /** BAR0 2..8 MiB: writes guest memory behind the BAR. */
  private writeGuest(v: Vgpu, offset: number, size: number, value: number): void {
    const buf = GUEST_BUF[size];
    let x = value;
    for (let i = 0; i < size; i++) {
      buf[i] = x % 256;
      x = Math.floor(x / 256);
    }
    this.gate.writeGpa(v.id, v.bar0 + offset, buf);
  }
}

const GUEST_BUF: Uint8Array[] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => new Uint8Array(n));
