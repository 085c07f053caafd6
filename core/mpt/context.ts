/**
 * The {@link BackendContext} a backend factory receives: only what a backend may touch —
 * the guest memory of its VMs, its own timers on the simulation clock, a logger, counters
 * and the scenario's parameters. Time a backend charges with `charge()` is collected here
 * and drained by the {@link MptGate} after each op (see {@link ChargeSource}).
 */

import type { EventSink, Sim } from "../sim/sim.ts";
import type { ChargeSource } from "./gate.ts";
import type { BackendContext, GuestMemoryView, IommuDomainView } from "./types.ts";
import { Iommu } from "../hw/iommu.ts";

/** A guest memory view with no frames: what a backend sees for an unknown vGPU. */
export const EMPTY_GUEST_MEMORY: GuestMemoryView = {
  frames: 0,
  mfnOf: () => -1,
  read: () => false,
  write: () => false,
};

/** A backend's view of one domain of the platform's {@link Iommu}. */
export class IommuDomain implements IommuDomainView {
  /**
   * Creates the view.
   * @param iommu the IOMMU
   * @param domain the domain (the vGPU id)
   */
  constructor(private readonly iommu: Iommu, readonly domain: number) {}

  /** {@inheritDoc IommuDomainView.attached} */
  get attached(): boolean {
    return this.iommu.translating[this.domain] === 1;
  }

  /** {@inheritDoc IommuDomainView.mappedPages} */
  get mappedPages(): number {
    return this.iommu.mapped[this.domain] ?? 0;
  }

  /** {@inheritDoc IommuDomainView.attach} */
  attach(): void {
    this.iommu.attach(this.domain);
  }

  /** {@inheritDoc IommuDomainView.map} */
  map(iova: number, mfn: number): boolean {
    return this.iommu.map(this.domain, iova, mfn) === "ok";
  }

  /** {@inheritDoc IommuDomainView.unmap} */
  unmap(iova: number): void {
    this.iommu.unmap(this.domain, iova);
  }

  /** {@inheritDoc IommuDomainView.lookup} */
  lookup(iova: number): number {
    return this.iommu.lookup(this.domain, iova);
  }
}

/** Most log lines / timer errors kept (all are counted). */
export const MAX_LOG_LINES = 10_000;

/** The guest side of interrupt delivery: the guest CPU model of one VM. */
export interface MsiReceiver {
  /** An MSI (address, data) arrived at the VM's virtual CPU. */
  onMsi(addr: number, data: number): void;
}

const EV_TIMER = 0;
const EV_MSI = 1;

/** A problem raised by a backend's own timer callback. */
export interface BackendTimerError {
  /** Simulated time (ns). */
  at: number;
  /** The exception's message. */
  message: string;
}

/** The simulation-backed {@link BackendContext} of one backend. */
export class SimBackendContext implements BackendContext, ChargeSource, EventSink {
  /** Backend label used in log lines (set by the loader once the backend is known). */
  label = "backend";
  /** Backend-specific counters (`count()`), in first-use order. */
  readonly counters: Map<string, number> = new Map();
  /** Log lines (first {@link MAX_LOG_LINES}); `logCount` counts all. */
  readonly logLines: string[] = [];
  /** Total `log()` calls. */
  logCount = 0;
  /** Exceptions thrown by the backend's timer callbacks (never rethrown). */
  readonly timerErrors: BackendTimerError[] = [];
  /** Time charged inside timer callbacks (background work on nobody's critical path). */
  backgroundCost = 0;

  /** The scenario's parameters as given (before the read tracking). */
  private readonly given: Readonly<Record<string, number | string | boolean>>;
  private readonly readKeys = new Set<string>();
  private charged = 0;
  private readonly timers: ((() => void) | null)[] = [];
  private readonly freeTimers: number[] = [];
  private readonly memories: (GuestMemoryView | undefined)[] = [];
  private iommu: Iommu | null = null;
  private readonly domains: IommuDomain[] = [];
  private readonly receivers: (MsiReceiver | undefined)[] = [];
  private readonly msiAddr: number[] = [];
  private readonly msiData: number[] = [];
  /** MSIs delivered to a registered receiver. */
  msisDelivered = 0;
  /** MSIs delivered to a vGPU with no receiver (lost). */
  msisLost = 0;

  /**
   * Creates it.
   * @param sim the simulation
   * @param params the scenario's parameters for this hypervisor
   */
  constructor(
    private readonly sim: Sim,
    params: Readonly<Record<string, number | string | boolean>> = {},
  ) {
    this.given = params;
    const read = this.readKeys;
    this.params = new Proxy(params, {
      get(t, k) {
        if (typeof k === "string") read.add(k);
        return Reflect.get(t, k);
      },
      ownKeys(t) {
        for (const k of Object.keys(t)) read.add(k); // a backend that iterates reads them all
        return Reflect.ownKeys(t);
      },
    });
  }

  /** Parameters the scenario set for this hypervisor (reads are tracked). */
  readonly params: Readonly<Record<string, number | string | boolean>>;

  /**
   * Parameters the backend never read: a typo, or a parameter of another backend (a scenario
   * written for one backend and compared under another).
   */
  unreadParams(): string[] {
    return Object.keys(this.given).filter((k) => !this.readKeys.has(k));
  }

  /** Registers (or, with undefined, removes) the guest memory of a vGPU's VM. */
  setGuestMemory(vgpuId: number, view: GuestMemoryView | undefined): void {
    this.memories[vgpuId] = view;
  }

  /** The platform's IOMMU the backend programs (the GPU's; a standalone one until set). */
  setIommu(iommu: Iommu): void {
    this.iommu = iommu;
    this.domains.length = 0;
  }

  /** The IOMMU domain of a vGPU (the domain id is the vGPU id). */
  iommuDomain(vgpuId: number): IommuDomainView {
    let d = this.domains[vgpuId];
    if (d === undefined) {
      this.iommu ??= new Iommu(2 ** 27, 0);
      d = new IommuDomain(this.iommu, vgpuId);
      this.domains[vgpuId] = d;
    }
    return d;
  }

  /** Registers (or removes) the guest CPU model that receives a vGPU's MSIs. */
  setMsiReceiver(vgpuId: number, receiver: MsiReceiver | undefined): void {
    this.receivers[vgpuId] = receiver;
  }

  /**
   * Delivers an MSI to a vGPU's VM after `delayNs`. The latest (addr, data) of a vGPU wins
   * when several are in flight (MSIs are edge events; the guest reads the cause from IIR).
   */
  deliverMsi(vgpuId: number, addr: number, data: number, delayNs: number): void {
    this.msiAddr[vgpuId] = addr;
    this.msiData[vgpuId] = data;
    this.sim.schedule(delayNs, this, EV_MSI, vgpuId);
  }

  /** Current simulated time (ns). */
  now(): number {
    return this.sim.now;
  }

  /** Adds `ns` to the op being executed (ignored unless a finite positive number). */
  charge(ns: number): void {
    if (ns > 0 && Number.isFinite(ns)) this.charged += ns;
  }

  /** Returns the time charged since the last call and resets it. */
  takeCharged(): number {
    const c = this.charged;
    this.charged = 0;
    return c;
  }

  /** Runs `fn` after `ns` of simulated time; exceptions are recorded in {@link timerErrors}. */
  after(ns: number, fn: () => void): void {
    const slot = this.freeTimers.length > 0 ? this.freeTimers.pop()! : this.timers.length;
    this.timers[slot] = fn;
    this.sim.schedule(ns, this, EV_TIMER, slot);
  }

  /**
   * Timers set with {@link after} that have not fired yet. Their callbacks are closures, which
   * a snapshot cannot hold: a snapshot taken while one is pending is refused.
   */
  pendingTimers(): number {
    let n = 0;
    for (const t of this.timers) if (t !== null && t !== undefined) n++;
    return n;
  }

  /** @internal fires a backend timer or delivers an MSI */
  describeEvent(kind: number, slot: number): string {
    return kind === EV_MSI ? `MSI delivery to vGPU ${slot}` : `backend timer ${slot}`;
  }

  /** @internal fires a backend timer or delivers an MSI */
  onEvent(kind: number, slot: number): void {
    if (kind === EV_MSI) {
      const r = this.receivers[slot];
      if (r === undefined) this.msisLost++;
      else {
        this.msisDelivered++;
        r.onMsi(this.msiAddr[slot], this.msiData[slot]);
      }
      return;
    }
    const fn = this.timers[slot];
    this.timers[slot] = null;
    this.freeTimers.push(slot);
    if (fn === null || fn === undefined) return;
    const before = this.charged;
    try {
      fn();
    } catch (e) {
      if (this.timerErrors.length < MAX_LOG_LINES) {
        this.timerErrors.push({
          at: this.sim.now,
          message: e instanceof Error ? e.message : String(e),
        });
      }
    }
    this.backgroundCost += this.charged - before;
    this.charged = before;
  }

  /** Logs a line tagged with time and the backend's label. */
  log(message: string): void {
    this.logCount++;
    if (this.logLines.length < MAX_LOG_LINES) {
      this.logLines.push(`${this.sim.now} [${this.label}] ${message}`);
    }
  }

  /** Counts a backend-specific event. */
  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  /** A backend counter's value (0 if never counted). */
  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** The guest RAM of a vGPU's VM ({@link EMPTY_GUEST_MEMORY} if none is registered). */
  guestMemory(vgpuId: number): GuestMemoryView {
    return this.memories[vgpuId] ?? EMPTY_GUEST_MEMORY;
  }
}

/** Builds a backend context on `sim` with the scenario's parameters. */
export function createBackendContext(
  sim: Sim,
  params: Readonly<Record<string, number | string | boolean>> = {},
): SimBackendContext {
  return new SimBackendContext(sim, params);
}
