/**
 * The MPT gate: the only way the GVT-g core (and the guest CPU model) reaches a hypervisor
 * backend. One gate wraps one loaded backend and, for every op:
 *
 * - maps the core's vGPU id to the backend's handle (from `attachVgpu`),
 * - counts the call per op and per vGPU,
 * - charges the op's declared cost (`backend.costs[op]`, else {@link DEFAULT_COSTS}, unless
 *   the scenario overrides it) plus whatever the backend added with `ctx.charge()`, into an
 *   accumulator the caller drains with {@link MptGate.takeCost} and delays by,
 * - applies the scenario's fault-injection rules ({@link FaultRule}) and records each fault,
 * - catches any exception thrown by the backend and records it as a {@link PluginError}
 *   naming plugin, op and vGPU; it never rethrows and returns the op's failure value, so a
 *   broken plugin can never stop a run: the core reacts (scratch page, failsafe, dropped MSI).
 *
 * Failure values: errno-returning ops give a negative errno ({@link MPT_EIO} for an injected
 * error, {@link MPT_ENOMEM} for DMA mapping), `injectMsi`/`isValidGfn`/`attachVgpu` give
 * false, `gfnToMfn`/`fromVirtToMfn` give -1, `guestMmioRead` gives all ones of its size, and
 * void ops do nothing.
 */

import type { Sim } from "../sim/sim.ts";
import type { FaultRule, Loc } from "../scenario.ts";
import {
  type GvtOps,
  type Handle,
  MPT_EINVAL,
  MPT_EIO,
  MPT_ENOMEM,
  MPT_OK,
  type MptBackend,
  OPTIONAL_OPS,
  type VgpuInfo,
} from "./types.ts";

/** Every op the gate wraps, in a fixed order (index = op number in {@link MptGate.opCount}). */
export const MPT_OP_NAMES = [
  "hostInit",
  "hostExit",
  "attachVgpu",
  "detachVgpu",
  "injectMsi",
  "fromVirtToMfn",
  "enablePageTrack",
  "disablePageTrack",
  "readGpa",
  "writeGpa",
  "gfnToMfn",
  "dmaMapGuestPage",
  "dmaUnmapGuestPage",
  "dmaPinGuestPage",
  "mapGfnToMfn",
  "setTrapArea",
  "isValidGfn",
  "setOpregion",
  "setEdid",
  "getVfioDevice",
  "putVfioDevice",
  "guestMmioRead",
  "guestMmioWrite",
  "guestMemWrite",
  "vgpuDescheduled",
  "save",
  "restore",
] as const;

/** Name of one wrapped op. */
export type MptOpName = typeof MPT_OP_NAMES[number];

const OP_INDEX: Record<string, number> = {};
MPT_OP_NAMES.forEach((n, i) => OP_INDEX[n] = i);

/**
 * When fault rules on an op can take effect, for ops the gate does not call throughout a run:
 * `hostInit` is called once, when the world is built (so only rules present from the start,
 * in the scenario's hypervisor block and active at the first call, apply); `hostExit` is never
 * called during a run, and checkpoints call `save`/`restore` on the backend directly (a rule
 * on them could never fire).
 */
export const OP_FAULT_WINDOW: Readonly<Partial<Record<MptOpName, "start" | "never">>> = {
  hostInit: "start",
  hostExit: "never",
  save: "never",
  restore: "never",
};

/** True if `name` is an op a fault rule may target. */
export function isMptOpName(name: string): name is MptOpName {
  return Object.hasOwn(OP_INDEX, name);
}

const O_HOST_INIT = 0,
  O_HOST_EXIT = 1,
  O_ATTACH = 2,
  O_DETACH = 3,
  O_MSI = 4,
  O_VIRT_TO_MFN = 5,
  O_PT_ON = 6,
  O_PT_OFF = 7,
  O_READ_GPA = 8,
  O_WRITE_GPA = 9,
  O_GFN_TO_MFN = 10,
  O_DMA_MAP = 11,
  O_DMA_UNMAP = 12,
  O_DMA_PIN = 13,
  O_MAP_GFN = 14,
  O_TRAP_AREA = 15,
  O_VALID_GFN = 16,
  O_OPREGION = 17,
  O_EDID = 18,
  O_GET_VFIO = 19,
  O_PUT_VFIO = 20,
  O_MMIO_READ = 21,
  O_MMIO_WRITE = 22,
  O_MEM_WRITE = 23,
  O_DESCHED = 24,
  O_SAVE = 25,
  O_RESTORE = 26;
const N_OPS = MPT_OP_NAMES.length;

/**
 * Costs (ns) the gate charges per call when a backend declares none for an op: a generic
 * hypercall-like price. Guest memory writes cost nothing by default (plain stores; a backend
 * charges when one traps); MMIO accesses default to a few microseconds of trap round trip.
 */
export const DEFAULT_COSTS: Readonly<Record<MptOpName, number>> = {
  hostInit: 0,
  hostExit: 0,
  attachVgpu: 10_000,
  detachVgpu: 10_000,
  injectMsi: 1_000,
  fromVirtToMfn: 200,
  enablePageTrack: 1_000,
  disablePageTrack: 1_000,
  readGpa: 200,
  writeGpa: 200,
  gfnToMfn: 100,
  dmaMapGuestPage: 500,
  dmaUnmapGuestPage: 300,
  dmaPinGuestPage: 100,
  mapGfnToMfn: 2_000,
  setTrapArea: 2_000,
  isValidGfn: 50,
  setOpregion: 5_000,
  setEdid: 5_000,
  getVfioDevice: 100,
  putVfioDevice: 100,
  guestMmioRead: 3_000,
  guestMmioWrite: 3_000,
  guestMemWrite: 0,
  vgpuDescheduled: 0,
  save: 0,
  restore: 0,
};

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
}

/** Most errors / injected faults kept as records (all are counted). */
export const MAX_RECORDS = 4096;

const ACT_NONE = 0, ACT_ERROR = 1, ACT_THROW = 2, ACT_WRONG = 3;
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

  private readonly counts = new Float64Array(N_OPS * MAX_VGPUS);
  private readonly costOf = new Float64Array(N_OPS);
  private readonly costByVgpu = new Float64Array(MAX_VGPUS);
  private readonly handles: Handle[] = new Array(MAX_VGPUS).fill(undefined);
  private readonly attached = new Uint8Array(MAX_VGPUS);
  private readonly vmNames: string[] = new Array(MAX_VGPUS).fill("");
  private readonly infos: (VgpuInfo | null)[] = new Array(MAX_VGPUS).fill(null);
  private readonly rulesByOp: FaultState[][] = [];
  private readonly has: boolean[] = new Array(N_OPS).fill(false);
  private readonly pinFallback: Map<number, number>[] = [];
  private readonly charged: ChargeSource | undefined;
  private readonly wrongDma: number;
  private pending = 0;
  private ruleCount = 0;
  private curAct = ACT_NONE;

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
    const declared = backend.costs ?? {};
    for (let i = 0; i < N_OPS; i++) {
      const name = MPT_OP_NAMES[i];
      this.rulesByOp.push([]);
      const b = (backend as unknown as Record<string, unknown>)[name];
      this.has[i] = typeof b === "function";
      const o = options.costs?.[name];
      const d = declared[name];
      this.costOf[i] = validCost(o) ? o : validCost(d) ? d : DEFAULT_COSTS[name];
    }
    for (let i = 0; i < MAX_VGPUS; i++) this.pinFallback.push(new Map());
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
      return vgpuId >= 0 && vgpuId < MAX_VGPUS ? this.counts[i * MAX_VGPUS + vgpuId] : 0;
    }
    let s = 0;
    for (let v = 0; v < MAX_VGPUS; v++) s += this.counts[i * MAX_VGPUS + v];
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
    return vgpuId >= 0 && vgpuId < MAX_VGPUS ? this.costByVgpu[vgpuId] : 0;
  }

  /** The cost (ns) the gate charges per call of `op`. */
  costOfOp(op: MptOpName): number {
    return this.costOf[OP_INDEX[op]];
  }

  /** Which optional ops the backend implements natively and which use the generic fallback. */
  nativeOps(): NativeOps {
    const native: string[] = [], fallback: string[] = [];
    for (const op of OPTIONAL_OPS) {
      const has = op in OP_INDEX ? this.has[OP_INDEX[op]] : typeof this.backend[op] === "function";
      (has ? native : fallback).push(op);
    }
    return { native, fallback };
  }

  /** True if the vGPU is attached. */
  isAttached(vgpuId: number): boolean {
    return vgpuId >= 0 && vgpuId < MAX_VGPUS && this.attached[vgpuId] === 1;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /** Registers the backend and hands it the core's callbacks; false if it failed. */
  hostInit(ops: GvtOps): boolean {
    const act = this.pre(O_HOST_INIT, 0);
    let ok = act !== ACT_ERROR;
    if (ok && this.has[O_HOST_INIT]) {
      try {
        this.injectThrow(O_HOST_INIT);
        this.backend.hostInit!(ops);
      } catch (e) {
        ok = this.fail(O_HOST_INIT, 0, e);
      }
    }
    this.post(O_HOST_INIT, 0);
    return ok;
  }

  /** Unregisters the backend. */
  hostExit(): void {
    const act = this.pre(O_HOST_EXIT, 0);
    if (act !== ACT_ERROR && this.has[O_HOST_EXIT]) {
      try {
        this.injectThrow(O_HOST_EXIT);
        this.backend.hostExit!();
      } catch (e) {
        this.fail(O_HOST_EXIT, 0, e);
      }
    }
    this.post(O_HOST_EXIT, 0);
  }

  /** The description a vGPU was attached with (null if not attached). */
  infoOf(id: number): VgpuInfo | null {
    return this.infos[id] ?? null;
  }

  /** Creates the backend's per-vGPU state; false if the backend failed (vGPU not attached). */
  attachVgpu(info: VgpuInfo): boolean {
    const id = info.id;
    if (!(id >= 0 && id < MAX_VGPUS) || this.attached[id] === 1) {
      this.gateError(O_ATTACH, id, `vGPU ${id} cannot be attached (bad id or already attached)`);
      return false;
    }
    this.vmNames[id] = info.vm;
    const act = this.pre(O_ATTACH, id);
    let ok = act !== ACT_ERROR;
    let handle: Handle = info;
    if (ok && this.has[O_ATTACH]) {
      try {
        this.injectThrow(O_ATTACH);
        handle = this.backend.attachVgpu!(info);
      } catch (e) {
        ok = this.fail(O_ATTACH, id, e);
      }
    }
    if (ok) {
      this.handles[id] = handle;
      this.attached[id] = 1;
      this.infos[id] = { ...info };
    }
    this.post(O_ATTACH, id);
    return ok;
  }

  /** Destroys the backend's per-vGPU state. */
  detachVgpu(id: number): void {
    if (!this.check(O_DETACH, id)) return;
    const act = this.pre(O_DETACH, id);
    if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_DETACH);
        this.backend.detachVgpu(this.handles[id]);
      } catch (e) {
        this.fail(O_DETACH, id, e);
      }
    }
    this.attached[id] = 0;
    this.handles[id] = undefined;
    this.infos[id] = null;
    this.pinFallback[id].clear();
    this.post(O_DETACH, id);
  }

  // ---- interrupts ---------------------------------------------------------------------------

  /** Injects the guest's MSI; true if delivered. A "wrong" fault reports true but drops it. */
  injectMsi(id: number, addr: number, data: number): boolean {
    if (!this.check(O_MSI, id)) return false;
    const act = this.pre(O_MSI, id);
    let r = false;
    if (act === ACT_WRONG) r = true;
    else if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_MSI);
        r = this.backend.injectMsi(this.handles[id], addr, data);
        if (typeof r !== "boolean") r = this.badType(O_MSI, id, r, "a boolean");
      } catch (e) {
        r = this.fail(O_MSI, id, e);
      }
    }
    this.post(O_MSI, id);
    return r;
  }

  // ---- page tracking ----------------------------------------------------------------------

  /** Write-protects a guest page; MPT_OK or a negative errno. */
  enablePageTrack(id: number, gfn: number): number {
    return this.errnoOp(O_PT_ON, id, gfn);
  }

  /** Removes write protection from a guest page; MPT_OK or a negative errno. */
  disablePageTrack(id: number, gfn: number): number {
    return this.errnoOp(O_PT_OFF, id, gfn);
  }

  // ---- guest memory -----------------------------------------------------------------------

  /** Copies guest-physical memory into `buf`; MPT_OK or a negative errno. */
  readGpa(id: number, gpa: number, buf: Uint8Array): number {
    if (!this.check(O_READ_GPA, id)) return MPT_EINVAL;
    const act = this.pre(O_READ_GPA, id);
    let r = MPT_EIO;
    if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_READ_GPA);
        r = this.backend.readGpa(this.handles[id], gpa, buf);
        if (typeof r !== "number") {
          this.badType(O_READ_GPA, id, r, "a number");
          r = MPT_EIO;
        }
      } catch (e) {
        this.fail(O_READ_GPA, id, e);
        r = MPT_EIO;
      }
      if (act === ACT_WRONG && r === MPT_OK) buf.fill(0xa5);
    }
    this.post(O_READ_GPA, id);
    return r;
  }

  /** Copies `buf` into guest-physical memory; MPT_OK or a negative errno. A "wrong" fault
   * reports success without writing. */
  writeGpa(id: number, gpa: number, buf: Uint8Array): number {
    if (!this.check(O_WRITE_GPA, id)) return MPT_EINVAL;
    const act = this.pre(O_WRITE_GPA, id);
    let r = MPT_EIO;
    if (act === ACT_WRONG) r = MPT_OK;
    else if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_WRITE_GPA);
        r = this.backend.writeGpa(this.handles[id], gpa, buf);
        if (typeof r !== "number") {
          this.badType(O_WRITE_GPA, id, r, "a number");
          r = MPT_EIO;
        }
      } catch (e) {
        this.fail(O_WRITE_GPA, id, e);
        r = MPT_EIO;
      }
    }
    this.post(O_WRITE_GPA, id);
    return r;
  }

  /** Guest frame to machine frame, or -1. A "wrong" fault returns the next frame. */
  gfnToMfn(id: number, gfn: number): number {
    if (!this.check(O_GFN_TO_MFN, id)) return -1;
    const act = this.pre(O_GFN_TO_MFN, id);
    let r = -1;
    if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_GFN_TO_MFN);
        r = this.backend.gfnToMfn(this.handles[id], gfn);
        if (typeof r !== "number") {
          this.badType(O_GFN_TO_MFN, id, r, "a number");
          r = -1;
        }
      } catch (e) {
        this.fail(O_GFN_TO_MFN, id, e);
        r = -1;
      }
      if (act === ACT_WRONG && r >= 0) r = r + 1;
    }
    this.post(O_GFN_TO_MFN, id);
    return r;
  }

  /** Host virtual address to machine frame, or -1 (native only; no fallback). */
  fromVirtToMfn(addr: number): number {
    const act = this.pre(O_VIRT_TO_MFN, 0);
    let r = -1;
    if (act !== ACT_ERROR && this.has[O_VIRT_TO_MFN]) {
      try {
        this.injectThrow(O_VIRT_TO_MFN);
        r = this.backend.fromVirtToMfn!(addr);
        if (typeof r !== "number") {
          this.badType(O_VIRT_TO_MFN, 0, r, "a number");
          r = -1;
        }
      } catch (e) {
        this.fail(O_VIRT_TO_MFN, 0, e);
        r = -1;
      }
      if (act === ACT_WRONG && r >= 0) r = r + 1;
    }
    this.post(O_VIRT_TO_MFN, 0);
    return r;
  }

  // ---- DMA --------------------------------------------------------------------------------

  /**
   * Pins a guest page and returns its DMA address, or a negative errno. A "wrong" fault
   * returns the address of a page the VM does not own.
   */
  dmaMapGuestPage(id: number, gfn: number, size: number): number {
    if (!this.check(O_DMA_MAP, id)) return MPT_EINVAL;
    const act = this.pre(O_DMA_MAP, id);
    let r = MPT_ENOMEM;
    if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_DMA_MAP);
        r = this.backend.dmaMapGuestPage(this.handles[id], gfn, size);
        if (typeof r !== "number") {
          this.badType(O_DMA_MAP, id, r, "a number");
          r = MPT_ENOMEM;
        }
      } catch (e) {
        this.fail(O_DMA_MAP, id, e);
        r = MPT_ENOMEM;
      }
      if (r >= 0 && !this.has[O_DMA_PIN]) {
        this.pinFallback[id].set(r, gfn * 2 + (size > 4096 ? 1 : 0));
      }
      if (act === ACT_WRONG && r >= 0) r = this.wrongDma;
    }
    this.post(O_DMA_MAP, id);
    return r;
  }

  /** Drops one reference of a DMA mapping. */
  dmaUnmapGuestPage(id: number, dma: number): void {
    if (!this.check(O_DMA_UNMAP, id)) return;
    const act = this.pre(O_DMA_UNMAP, id);
    if (act === ACT_NONE) {
      try {
        this.injectThrow(O_DMA_UNMAP);
        this.backend.dmaUnmapGuestPage(this.handles[id], dma);
      } catch (e) {
        this.fail(O_DMA_UNMAP, id, e);
      }
    }
    this.post(O_DMA_UNMAP, id);
  }

  /**
   * Takes one more reference on a DMA mapping; MPT_OK or a negative errno. Generic fallback
   * for backends without it: map the same guest page once more.
   */
  dmaPinGuestPage(id: number, dma: number): number {
    if (!this.check(O_DMA_PIN, id)) return MPT_EINVAL;
    const act = this.pre(O_DMA_PIN, id);
    let r = MPT_ENOMEM;
    if (act === ACT_WRONG) r = MPT_OK;
    else if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_DMA_PIN);
        if (this.has[O_DMA_PIN]) {
          r = this.backend.dmaPinGuestPage!(this.handles[id], dma);
          if (typeof r !== "number") {
            this.badType(O_DMA_PIN, id, r, "a number");
            r = MPT_ENOMEM;
          }
        } else {
          const key = this.pinFallback[id].get(dma);
          if (key === undefined) r = MPT_EINVAL;
          else {
            const again = this.backend.dmaMapGuestPage(
              this.handles[id],
              Math.floor(key / 2),
              key % 2 === 1 ? 2 * 1024 * 1024 : 4096,
            );
            r = again === dma ? MPT_OK : again < 0 ? again : MPT_EINVAL;
          }
        }
      } catch (e) {
        this.fail(O_DMA_PIN, id, e);
        r = MPT_ENOMEM;
      }
    }
    this.post(O_DMA_PIN, id);
    return r;
  }

  // ---- optional mapping ops -----------------------------------------------------------------

  /** Maps/unmaps `nr` machine frames at `gfn` (aperture slice); MPT_OK when the backend lacks the op. */
  mapGfnToMfn(id: number, gfn: number, mfn: number, nr: number, map: boolean): number {
    if (!this.check(O_MAP_GFN, id)) return MPT_EINVAL;
    const act = this.pre(O_MAP_GFN, id);
    let r = MPT_EIO;
    if (act === ACT_WRONG) r = MPT_OK;
    else if (act !== ACT_ERROR) {
      r = MPT_OK;
      if (this.has[O_MAP_GFN]) {
        try {
          this.injectThrow(O_MAP_GFN);
          r = this.backend.mapGfnToMfn!(this.handles[id], gfn, mfn, nr, map);
          if (typeof r !== "number") {
            this.badType(O_MAP_GFN, id, r, "a number");
            r = MPT_EIO;
          }
        } catch (e) {
          this.fail(O_MAP_GFN, id, e);
          r = MPT_EIO;
        }
      }
    }
    this.post(O_MAP_GFN, id);
    return r;
  }

  /** Asks the hypervisor to trap [start, end); MPT_OK when the backend lacks the op. */
  setTrapArea(id: number, start: number, end: number, map: boolean): number {
    if (!this.check(O_TRAP_AREA, id)) return MPT_EINVAL;
    const act = this.pre(O_TRAP_AREA, id);
    let r = MPT_EIO;
    if (act === ACT_WRONG) r = MPT_OK;
    else if (act !== ACT_ERROR) {
      r = MPT_OK;
      if (this.has[O_TRAP_AREA]) {
        try {
          this.injectThrow(O_TRAP_AREA);
          r = this.backend.setTrapArea!(this.handles[id], start, end, map);
          if (typeof r !== "number") {
            this.badType(O_TRAP_AREA, id, r, "a number");
            r = MPT_EIO;
          }
        } catch (e) {
          this.fail(O_TRAP_AREA, id, e);
          r = MPT_EIO;
        }
      }
    }
    this.post(O_TRAP_AREA, id);
    return r;
  }

  /** Is this guest frame backed? A "wrong" fault inverts the answer. */
  isValidGfn(id: number, gfn: number): boolean {
    if (!this.check(O_VALID_GFN, id)) return false;
    const act = this.pre(O_VALID_GFN, id);
    let r = false;
    if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_VALID_GFN);
        r = this.backend.isValidGfn(this.handles[id], gfn);
        if (typeof r !== "boolean") r = this.badType(O_VALID_GFN, id, r, "a boolean");
      } catch (e) {
        r = this.fail(O_VALID_GFN, id, e);
      }
      if (act === ACT_WRONG) r = !r;
    }
    this.post(O_VALID_GFN, id);
    return r;
  }

  /** Exposes the virtual OpRegion; MPT_OK when the backend lacks the op. */
  setOpregion(id: number): number {
    return this.optErrnoOp(O_OPREGION, id, 0);
  }

  /** Exposes a virtual EDID on `port`; MPT_OK when the backend lacks the op. */
  setEdid(id: number, port: number): number {
    return this.optErrnoOp(O_EDID, id, port);
  }

  /** dma-buf export reference; MPT_OK when the backend lacks the op. */
  getVfioDevice(id: number): number {
    return this.optErrnoOp(O_GET_VFIO, id, 0);
  }

  /** Drops a dma-buf export reference. */
  putVfioDevice(id: number): void {
    this.optErrnoOp(O_PUT_VFIO, id, 0);
  }

  /** Tells the backend the vGPU was scheduled out (a backend may flush a dirty log). */
  vgpuDescheduled(id: number): void {
    this.optErrnoOp(O_DESCHED, id, 0);
  }

  /** Serialises the backend's vGPU state (undefined if unsupported or failed). */
  save(id: number): unknown {
    if (!this.check(O_SAVE, id)) return undefined;
    const act = this.pre(O_SAVE, id);
    let r: unknown = undefined;
    if (act === ACT_NONE && this.has[O_SAVE]) {
      try {
        r = this.backend.save!(this.handles[id]);
      } catch (e) {
        this.fail(O_SAVE, id, e);
        r = undefined;
      }
    } else if (act === ACT_THROW) this.fail(O_SAVE, id, new InjectedThrow("save"));
    this.post(O_SAVE, id);
    return r;
  }

  /** Restores state returned by {@link save}; false if unsupported or failed. */
  restore(id: number, state: unknown): boolean {
    if (!this.check(O_RESTORE, id)) return false;
    const act = this.pre(O_RESTORE, id);
    let ok = false;
    if (act === ACT_NONE && this.has[O_RESTORE]) {
      try {
        this.backend.restore!(this.handles[id], state);
        ok = true;
      } catch (e) {
        ok = this.fail(O_RESTORE, id, e);
      }
    } else if (act === ACT_THROW) this.fail(O_RESTORE, id, new InjectedThrow("restore"));
    this.post(O_RESTORE, id);
    return ok;
  }

  // ---- guest side -----------------------------------------------------------------------------

  /** The guest CPU reads BAR0 at `gpa`. Failure gives all ones of `size` bytes. */
  guestMmioRead(id: number, gpa: number, size: number): number {
    if (!this.check(O_MMIO_READ, id)) return allOnes(size);
    const act = this.pre(O_MMIO_READ, id);
    let r = allOnes(size);
    if (act !== ACT_ERROR) {
      try {
        this.injectThrow(O_MMIO_READ);
        r = this.backend.guestMmioRead(this.handles[id], gpa, size);
        if (typeof r !== "number") {
          this.badType(O_MMIO_READ, id, r, "a number");
          r = allOnes(size);
        }
      } catch (e) {
        this.fail(O_MMIO_READ, id, e);
        this.emulationFailed(O_MMIO_READ, id);
        r = allOnes(size);
      }
      if (act === ACT_WRONG) r = r % 2 === 0 ? r + 1 : r - 1;
    } else this.emulationFailed(O_MMIO_READ, id);
    this.post(O_MMIO_READ, id);
    return r;
  }

  /** The guest CPU writes BAR0 at `gpa`. A failure or "wrong" fault drops the write. */
  guestMmioWrite(id: number, gpa: number, size: number, value: number): void {
    if (!this.check(O_MMIO_WRITE, id)) return;
    const act = this.pre(O_MMIO_WRITE, id);
    if (act === ACT_NONE || act === ACT_THROW) {
      try {
        this.injectThrow(O_MMIO_WRITE);
        this.backend.guestMmioWrite(this.handles[id], gpa, size, value);
      } catch (e) {
        this.fail(O_MMIO_WRITE, id, e);
        this.emulationFailed(O_MMIO_WRITE, id);
      }
    } else if (act === ACT_ERROR) this.emulationFailed(O_MMIO_WRITE, id);
    this.post(O_MMIO_WRITE, id);
  }

  /** The guest CPU writes its RAM (trapped by the backend if the page is tracked). */
  guestMemWrite(id: number, gpa: number, size: number, value: number): void {
    if (!this.check(O_MEM_WRITE, id)) return;
    const act = this.pre(O_MEM_WRITE, id);
    if (act === ACT_NONE || act === ACT_THROW) {
      try {
        this.injectThrow(O_MEM_WRITE);
        this.backend.guestMemWrite(this.handles[id], gpa, size, value);
      } catch (e) {
        this.fail(O_MEM_WRITE, id, e);
        this.emulationFailed(O_MEM_WRITE, id);
      }
    } else if (act === ACT_ERROR) this.emulationFailed(O_MEM_WRITE, id);
    this.post(O_MEM_WRITE, id);
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Page-track ops: errno result, fault handling, containment. */
  private errnoOp(op: number, id: number, gfn: number): number {
    if (!this.check(op, id)) return MPT_EINVAL;
    const act = this.pre(op, id);
    let r = MPT_EIO;
    if (act === ACT_WRONG) r = MPT_OK;
    else if (act !== ACT_ERROR) {
      try {
        this.injectThrow(op);
        const h = this.handles[id];
        r = op === O_PT_ON
          ? this.backend.enablePageTrack(h, gfn)
          : this.backend.disablePageTrack(h, gfn);
        if (typeof r !== "number") {
          this.badType(op, id, r, "a number");
          r = MPT_EIO;
        }
      } catch (e) {
        this.fail(op, id, e);
        r = MPT_EIO;
      }
    }
    this.post(op, id);
    return r;
  }

  /** Optional errno/void ops with an MPT_OK fallback when absent. */
  private optErrnoOp(op: number, id: number, arg: number): number {
    if (!this.check(op, id)) return MPT_EINVAL;
    const act = this.pre(op, id);
    let r = MPT_EIO;
    if (act === ACT_WRONG) r = MPT_OK;
    else if (act !== ACT_ERROR) {
      r = MPT_OK;
      if (this.has[op]) {
        try {
          this.injectThrow(op);
          const h = this.handles[id];
          const b = this.backend;
          let v: unknown = MPT_OK;
          if (op === O_OPREGION) v = b.setOpregion!(h);
          else if (op === O_EDID) v = b.setEdid!(h, arg);
          else if (op === O_GET_VFIO) v = b.getVfioDevice!(h);
          else if (op === O_PUT_VFIO) b.putVfioDevice!(h);
          else b.vgpuDescheduled!(h);
          if (typeof v === "number") r = v;
          else {
            this.badType(op, id, v, "a number");
            r = MPT_EIO;
          }
        } catch (e) {
          this.fail(op, id, e);
          r = MPT_EIO;
        }
      } else if (act === ACT_THROW) {
        this.fail(op, id, new InjectedThrow(MPT_OP_NAMES[op]));
        r = MPT_EIO;
      }
    }
    this.post(op, id);
    return r;
  }

  /** Counts the call and evaluates fault rules; returns the action to apply. */
  private pre(op: number, id: number): number {
    this.counts[op * MAX_VGPUS + id]++;
    this.curAct = ACT_NONE;
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
    if (act === ACT_THROW && !this.has[op]) {
      // the backend lacks this optional op, so nothing of it can throw: the injected throw
      // is recorded as the plugin error it stands for, and the op fails
      this.fail(op, id, new InjectedThrow(MPT_OP_NAMES[op]));
      act = ACT_ERROR;
    }
    this.curAct = act;
    return act;
  }

  /** Throws inside the backend call when a "throw" fault is active. */
  private injectThrow(op: number): void {
    if (this.curAct === ACT_THROW) throw new InjectedThrow(MPT_OP_NAMES[op]);
  }

  /** Charges the op's declared cost and the backend's own charges. */
  private post(op: number, id: number): void {
    let c = this.costOf[op];
    if (this.charged !== undefined) c += this.charged.takeCharged();
    if (c > 0) this.addCost(id, c);
    this.curAct = ACT_NONE;
  }

  /** Adds time to the pending cost and the per-vGPU total. */
  private addCost(id: number, ns: number): void {
    this.pending += ns;
    this.totalCost += ns;
    this.costByVgpu[id] += ns;
  }

  /** True if the vGPU is attached; records a gate error otherwise. */
  private check(op: number, id: number): boolean {
    if (id >= 0 && id < MAX_VGPUS && this.attached[id] === 1) return true;
    this.gateError(op, id >= 0 && id < MAX_VGPUS ? id : 0, `vGPU ${id} is not attached`);
    return false;
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

  /** Records a misuse of the gate (not the plugin's fault). */
  private gateError(op: number, id: number, message: string): void {
    this.record("gate", op, id, message);
  }

  /** Records a backend exception; returns false (the failure value of boolean ops). */
  private fail(op: number, id: number, e: unknown): false {
    const msg = e instanceof Error
      ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}`
      : String(e);
    this.record(this.plugin, op, id, msg);
    return false;
  }

  /** Records a return value of the wrong type; returns false. */
  private badType(op: number, id: number, v: unknown, want: string): false {
    this.record(
      this.plugin,
      op,
      id,
      `returned ${v === null ? "null" : typeof v}, expected ${want}`,
    );
    return false;
  }

  /** Records an error (bounded list, total count). */
  private record(plugin: string, op: number, id: number, message: string): void {
    this.errorCount++;
    if (this.errors.length < MAX_RECORDS) {
      this.errors.push({ plugin, op: MPT_OP_NAMES[op], vgpuId: id, message, at: this.sim.now });
    }
  }
}

function validCost(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function allOnes(size: number): number {
  return size >= 8 ? Number.MAX_SAFE_INTEGER : size >= 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}
