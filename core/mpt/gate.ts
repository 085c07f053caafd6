/**
 * The MPT gate: the only way the GVT-g core (and the guest CPU model) reaches a hypervisor
 * backend. One gate wraps one loaded backend and, for every op:
 *
 * - maps the core's vGPU id to the backend's handle (from `attachVgpu`),
 * - counts the call per op and per vGPU,
 * - charges the op's declared cost (`backend.costs[op]`, else the op table's default, unless
 *   the scenario overrides it) plus whatever the backend added with `ctx.charge()`, into an
 *   accumulator the caller drains with {@link MptGate.takeCost} and delays by,
 * - applies the scenario's fault-injection rules ({@link FaultRule}) and records each fault,
 * - catches any exception thrown by the backend and records it as a {@link PluginError}
 *   naming plugin, op and vGPU; it never rethrows and returns the op's failure value, so a
 *   broken plugin can never stop a run: the core reacts (scratch page, failsafe, dropped MSI).
 *
 * What each op returns on failure, what an absent optional op falls back to and what a
 * "wrong" fault does are rows of the op table ({@link MPT_OPS}, core/mpt/ops.ts); one generic
 * call path applies them, and each public method is a typed one-line wrapper.
 */

import type { Sim } from "../sim/sim.ts";
import type { FaultRule, Loc } from "../scenario.ts";
import {
  type GvtOps,
  type Handle,
  MPT_EINVAL,
  MPT_OK,
  type MptBackend,
  type MptOpKey,
  PAGE_SIZE,
  PAGE_SIZE_2M,
  type VgpuInfo,
} from "./types.ts";
import { GATED_OPS, MPT_OPS, type MptOpSpec } from "./ops.ts";

/** Name of one op the gate wraps. */
export type MptOpName = Exclude<MptOpKey, "crashed" | "opFailed">;

/** Every op the gate wraps, in a fixed order (index = op number in {@link MptGate.opCount}). */
export const MPT_OP_NAMES: readonly MptOpName[] = GATED_OPS.map((o) => o.name as MptOpName);

const OP_INDEX: Record<string, number> = {};
MPT_OP_NAMES.forEach((n, i) => OP_INDEX[n] = i);

/**
 * When fault rules on an op can take effect, for ops the gate does not call throughout a run
 * (core/mpt/ops.ts `called`): `start` for ops called once, when the world is built (only
 * rules present from the start, in the scenario's hypervisor block and active at the first
 * call, apply); `never` for ops the core never calls through the gate in a run (a rule on
 * them could never fire).
 */
export const OP_FAULT_WINDOW: Readonly<Partial<Record<MptOpName, "start" | "never">>> = Object
  .fromEntries(
    GATED_OPS.filter((o) => o.called === "build" || o.called === "never").map((o) => [
      o.name,
      o.called === "build" ? "start" : "never",
    ]),
  );

/** True if `name` is an op a fault rule may target. */
export function isMptOpName(name: string): name is MptOpName {
  return Object.hasOwn(OP_INDEX, name);
}

const N_OPS = MPT_OP_NAMES.length;
const at = (name: MptOpName): number => OP_INDEX[name];
const O_HOST_INIT = at("hostInit"),
  O_HOST_EXIT = at("hostExit"),
  O_ATTACH = at("attachVgpu"),
  O_DETACH = at("detachVgpu"),
  O_MSI = at("injectMsi"),
  O_VIRT_TO_MFN = at("fromVirtToMfn"),
  O_PT_ON = at("enablePageTrack"),
  O_PT_OFF = at("disablePageTrack"),
  O_READ_GPA = at("readGpa"),
  O_WRITE_GPA = at("writeGpa"),
  O_GFN_TO_MFN = at("gfnToMfn"),
  O_DMA_MAP = at("dmaMapGuestPage"),
  O_DMA_UNMAP = at("dmaUnmapGuestPage"),
  O_DMA_PIN = at("dmaPinGuestPage"),
  O_MAP_GFN = at("mapGfnToMfn"),
  O_TRAP_AREA = at("setTrapArea"),
  O_VALID_GFN = at("isValidGfn"),
  O_OPREGION = at("setOpregion"),
  O_EDID = at("setEdid"),
  O_GET_VFIO = at("getVfioDevice"),
  O_PUT_VFIO = at("putVfioDevice"),
  O_MMIO_READ = at("guestMmioRead"),
  O_MMIO_WRITE = at("guestMmioWrite"),
  O_MEM_WRITE = at("guestMemWrite"),
  O_DESCHED = at("vgpuDescheduled"),
  O_DIRTY_LOG = at("dirtyLog"),
  O_DIRTY_SYNC = at("dirtyLogSync"),
  O_SAVE = at("save"),
  O_RESTORE = at("restore");

/**
 * Costs (ns) the gate charges per call when a backend declares none for an op (the op
 * table's `cost` column): a generic hypercall-like price. Guest memory writes cost nothing by
 * default (plain stores; a backend charges when one traps).
 */
export const DEFAULT_COSTS: Readonly<Record<MptOpName, number>> = Object.fromEntries(
  GATED_OPS.map((o) => [o.name, o.cost]),
) as Record<MptOpName, number>;

/** A backend op threw (or returned a value of the wrong type). */
export interface PluginError {
  /** Plugin label (file and backend name). */
  plugin: string;
  /** Op name. */
  op: string;
  /** vGPU id (0 for ops not tied to a vGPU). */
  vgpuId: number;
  /** The exception's message (no stack). */
  message: string;
  /** Simulated time (ns). */
  at: number;
}

/** One fault the gate injected. */
export interface InjectedFault {
  /** Op name. */
  op: string;
  /** vGPU id (0 for ops not tied to a vGPU). */
  vgpuId: number;
  /** What was done. */
  action: FaultRule["action"];
  /** Simulated time (ns). */
  at: number;
  /** Where the rule was written. */
  loc: Loc;
}

/** Source of time a backend charged through `ctx.charge()` (see core/mpt/context.ts). */
export interface ChargeSource {
  /** Returns the ns charged since the last call and resets. */
  takeCharged(): number;
}

/** Optional gate settings. */
export interface GateOptions {
  /** Where the backend's `ctx.charge()` time accumulates (its context). */
  charged?: ChargeSource;
  /** Scenario cost overrides: op name -> ns (names that are not ops are ignored here). */
  costs?: Readonly<Record<string, number>>;
  /**
   * Device address a "wrong" fault makes `dmaMapGuestPage` return: a page the VM does not
   * own. Default 0 (machine frame 0, which no VM ever owns).
   */
  wrongDmaAddress?: number;
  /** vGPU ids the gate tracks: 0 .. maxVgpus - 1 (default 16; gScale mode needs more). */
  maxVgpus?: number;
}

/** Most errors / injected faults kept as records (all are counted). */
export const MAX_RECORDS = 4096;

const ACT_NONE = 0, ACT_ERROR = 1, ACT_THROW = 2, ACT_WRONG = 3;
/** vGPU ids a gate tracks by default (upstream's 7 and room for tests). */
const MAX_VGPUS = 16;

/** Runtime state of one fault rule. */
export class FaultState {
  seen = 0;
  applied = 0;
  constructor(readonly rule: FaultRule) {}
}

/** The exception the gate raises inside a backend call for a "throw" fault. */
export class InjectedThrow extends Error {
  /** Creates it.
   * @param op op name */
  constructor(op: string) {
    super(`injected fault: ${op} threw`);
    this.name = "InjectedThrow";
  }
}

/** Native vs generic implementation of the optional ops of a backend. */
export interface NativeOps {
  /** Optional ops the backend implements itself. */
  native: string[];
  /** Optional ops the gate covers with a generic fallback. */
  fallback: string[];
}

/**
 * Wraps one backend for the core: vGPU ids instead of handles, cost accounting, fault
 * injection and error containment. See the module documentation.
 */
export class MptGate {
  /** Domains the backend crashed after a failed emulation. */
  crashedCount = 0;
  /** Backend errors (first {@link MAX_RECORDS}); `errorCount` counts all. */
  readonly errors: PluginError[] = [];
  /** Total backend errors. */
  errorCount = 0;
  /** Injected faults (first {@link MAX_RECORDS}); `faultCount` counts all. */
  readonly faultsInjected: InjectedFault[] = [];
  /** Total injected faults. */
  faultCount = 0;
  /** Total ns charged through this gate. */
  totalCost = 0;

  private readonly maxVgpus: number;
  private readonly counts: Float64Array;
  private readonly costOf = new Float64Array(N_OPS);
  private readonly costByVgpu: Float64Array;
  private readonly handles: Handle[];
  private readonly attached: Uint8Array;
  private readonly vmNames: string[];
  private readonly infos: (VgpuInfo | null)[];
  private readonly rulesByOp: FaultState[][] = [];
  private readonly fns: (BackendFn | null)[] = [];
  /** Per op: 1 if it takes a handle (a per-vGPU op other than attach), for the fast path. */
  private readonly withHandle = new Uint8Array(N_OPS);
  /** Per op: what its result must be (0 anything, 1 a number, 2 a boolean). */
  private readonly resultType = new Uint8Array(N_OPS);
  private readonly pinFallback: Map<number, number>[] = [];
  private readonly charged: ChargeSource | undefined;
  private readonly wrongDma: number;
  private pending = 0;
  private ruleCount = 0;

  /**
   * Creates it.
   * @param sim the simulation (for time-triggered faults and record times)
   * @param backend the loaded backend
   * @param plugin label used in errors (file and backend name)
   * @param faults fault-injection rules
   * @param options cost overrides, the backend context's charge source
   */
  constructor(
    private readonly sim: Sim,
    readonly backend: MptBackend,
    readonly plugin: string,
    faults: readonly FaultRule[] = [],
    options: GateOptions = {},
  ) {
    this.charged = options.charged;
    this.wrongDma = options.wrongDmaAddress ?? 0;
    const max = this.maxVgpus = options.maxVgpus ?? MAX_VGPUS;
    this.counts = new Float64Array(N_OPS * max);
    this.costByVgpu = new Float64Array(max);
    this.handles = new Array(max).fill(undefined);
    this.attached = new Uint8Array(max);
    this.vmNames = new Array(max).fill("");
    this.infos = new Array(max).fill(null);
    const declared = backend.costs ?? {};
    for (let i = 0; i < N_OPS; i++) {
      const name = MPT_OP_NAMES[i];
      this.rulesByOp.push([]);
      const f = (backend as unknown as Record<string, unknown>)[name];
      // bound once: a bound call is as cheap as a method call, `f.call(backend, ...)` is not
      this.fns.push(typeof f === "function" ? (f as BackendFn).bind(backend) : null);
      const s = GATED_OPS[i];
      this.withHandle[i] = s.vgpu && i !== O_ATTACH ? 1 : 0;
      this.resultType[i] = s.returns === "bool"
        ? 2
        : s.returns === "void" || s.returns === "handle" || s.returns === "state"
        ? 0
        : 1;
      const o = options.costs?.[name];
      const d = declared[name];
      this.costOf[i] = validCost(o) ? o : validCost(d) ? d : DEFAULT_COSTS[name];
    }
    for (let i = 0; i < max; i++) this.pinFallback.push(new Map());
    for (const r of faults) this.addFault(r);
  }

  /** Adds a fault rule at run time (a timeline `fault` action). Unknown op names never fire. */
  addFault(rule: FaultRule): void {
    const i = OP_INDEX[rule.op];
    if (i === undefined) return;
    this.rulesByOp[i].push(new FaultState(rule));
    this.ruleCount++;
  }

  /** Returns the ns charged since the last call (declared costs + backend charges) and resets. */
  takeCost(): number {
    const c = this.pending;
    this.pending = 0;
    return c;
  }

  /** Calls of `op` for one vGPU (or all vGPUs when `vgpuId` is omitted). */
  opCount(op: MptOpName, vgpuId?: number): number {
    const i = OP_INDEX[op];
    if (vgpuId !== undefined) {
      return vgpuId >= 0 && vgpuId < this.maxVgpus ? this.counts[i * this.maxVgpus + vgpuId] : 0;
    }
    let s = 0;
    for (let v = 0; v < this.maxVgpus; v++) s += this.counts[i * this.maxVgpus + v];
    return s;
  }

  /** Calls per op name, all vGPUs (ops never called are omitted). */
  get opCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < N_OPS; i++) {
      const n = this.opCount(MPT_OP_NAMES[i]);
      if (n > 0) out[MPT_OP_NAMES[i]] = n;
    }
    return out;
  }

  /** Total ns charged for one vGPU's ops. */
  costFor(vgpuId: number): number {
    return vgpuId >= 0 && vgpuId < this.maxVgpus ? this.costByVgpu[vgpuId] : 0;
  }

  /** The cost (ns) the gate charges per call of `op`. */
  costOfOp(op: MptOpName): number {
    return this.costOf[OP_INDEX[op]];
  }

  /** Which optional ops the backend implements natively and which use the generic fallback. */
  nativeOps(): NativeOps {
    const native: string[] = [], fallback: string[] = [];
    for (const o of MPT_OPS) {
      if (o.required) continue;
      const f = (this.backend as unknown as Record<string, unknown>)[o.name];
      (typeof f === "function" ? native : fallback).push(o.name);
    }
    return { native, fallback };
  }

  /** True if the vGPU is attached. */
  isAttached(vgpuId: number): boolean {
    return vgpuId >= 0 && vgpuId < this.maxVgpus && this.attached[vgpuId] === 1;
  }

  /** The description a vGPU was attached with (null if not attached). */
  infoOf(id: number): VgpuInfo | null {
    return this.infos[id] ?? null;
  }

  // ---- life cycle --------------------------------------------------------------------------

  /** Registers the backend and hands it the core's callbacks; false if it failed. */
  hostInit(ops: GvtOps): boolean {
    return this.call(O_HOST_INIT, 0, ops, 0, 0, 0) !== FAILED;
  }

  /** Unregisters the backend. */
  hostExit(): void {
    this.call(O_HOST_EXIT, 0, 0, 0, 0, 0);
  }

  /** Creates the backend's per-vGPU state; false if the backend failed (vGPU not attached). */
  attachVgpu(info: VgpuInfo): boolean {
    const id = info.id;
    if (!(id >= 0 && id < this.maxVgpus) || this.attached[id] === 1) {
      this.record(
        "gate",
        O_ATTACH,
        id,
        `vGPU ${id} cannot be attached (bad id or already attached)`,
      );
      return false;
    }
    this.vmNames[id] = info.vm;
    const h = this.call(O_ATTACH, id, info, 0, 0, 0);
    if (h === FAILED) return false;
    this.handles[id] = this.fns[O_ATTACH] === null ? info : h;
    this.attached[id] = 1;
    this.infos[id] = { ...info };
    return true;
  }

  /** Destroys the backend's per-vGPU state (the gate forgets the handle either way). */
  detachVgpu(id: number): void {
    if (!this.isAttached(id)) return void this.notAttached(O_DETACH, id);
    this.call(O_DETACH, id, 0, 0, 0, 0);
    this.attached[id] = 0;
    this.handles[id] = undefined;
    this.infos[id] = null;
    this.pinFallback[id].clear();
  }

  /** Injects the guest's MSI; true if delivered. A "wrong" fault reports true but drops it. */
  injectMsi(id: number, addr: number, data: number): boolean {
    return this.call(O_MSI, id, addr, data, 0, 0) as boolean;
  }

  /** Write-protects a guest page; MPT_OK or a negative errno. */
  enablePageTrack(id: number, gfn: number): number {
    return this.call(O_PT_ON, id, gfn, 0, 0, 0) as number;
  }

  /** Removes write protection from a guest page; MPT_OK or a negative errno. */
  disablePageTrack(id: number, gfn: number): number {
    return this.call(O_PT_OFF, id, gfn, 0, 0, 0) as number;
  }

  /** Copies guest-physical memory into `buf`; MPT_OK or a negative errno. */
  readGpa(id: number, gpa: number, buf: Uint8Array): number {
    return this.call(O_READ_GPA, id, gpa, buf, 0, 0) as number;
  }

  /** Copies `buf` into guest-physical memory; MPT_OK or a negative errno. */
  writeGpa(id: number, gpa: number, buf: Uint8Array): number {
    return this.call(O_WRITE_GPA, id, gpa, buf, 0, 0) as number;
  }

  /** Guest frame to machine frame, or -1. A "wrong" fault returns the next frame. */
  gfnToMfn(id: number, gfn: number): number {
    return this.call(O_GFN_TO_MFN, id, gfn, 0, 0, 0) as number;
  }

  /** Host virtual address to machine frame, or -1 (absent op: -1). */
  fromVirtToMfn(addr: number): number {
    return this.call(O_VIRT_TO_MFN, 0, addr, 0, 0, 0) as number;
  }

  /**
   * Maps a guest page (4 KiB or 2 MiB) for DMA and returns its device address, or a negative
   * errno. A "wrong" fault returns the address of a page the VM does not own.
   */
  dmaMapGuestPage(id: number, gfn: number, size: number): number {
    const r = this.call(O_DMA_MAP, id, gfn, size, 0, 0) as number;
    if (r >= 0 && this.fns[O_DMA_PIN] === null && r !== this.wrongDma) {
      this.pinFallback[id].set(r, gfn * 2 + (size > 4096 ? 1 : 0));
    }
    return r;
  }

  /** Drops one reference of a DMA mapping. */
  dmaUnmapGuestPage(id: number, dma: number): void {
    this.call(O_DMA_UNMAP, id, dma, 0, 0, 0);
  }

  /**
   * Takes one more reference on a DMA mapping; MPT_OK or a negative errno. Generic fallback
   * for backends without it: map the same guest page once more.
   */
  dmaPinGuestPage(id: number, dma: number): number {
    return this.call(O_DMA_PIN, id, dma, 0, 0, 0) as number;
  }

  /** Maps/unmaps `nr` machine frames at `gfn` (aperture slice); MPT_OK when absent. */
  mapGfnToMfn(id: number, gfn: number, mfn: number, nr: number, map: boolean): number {
    return this.call(O_MAP_GFN, id, gfn, mfn, nr, map) as number;
  }

  /** Asks the hypervisor to trap [start, end); MPT_OK when absent. */
  setTrapArea(id: number, start: number, end: number, map: boolean): number {
    return this.call(O_TRAP_AREA, id, start, end, map, 0) as number;
  }

  /** Is this guest frame backed? Absent op: true (as upstream). A "wrong" fault inverts. */
  isValidGfn(id: number, gfn: number): boolean {
    return this.call(O_VALID_GFN, id, gfn, 0, 0, 0) as boolean;
  }

  /** Exposes the virtual OpRegion; MPT_OK when absent. */
  setOpregion(id: number): number {
    return this.call(O_OPREGION, id, 0, 0, 0, 0) as number;
  }

  /** Exposes a virtual EDID on `port`; MPT_OK when absent. */
  setEdid(id: number, port: number): number {
    return this.call(O_EDID, id, port, 0, 0, 0) as number;
  }

  /** dma-buf export reference; MPT_OK when absent. */
  getVfioDevice(id: number): number {
    return this.call(O_GET_VFIO, id, 0, 0, 0, 0) as number;
  }

  /** Drops a dma-buf export reference. */
  putVfioDevice(id: number): void {
    this.call(O_PUT_VFIO, id, 0, 0, 0, 0);
  }

  /** Tells the backend the vGPU was scheduled out (a backend may flush a dirty log). */
  vgpuDescheduled(id: number): void {
    this.call(O_DESCHED, id, 0, 0, 0, 0);
  }

  /** Starts or stops the VM's dirty-page log; MPT_OK when absent (there is then no log). */
  dirtyLog(id: number, on: boolean): number {
    return this.call(O_DIRTY_LOG, id, on, 0, 0, 0) as number;
  }

  /**
   * Get-and-clear of the dirty log into `bitmap` (one byte per guest frame); MPT_OK or a
   * negative errno. Generic fallback for a backend without a log: every page is dirty.
   */
  dirtyLogSync(id: number, bitmap: Uint8Array): number {
    if (this.fns[O_DIRTY_SYNC] === null && this.isAttached(id)) {
      this.call(O_DIRTY_SYNC, id, bitmap, 0, 0, 0); // counted and costed like a native call
      bitmap.fill(1);
      return MPT_OK;
    }
    return this.call(O_DIRTY_SYNC, id, bitmap, 0, 0, 0) as number;
  }

  /** Serialises the backend's vGPU state (undefined if unsupported or failed). */
  save(id: number): unknown {
    const r = this.call(O_SAVE, id, 0, 0, 0, 0);
    return r === FAILED || r === null ? undefined : r;
  }

  /** Restores state returned by {@link save}; false if unsupported or failed. */
  restore(id: number, state: unknown): boolean {
    const r = this.call(O_RESTORE, id, state, 0, 0, 0);
    return r !== FAILED && this.fns[O_RESTORE] !== null;
  }

  // The three trap-path entry points run for every guest access: each has its own call site
  // into the backend (monomorphic, so the backend's op can be inlined) when no fault rule is
  // set; everything else goes through the one generic path.

  /** The guest CPU reads BAR0/config space at `gpa`. Failure gives all ones of `size` bytes. */
  guestMmioRead(id: number, gpa: number, size: number): number {
    const f = this.fns[O_MMIO_READ];
    if (f === null || !this.fast(id)) return this.call(O_MMIO_READ, id, gpa, size, 0, 0) as number;
    let r: unknown;
    try {
      r = f(this.handles[id], gpa, size);
    } catch (e) {
      r = this.caught(O_MMIO_READ, id, e, size);
    }
    return this.done(O_MMIO_READ, id, r, size) as number;
  }

  /** The guest CPU writes BAR0/config space at `gpa`. A failure or "wrong" fault drops it. */
  guestMmioWrite(id: number, gpa: number, size: number, value: number): void {
    const f = this.fns[O_MMIO_WRITE];
    if (f === null || !this.fast(id)) return void this.call(O_MMIO_WRITE, id, gpa, size, value, 0);
    try {
      f(this.handles[id], gpa, size, value);
    } catch (e) {
      this.caught(O_MMIO_WRITE, id, e, size);
    }
    this.done(O_MMIO_WRITE, id, undefined, size);
  }

  /** The guest CPU writes its RAM (trapped by the backend if the page is tracked). */
  guestMemWrite(id: number, gpa: number, size: number, value: number): void {
    const f = this.fns[O_MEM_WRITE];
    if (f === null || !this.fast(id)) return void this.call(O_MEM_WRITE, id, gpa, size, value, 0);
    try {
      f(this.handles[id], gpa, size, value);
    } catch (e) {
      this.caught(O_MEM_WRITE, id, e, size);
    }
    this.done(O_MEM_WRITE, id, undefined, size);
  }

  /** True when a call may take the fast path: no fault rules, the vGPU attached. */
  private fast(id: number): boolean {
    return this.ruleCount === 0 && id >= 0 && id < this.maxVgpus && this.attached[id] === 1;
  }

  /** A backend op threw on the fast path: record it; the op's failure value. */
  private caught(op: number, id: number, e: unknown, b: unknown): unknown {
    this.fail(op, id, e);
    const s = GATED_OPS[op];
    if (s.trap) this.emulationFailed(op, id);
    return failureOf(s, b);
  }

  /** Ends a fast-path call: type check, count, costs; the result. */
  private done(op: number, id: number, r: unknown, b: unknown): unknown {
    const t = this.resultType[op];
    if (t !== 0 && typeof r !== (t === 1 ? "number" : "boolean")) {
      r = this.badType(op, id, r, GATED_OPS[op], b);
    }
    this.counts[op * this.maxVgpus + id]++;
    this.post(op, id);
    return r;
  }

  /**
   * Records a broken rule the core found after an op returned (e.g. IOMMU mappings a
   * detached vGPU left behind): a plugin error naming the op, like an exception.
   */
  reportViolation(op: MptOpName, id: number, message: string): void {
    this.record(this.plugin, OP_INDEX[op], id >= 0 && id < MAX_VGPUS ? id : 0, message);
  }

  /** Whether the backend reports the vGPU's domain crashed (false if it cannot tell). */
  crashed(id: number): boolean {
    if (typeof this.backend.crashed !== "function") return false;
    try {
      return this.backend.crashed(id) === true;
    } catch (e) {
      this.fail(O_MMIO_READ, id, e);
      return false;
    }
  }

  // ---- the one call path ------------------------------------------------------------------

  /**
   * Calls op `op` for vGPU `id` with up to four arguments after the handle, applying the op
   * table's row: attachment check, fault rules, absent-op fallback, type check, containment,
   * the "wrong" transformation, costs. Allocation-free on the hot path.
   */
  private call(op: number, id: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
    // fast path (no fault rules, the backend has the op, the vGPU is attached): the trap path
    // runs here millions of times per run
    const f = this.fns[op];
    if (f !== null && this.withHandle[op] === 1 && this.fast(id)) {
      let r: unknown;
      try {
        r = f(this.handles[id], a, b, c, d);
      } catch (e) {
        r = this.caught(op, id, e, b);
      }
      return this.done(op, id, r, b);
    }
    const s = GATED_OPS[op];
    const withHandle = s.vgpu && op !== O_ATTACH;
    if (withHandle && !this.isAttached(id)) return this.notAttached(op, id, b);
    const vid = s.vgpu ? id : 0;
    const act = this.pre(op, vid);
    let r: unknown;
    if (act === ACT_ERROR) {
      r = failureOf(s, b);
      if (s.trap) this.emulationFailed(op, vid);
    } else if (act === ACT_WRONG && (s.wrong === "ok" || s.wrong === "skip")) {
      r = s.wrong === "ok" ? okOf(s) : failureOf(s, b);
    } else {
      try {
        if (act === ACT_THROW) throw new InjectedThrow(s.name);
        if (f === null) r = op === O_DMA_PIN ? this.pinByRemap(id, a as number) : s.absent;
        else {
          r = withHandle ? f(this.handles[id], a, b, c, d) : f(a);
          if (!typeMatches(s, r)) r = this.badType(op, vid, r, s, b);
        }
      } catch (e) {
        this.fail(op, vid, e);
        r = failureOf(s, b);
        if (s.trap) this.emulationFailed(op, vid);
      }
      if (act === ACT_WRONG) r = this.wrongOf(s, r, b);
    }
    this.post(op, vid);
    return r;
  }

  /** The generic dmaPinGuestPage: map the address's gfn once more (same address = pinned). */
  private pinByRemap(id: number, dma: number): number {
    const key = this.pinFallback[id].get(dma);
    if (key === undefined) return MPT_EINVAL;
    const f = this.fns[O_DMA_MAP]!;
    const again = f(
      this.handles[id],
      Math.floor(key / 2),
      key % 2 ? PAGE_SIZE_2M : PAGE_SIZE,
    );
    return again === dma ? MPT_OK : typeof again === "number" && again < 0 ? again : MPT_EINVAL;
  }

  /** The answer of a "wrong" fault that let the backend run. */
  private wrongOf(s: MptOpSpec, r: unknown, b: unknown): unknown {
    switch (s.wrong) {
      case "poison":
        if (r === MPT_OK) (b as Uint8Array).fill(0xa5);
        return r;
      case "next":
        return (r as number) >= 0 ? (r as number) + 1 : r;
      case "foreign":
        return (r as number) >= 0 ? this.wrongDma : r;
      case "invert":
        return !r;
      case "flip":
        return (r as number) % 2 === 0 ? (r as number) + 1 : (r as number) - 1;
      default:
        return r;
    }
  }

  /** An op on a vGPU that is not attached: a gate error and the op's failure value. */
  private notAttached(op: number, id: number, b: unknown = 0): unknown {
    const s = GATED_OPS[op];
    this.record("gate", op, id >= 0 && id < this.maxVgpus ? id : 0, `vGPU ${id} is not attached`);
    return s.returns === "errno" || s.returns === "dma" ? MPT_EINVAL : failureOf(s, b);
  }

  /** Counts the call and evaluates fault rules; returns the action to apply. */
  private pre(op: number, id: number): number {
    this.counts[op * this.maxVgpus + id]++;
    if (this.ruleCount === 0) return ACT_NONE;
    const rules = this.rulesByOp[op];
    let act = ACT_NONE;
    for (let i = 0; i < rules.length; i++) {
      const s = rules[i];
      const r = s.rule;
      if (r.vm !== undefined && (id === 0 || this.vmNames[id] !== r.vm)) continue;
      s.seen++;
      if (r.at !== undefined && this.sim.now < r.at) continue;
      if (r.afterCalls !== undefined && s.seen <= r.afterCalls) continue;
      if (r.count !== undefined && s.applied >= r.count) continue;
      s.applied++;
      this.faultCount++;
      if (this.faultsInjected.length < MAX_RECORDS) {
        this.faultsInjected.push({
          op: MPT_OP_NAMES[op],
          vgpuId: id,
          action: r.action,
          at: this.sim.now,
          loc: r.loc,
        });
      }
      if (r.action === "delay") {
        const d = r.delay ?? 0;
        if (d > 0) this.addCost(id, d);
      } else if (act === ACT_NONE) {
        act = r.action === "error" ? ACT_ERROR : r.action === "throw" ? ACT_THROW : ACT_WRONG;
      }
    }
    return act;
  }

  /** Charges the op's declared cost and the backend's own charges. */
  private post(op: number, id: number): void {
    let c = this.costOf[op];
    if (this.charged !== undefined) c += this.charged.takeCharged();
    if (c > 0) this.addCost(id, c);
  }

  /** Adds time to the pending cost and the per-vGPU total. */
  private addCost(id: number, ns: number): void {
    this.pending += ns;
    this.totalCost += ns;
    this.costByVgpu[id] += ns;
  }

  /**
   * A trapped guest access could not be emulated (an injected fault or a throwing
   * backend): tell the backend, which may crash the domain as a type-1 hypervisor does.
   */
  private emulationFailed(op: number, id: number): void {
    if (typeof this.backend.opFailed !== "function") return;
    try {
      if (this.backend.opFailed(id, MPT_OP_NAMES[op]) === true) this.crashedCount++;
    } catch (e) {
      this.fail(op, id, e);
    }
  }

  /** Records a backend exception. */
  private fail(op: number, id: number, e: unknown): void {
    const msg = e instanceof Error
      ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}`
      : String(e);
    this.record(this.plugin, op, id, msg);
  }

  /** Records a return value of the wrong type; returns the op's failure value. */
  private badType(op: number, id: number, v: unknown, s: MptOpSpec, b: unknown): unknown {
    const want = s.returns === "bool" ? "a boolean" : "a number";
    this.record(
      this.plugin,
      op,
      id,
      `returned ${v === null ? "null" : typeof v}, expected ${want}`,
    );
    return failureOf(s, b);
  }

  /** Records an error (bounded list, total count). */
  private record(plugin: string, op: number, id: number, message: string): void {
    this.errorCount++;
    if (this.errors.length < MAX_RECORDS) {
      this.errors.push({ plugin, op: MPT_OP_NAMES[op], vgpuId: id, message, at: this.sim.now });
    }
  }
}

/** A backend method as the gate calls it (bound to the backend). */
type BackendFn = (...args: unknown[]) => unknown;

/** What a void, handle or state op gives when it failed (callers compare with it). */
const FAILED: unique symbol = Symbol("failed");

/** Does a backend's return value have the op's type? */
function typeMatches(s: MptOpSpec, r: unknown): boolean {
  switch (s.returns) {
    case "bool":
      return typeof r === "boolean";
    case "void":
    case "handle":
    case "state":
      return true;
    default:
      return typeof r === "number";
  }
}

/** The op's failure value (all ones of the access size for a read). */
function failureOf(s: MptOpSpec, size: unknown): unknown {
  const f = s.failure;
  if (f === "all ones") return allOnes(size as number);
  if (f === null) return FAILED;
  return f;
}

/** What a "wrong" fault of kind `ok` reports. */
function okOf(s: MptOpSpec): unknown {
  return s.returns === "bool" ? true : MPT_OK;
}

function validCost(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function allOnes(size: number): number {
  return size >= 8 ? Number.MAX_SAFE_INTEGER : size >= 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}
