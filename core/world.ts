/**
 * World assembly: turns a checked {@link Scenario} into a running system — the simulation,
 * the physical GPU, the hypervisor backend (a plugin behind the MPT gate), the mediator,
 * and per VM its guest memory, vGPU, guest driver and workload — and drives the timeline.
 * The mediator never learns which backend it runs under; the world only wires them.
 */

import { Gpu, gpuConfigFromHost } from "./hw/gpu.ts";
import { type EventSink, Sim } from "./sim/sim.ts";
import type {
  HostDecl,
  HostSpec,
  Scenario,
  TimelineEvent,
  VmSpec,
  WorkloadSpec,
} from "./scenario.ts";
import { openBackend } from "./mpt/open.ts";
import { isLoadError, type PluginSource } from "./mpt/loader.ts";
import type { MptGate } from "./mpt/gate.ts";
import type { SimBackendContext } from "./mpt/context.ts";
import { Gvt, isCreateError, type VmHost } from "./gvt/vgpu.ts";
import { MPT_EBUSY, MPT_EINVAL, MPT_ENOSPC, MPT_OK } from "./mpt/types.ts";
import type { Vgpu } from "./gvt/vgpu_state.ts";
import type { GscaleOptions } from "./gvt/gscale.ts";
import type { VgpuCounters } from "./gvt/counters.ts";
import { GuestMemory } from "./guest/memory.ts";
import { GuestDriver } from "./guest/driver.ts";
import { WorkloadRunner } from "./workload/runner.ts";
import { findType, GSCALE_MAX_VGPU } from "./vgpu_types.ts";
import { DRIVER_THREAD, GPU_PID, TraceLog } from "./metrics/trace.ts";
import { TraceLogTracer } from "./gvt/tracer.ts";
import { Samples, spanOverlap } from "./metrics/samples.ts";
import { busyAt } from "./metrics/windows.ts";
import { Migration } from "./migration.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Where the guest sees its config-space window (matches the mediator's default). */
const CFG_GPA = 0xd000_0000;

/** A VM's life-cycle state as the world tracks it (failsafe/crashed come from below). */
export type VmState = "off" | "running" | "paused" | "stopped" | "rejected";

/**
 * One host of the world: its GPU, its hypervisor backend behind its gate, its mediator. It is
 * its mediator's {@link VmHost}: the toolstack's create/destroy reach the world through it.
 */
export class HostRuntime implements VmHost {
  /**
   * When the host's vGPU management path (attach and detach through the backend, serialised
   * as mdev create/remove are) is free again (ns).
   */
  mgmtFreeAt = 0;
  /** @internal The mediator's tracer over the world's trace, when recording. */
  tracer: TraceLogTracer | null = null;

  /** Creates it (the world does, one per declared host). */
  constructor(
    /** Host name ("" for the single unnamed host). */
    readonly name: string,
    /** Declaration order (0-based). */
    readonly index: number,
    /** Its settings. */
    readonly spec: HostSpec,
    /** @internal the physical GPU */
    readonly gpu: Gpu,
    /** The backend behind its gate. */
    readonly gate: MptGate,
    /** The backend's context. */
    readonly ctx: SimBackendContext,
    /** @internal the mediator */
    readonly gvt: Gvt,
    /** The backend's label (file and name). */
    readonly backendLabel: string,
    /** Which backend code runs. */
    readonly pluginSource: PluginSource,
  ) {}

  /** @internal The world it belongs to (set when the world is built). */
  world!: World;

  /** {@inheritDoc VmHost.createVgpuFor} */
  createVgpuFor(name: string, type: string): number {
    return this.world.createVgpuFor(name, type);
  }

  /** {@inheritDoc VmHost.destroyVgpuOf} */
  destroyVgpuOf(id: number): number {
    return this.world.destroyVgpuOf(id, this);
  }

  /** The live vGPU with this id on this host, as a VM of `vms`. */
  vmOfVgpu(vms: readonly VmRuntime[], id: number): VmRuntime | undefined {
    for (const vm of vms) {
      if (vm.host === this && vm.vgpu !== null && vm.vgpu.id === id && !vm.vgpu.destroyed) {
        return vm;
      }
    }
    return undefined;
  }
}

/** One VM of the world. */
export class VmRuntime {
  /** Life-cycle state. */
  state: VmState = "off";
  /** Why it was rejected (no vGPU could be created). */
  reason = "";
  /** @internal Its vGPU while it exists. */
  vgpu: Vgpu | null = null;
  /** @internal Its RAM. */
  mem: GuestMemory | null = null;
  /** @internal Its guest driver. */
  driver: GuestDriver | null = null;
  /** @internal Its workload interpreter. */
  runner: WorkloadRunner | null = null;
  /** @internal The workload's vCPU (its runner, an event-driven state machine). */
  proc: WorkloadRunner | null = null;
  /** When it was last started or resumed (ns). */
  since = 0;
  /** Time spent running (ns), for fps and throughput. */
  activeNs = 0;
  /** @internal Each finished stretch of running as a (start, end) pair (ns), for windows. */
  readonly runSpans: Samples = new Samples();
  /** Render-engine busy time at the last sample (ns, all its vGPUs), for the share series. */
  lastBusy = 0;
  /** @internal Counters of the vGPUs this VM had before a stop and a new start (results add them up). */
  readonly earlierCounters: VgpuCounters[] = [];
  /** The host it runs on now (a live migration moves it). */
  host!: HostRuntime;
  /** @internal A live migration of this VM is under way. */
  migrating = false;
  /** @internal Its vCPUs are stopped for a migration's stop-and-copy (a resume waits). */
  frozen = false;

  /**
   * @param spec the VM's declaration
   * @param index declaration order (0-based); the VM's owner tag is index + 1
   */
  /** Creates the runtime of one declared VM (not started). */
  constructor(readonly spec: VmSpec, readonly index: number) {}

  /** Owner tag of this VM's host frames. */
  get owner(): number {
    return this.index + 1;
  }

  /** Time spent running up to `now`. */
  activeUntil(now: number): number {
    return this.activeNs + (this.state === "running" ? now - this.since : 0);
  }

  /** Time spent running within [from, to), `now` being the present. */
  activeIn(from: number, to: number, now: number): number {
    const cur = this.state === "running" ? Math.min(to, now) - Math.max(from, this.since) : 0;
    return spanOverlap(this.runSpans, from, to) + Math.max(0, cur);
  }

  /** @internal It stops running at `now` (stop, pause, crash): its time is accounted. */
  leaveRunning(now: number): void {
    this.activeNs = this.activeUntil(now);
    if (this.state === "running") this.runSpans.push2(this.since, now);
  }
}

/** A world that could not be built: a clear message, no stack. */
export class WorldError {
  /** @param message what went wrong, with the numbers */
  /** Creates the error. */
  constructor(readonly message: string) {}
}

/** Options for {@link World.create}. */
export interface WorldOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's hypervisor (built-in name or plugin path). */
  hypervisor?: string;
  /** Load the plugin only if its file's SHA-256 is this (restoring a checkpoint). */
  pluginSha256?: string;
  /** Record a trace. */
  trace?: boolean;
  /** Sampling period of the time series (ns; default the scenario's `report { period }`, 100 ms). */
  samplePeriod?: number;
  /** gScale mode options when the host has `gscale on` (benchmarks compare copy strategies). */
  gscale?: GscaleOptions;
  /**
   * Build only what a heap snapshot does not carry, for one to be laid over it
   * (core/snapshot.ts `restoreInto`): the hosts — GPU, backend, mediator, whose tables and
   * function-valued parts a checkpoint takes from the rebuilt world. No VM is started (no
   * guest memory, vGPU, driver or workload, no backend attachment) and no event scheduled:
   * the snapshot brings them all. Such a world is not runnable until a snapshot is laid.
   */
  restoreOnly?: boolean;
}

const EV_TIMELINE = 1, EV_SAMPLE = 2, EV_START = 3;

/**
 * Samples the time series keep at most: when full, each two neighbouring samples merge into
 * one (their mean share, the later queue depth and time) and the series' period doubles, so
 * a long run's series stays this size.
 */
export const SERIES_MAX = 8192;

/** One assembled, runnable system. */
export class World implements EventSink, VmHost {
  /** VMs in declaration order. */
  readonly vms: VmRuntime[];
  /** Time series, one sample every {@link seriesPeriod} (at most {@link SERIES_MAX}). */
  readonly series: { t: number[]; share: number[][]; queue: number[][] };
  /** Samples merged into one series sample (doubles each time the series fills). */
  seriesStride = 1;
  /** Render shares summed over the samples of the series sample being built, per VM. */
  private readonly shareSum: number[];
  /** Samples in the series sample being built. */
  private strideFill = 0;
  /** The trace, when recording. */
  readonly trace: TraceLog | null;
  /** @internal The mediator's and guest drivers' tracer over {@link trace}, when recording. */
  readonly tracer: TraceLogTracer | null;
  /** Sampling period (ns). */
  readonly samplePeriod: number;
  /** Timeline entries already applied. */
  applied = 0;
  /** The hosts in declaration order (one, unnamed, unless the scenario names several). */
  readonly hosts: HostRuntime[];
  /** Live migrations started so far, in order. */
  readonly migrations: Migration[] = [];
  /** (time, host, vGPU id, VM) of every vGPU creation: ids are reused after a VM stops. */
  private readonly idHistory: { t: number; host: number; id: number; vm: string }[] = [];
  /** Built with {@link WorldOptions.restoreOnly} (a private field: no part of its data). */
  #restoreOnly = false;

  /** @internal The first host's physical GPU. */
  readonly gpu: Gpu;
  /** The first host's backend behind its gate. */
  readonly gate: MptGate;
  /** The first host's backend context. */
  readonly ctx: SimBackendContext;
  /** @internal The first host's mediator. */
  readonly gvt: Gvt;
  /** The first host's backend label. */
  readonly backendLabel: string;
  /** Which backend code runs (built-in name or plugin content hash): what a checkpoint records. */
  readonly pluginSource: PluginSource;

  private constructor(
    readonly scenario: Scenario,
    readonly sim: Sim,
    opts: WorldOptions,
    hosts: HostRuntime[],
  ) {
    const h0 = hosts[0];
    this.gpu = h0.gpu;
    this.gate = h0.gate;
    this.ctx = h0.ctx;
    this.gvt = h0.gvt;
    this.backendLabel = h0.backendLabel;
    this.pluginSource = h0.pluginSource;
    this.hosts = hosts;
    for (const h of hosts) {
      h.world = this;
      h.gvt.vmHost = h; // the toolstack's create/destroy (GvtOps.vgpuCreate/Destroy) land here
    }
    this.vms = scenario.vms.map((s, i) => new VmRuntime(s, i));
    for (const vm of this.vms) vm.host = this.hostNamed(vm.spec.host) ?? hosts[0];
    this.series = { t: [], share: this.vms.map(() => []), queue: this.vms.map(() => []) };
    this.shareSum = this.vms.map(() => 0);
    this.trace = opts.trace ? new TraceLog() : null;
    this.samplePeriod = opts.samplePeriod ?? scenario.report.periodNs ?? 100 * 1e6;
    this.tracer = null;
    if (this.trace) {
      for (const vm of this.vms) {
        this.trace.processNames.set(vm.owner, vm.spec.name);
      }
      for (const h of hosts) {
        const log = this.trace;
        h.tracer = new TraceLogTracer({
          log,
          sim,
          gate: h.gate,
          pidOf: (id) => h.vmOfVgpu(this.vms, id)?.owner ?? GPU_PID,
          nameOf: (id) => h.vmOfVgpu(this.vms, id)?.spec.name ?? `vgpu${id}`,
        });
        h.gvt.tracer = h.tracer;
      }
      this.tracer = hosts[0].tracer;
    }
  }

  /** Built with {@link WorldOptions.restoreOnly}: for a heap snapshot to be laid over it. */
  get restoreOnly(): boolean {
    return this.#restoreOnly;
  }

  /**
   * @internal The buffers of a world built with {@link WorldOptions.restoreOnly} that hold
   * only zeros until it runs (its GPUs' GGTT tables, see `Gpu.zeroTables`): laying a heap
   * snapshot over it need not look for data to clear there. Empty for any other world.
   */
  zeroBuffers(): ArrayBuffer[] {
    if (!this.#restoreOnly || this.sim.dispatched !== 0) return [];
    return this.hosts.flatMap((h) => h.gpu.zeroTables());
  }

  /** A host by name (undefined: no such host, or no name given). */
  hostNamed(name: string | undefined): HostRuntime | undefined {
    return name === undefined ? undefined : this.hosts.find((h) => h.name === name);
  }

  /** When the first host's vGPU management path is free again (ns). */
  get mgmtFreeAt(): number {
    return this.hosts[0].mgmtFreeAt;
  }

  /** Builds the world; a {@link WorldError} for a backend that cannot load or a VM that cannot fit at t=0. */
  static async create(scenario: Scenario, opts: WorldOptions = {}): Promise<World | WorldError> {
    const sim = new Sim(opts.seed ?? scenario.seed);
    const guestRam = scenario.vms.reduce((a, v) => a + v.memory, 0);
    const decls: HostDecl[] = scenario.hosts ?? [{
      name: "",
      host: scenario.host,
      hypervisor: scenario.hypervisor,
      scheduler: scenario.scheduler,
      loc: scenario.hypervisor.loc,
    }];
    const hosts: HostRuntime[] = [];
    for (const d of decls) {
      const gpu = new Gpu(sim, {
        ...gpuConfigFromHost(d.host),
        hostMemoryBytes: 2 * GiB + guestRam,
        // gScale mode: an IOMMU domain per vGPU id past upstream's 7
        ...(d.host.gscale ? { iommuDomains: GSCALE_MAX_VGPU + 1 } : {}),
      });
      const hv = opts.hypervisor ? { ...d.hypervisor, name: opts.hypervisor } : d.hypervisor;
      // A plugin path is relative to the scenario that names it, or to the working directory
      // when it comes from the command line.
      const from = opts.hypervisor
        ? `${Deno.cwd()}/`
        : hv.loc?.file
        ? absolute(hv.loc.file)
        : `${Deno.cwd()}/`;
      const base = new URL(`file://${from}`);
      const opened = await openBackend(
        sim,
        hv,
        base,
        { sha256: opts.pluginSha256 },
        d.host.gscale ? { maxVgpus: GSCALE_MAX_VGPU + 1 } : {},
      );
      if (isLoadError(opened)) return new WorldError(opened.message);
      opened.ctx.setIommu(gpu.iommu); // the backend programs the platform's IOMMU
      const gvt = new Gvt(sim, gpu, opened.gate, {
        host: d.host,
        types: scenario.types,
        scheduler: d.scheduler,
        gscale: opts.gscale,
      });
      if (!gvt.backendReady) {
        return new WorldError(
          `hypervisor backend ${opened.label} refused hostInit${
            d.name ? ` on host ${d.name}` : ""
          }`,
        );
      }
      hosts.push(
        new HostRuntime(
          d.name,
          hosts.length,
          d.host,
          gpu,
          opened.gate,
          opened.ctx,
          gvt,
          opened.label,
          opened.source,
        ),
      );
    }
    const w = new World(scenario, sim, opts, hosts);
    if (opts.restoreOnly) {
      w.#restoreOnly = true;
      return w;
    }
    for (const vm of w.vms) {
      if (!vm.spec.autostart) continue;
      if (vm.spec.start === 0) {
        const err = w.startVm(vm);
        if (err) return new WorldError(err);
      } else sim.scheduleAt(vm.spec.start, w, EV_START, vm.index);
    }
    scenario.timeline.forEach((ev, i) => sim.scheduleAt(ev.at, w, EV_TIMELINE, i));
    sim.schedule(w.samplePeriod, w, EV_SAMPLE);
    return w;
  }

  /** Runs until `until` (ns; default the scenario's duration). */
  run(until = this.scenario.duration): void {
    this.sim.runUntil(until);
    for (const h of this.hosts) if (h.tracer !== null) h.tracer.poll();
  }

  /** A VM by name. */
  vm(name: string): VmRuntime | undefined {
    return this.vms.find((v) => v.spec.name === name);
  }

  /** The workload a VM runs. */
  workloadOf(vm: VmRuntime): WorkloadSpec {
    return this.scenario.workloads[vm.spec.workload];
  }

  /** @internal timeline, delayed starts and sampling */
  describeEvent(kind: number, arg: number): string {
    if (kind === EV_TIMELINE) {
      return `timeline event ${arg + 1} (${this.scenario.timeline[arg]?.action.kind ?? "?"})`;
    }
    if (kind === EV_START) return `start of VM ${this.vms[arg]?.spec.name ?? arg}`;
    return kind === EV_SAMPLE ? "metrics sample" : `world event ${kind}`;
  }

  /** @internal timeline, delayed starts and sampling */
  onEvent(kind: number, arg: number): void {
    if (kind === EV_TIMELINE) {
      this.applied++;
      this.apply(this.scenario.timeline[arg]);
    } else if (kind === EV_START) {
      const vm = this.vms[arg];
      if (vm.state === "off") this.startVm(vm);
    } else if (kind === EV_SAMPLE) {
      this.sample();
      this.sim.schedule(this.samplePeriod, this, EV_SAMPLE);
    }
  }

  /**
   * Starts a VM: its RAM, its vGPU (a message with the numbers if it does not fit), its
   * guest driver and its workload. Returns an error message, or undefined. `typeName`: the
   * vGPU type when the hypervisor's toolstack names one (default the VM's).
   */
  startVm(vm: VmRuntime, typeName: string = vm.spec.type): string | undefined {
    if (vm.state === "running" || vm.state === "paused") return undefined;
    const type = findType(this.scenario.types, typeName);
    const h = vm.host;
    const id = h.gvt.nextVgpuId();
    const mem = new GuestMemory(h.gpu.memory, vm.owner, vm.spec.memory);
    if (id > 0) h.ctx.setGuestMemory(id, mem);
    const v = id > 0
      ? h.gvt.createVgpu({
        vm: vm.spec.name,
        type: typeName,
        weight: vm.spec.weight,
        memory: vm.spec.memory,
        vcpus: vm.spec.vcpus,
        owner: vm.owner,
        cfg: CFG_GPA,
      })
      : {
        error: "no_resources" as const,
        message: `cannot create a vGPU for VM ${vm.spec.name}: all 7 vGPU ids are in use`,
      };
    if (isCreateError(v)) {
      mem.release();
      vm.state = "rejected";
      vm.reason = v.message;
      return v.message;
    }
    const driver = new GuestDriver({
      sim: this.sim,
      port: h.gate,
      info: {
        id: v.id,
        vm: v.vm,
        memory: v.memory,
        vcpus: v.vcpus,
        bar0: v.bar0,
        bar2: v.bar2,
        cfg: CFG_GPA,
      },
      mem,
      rng: this.sim.streams.stream(`guest:${vm.spec.name}`),
      width: type?.width,
      height: type?.height,
      metrics: vm.driver?.metrics, // a restarted VM keeps counting
    });
    h.ctx.setMsiReceiver(v.id, driver);
    driver.tracer = h.tracer;
    const runner = new WorkloadRunner(
      this.sim,
      this.workloadOf(vm),
      driver,
      this.sim.streams.stream(`vm:${vm.spec.name}`),
    );
    this.noteVgpu(h, v.id, vm);
    if (vm.vgpu) vm.earlierCounters.push(vm.vgpu.counters);
    Object.assign(vm, {
      vgpu: v,
      mem,
      driver,
      runner,
      state: "running",
      since: this.sim.now,
    });
    // Attaching takes simulated time: the guest's first instruction waits for the backend's
    // attach (and the OpRegion/EDID set-up), after any attach or detach still in progress.
    const begin = Math.max(this.sim.now, h.mgmtFreeAt) + h.gate.takeCost();
    h.mgmtFreeAt = begin;
    vm.proc = runner.spawn(begin - this.sim.now);
    this.mark(vm, "start");
    return undefined;
  }

  /** Stops a VM: its vCPUs stop for good and its vGPU is destroyed. */
  stopVm(vm: VmRuntime): void {
    if (vm.state !== "running" && vm.state !== "paused") return;
    vm.leaveRunning(this.sim.now);
    vm.proc?.suspend();
    const h = vm.host;
    if (vm.vgpu) h.gvt.destroyVgpu(vm.vgpu.id);
    // detaching occupies the management path: a VM started right after waits for it
    h.mgmtFreeAt = Math.max(this.sim.now, h.mgmtFreeAt) + h.gate.takeCost();
    vm.state = "stopped";
    this.mark(vm, "stop");
  }

  /** {@inheritDoc VmHost.createVgpuFor} */
  createVgpuFor(name: string, type: string): number {
    const vm = this.vm(name);
    if (vm === undefined || findType(this.scenario.types, type) === undefined) return MPT_EINVAL;
    if (vm.state === "running" || vm.state === "paused") return MPT_EBUSY;
    return this.startVm(vm, type) === undefined ? vm.vgpu!.id : MPT_ENOSPC;
  }

  /** {@inheritDoc VmHost.destroyVgpuOf} (a vGPU of `host`, by default the first) */
  destroyVgpuOf(id: number, host: HostRuntime = this.hosts[0]): number {
    const vm = host.vmOfVgpu(this.vms, id);
    if (vm === undefined) {
      host.gvt.destroyVgpu(id);
      return MPT_OK;
    }
    this.stopVm(vm);
    return MPT_OK;
  }

  /** Pauses a VM's vCPUs (work already queued on the GPU still runs). */
  pauseVm(vm: VmRuntime): void {
    if (vm.state !== "running") return;
    vm.leaveRunning(this.sim.now);
    vm.proc?.suspend();
    vm.state = "paused";
    this.mark(vm, "pause");
  }

  /** Resumes a paused VM. */
  resumeVm(vm: VmRuntime): void {
    if (vm.state !== "paused") return;
    vm.since = this.sim.now;
    vm.state = "running";
    if (!vm.frozen) vm.proc?.resume();
    this.mark(vm, "resume");
  }

  /**
   * A function-level reset of the VM's vGPU, as the guest asks for it: the guest sets the FLR
   * bit in config space, the backend's device model resets the vGPU through
   * `GvtOps.vgpuReset` (a device-model-level reset), and the guest driver re-initialises.
   */
  resetVm(vm: VmRuntime): void {
    if (!vm.vgpu || !vm.driver) return;
    vm.driver.flr();
    this.mark(vm, "reset");
  }

  /** Applies one timeline entry. */
  apply(ev: TimelineEvent): void {
    const a = ev.action;
    switch (a.kind) {
      case "start": {
        const vm = this.vm(a.vm);
        if (vm) this.startVm(vm);
        break;
      }
      case "stop":
      case "pause":
      case "resume":
      case "reset": {
        const vm = this.vm(a.vm);
        if (!vm) break;
        if (a.kind === "stop") this.stopVm(vm);
        else if (a.kind === "pause") this.pauseVm(vm);
        else if (a.kind === "resume") this.resumeVm(vm);
        else this.resetVm(vm);
        break;
      }
      case "weight": {
        const vm = this.vm(a.vm);
        if (vm?.vgpu) vm.host.gvt.setWeight(vm.vgpu.id, a.weight);
        break;
      }
      case "fault":
        for (const h of this.hosts) h.gate.addFault(a.rule);
        break;
      case "policy":
        for (const h of this.hosts) h.gvt.setPolicy(a.scheduler);
        break;
      case "migrate": {
        const vm = this.vm(a.vm), to = this.hostNamed(a.to);
        if (vm && to) this.migrations.push(new Migration(this, vm, to, a.options));
        break;
      }
      case "misbehave": {
        const vm = this.vm(a.vm);
        if (vm?.driver && vm.state === "running") vm.driver.misbehave(a.misbehaviour, a.count);
        break;
      }
    }
  }

  /** @internal Records that `vm` got vGPU `id` on host `h` now (ids are per host, reused). */
  noteVgpu(h: HostRuntime, id: number, vm: VmRuntime): void {
    this.idHistory.push({ t: this.sim.now, host: h.index, id, vm: vm.spec.name });
  }

  /** The VM that held vGPU `id` of a host (default the first) at time `t`. */
  vmNameOfVgpu(id: number, t: number, host = 0): string {
    let name = `vgpu${id}`;
    for (const h of this.idHistory) if (h.id === id && h.host === host && h.t <= t) name = h.vm;
    return name;
  }

  /** The state a user sees: failsafe and crashed override the life-cycle state. */
  stateOf(vm: VmRuntime): string {
    if (vm.vgpu && vm.host.gate.crashed(vm.vgpu.id)) return "crashed";
    if (vm.vgpu?.failsafe && vm.state !== "stopped") return "failsafe";
    if (vm.driver?.state === "failed" && vm.state === "running") return "failed";
    if (vm.state === "running" && vm.runner?.finished) return "idle";
    return vm.state;
  }

  /** Whether the first host's backend reports the VM's domain crashed (optional backend query). */
  backendCrashed(vgpuId: number): boolean {
    return this.gate.crashed(vgpuId);
  }

  /** Period of the stored series (ns): the sampling period times the samples merged. */
  get seriesPeriod(): number {
    return this.samplePeriod * this.seriesStride;
  }

  /** Halves the series: neighbouring samples merge, the period doubles. */
  private compactSeries(): void {
    const s = this.series, n = s.t.length >> 1;
    for (let k = 0; k < n; k++) s.t[k] = s.t[2 * k + 1];
    s.t.length = n;
    for (let i = 0; i < this.vms.length; i++) {
      const sh = s.share[i], q = s.queue[i];
      for (let k = 0; k < n; k++) {
        sh[k] = (sh[2 * k] + sh[2 * k + 1]) / 2;
        q[k] = q[2 * k + 1];
      }
      sh.length = n;
      q.length = n;
    }
    this.seriesStride *= 2;
  }

  /** Samples shares and queue depths; pauses VMs whose domain crashed. */
  private sample(): void {
    const now = this.sim.now;
    for (const vm of this.vms) {
      // A crashed domain is paused by its hypervisor: its vCPUs run no more.
      if (vm.state === "running" && vm.vgpu && vm.host.gate.crashed(vm.vgpu.id)) {
        vm.leaveRunning(now);
        vm.proc?.suspend();
        vm.state = "paused";
        this.mark(vm, "crashed");
      }
    }
    const store = ++this.strideFill === this.seriesStride;
    if (store) {
      this.strideFill = 0;
      this.series.t.push(now);
    }
    this.vms.forEach((vm, i) => {
      // Busy time up to now, a running workload's part included: each period gets exactly
      // the render time that fell in it, so a sample never exceeds 1.
      const busy = busyAt(vm, 0, now);
      const share = Math.max(0, busy - vm.lastBusy) / this.samplePeriod;
      vm.lastBusy = busy;
      let q = 0;
      if (vm.vgpu) { for (const queue of vm.vgpu.queues) q += queue.length; }
      this.shareSum[i] += share;
      if (store) {
        this.series.share[i].push(this.shareSum[i] / this.seriesStride);
        this.series.queue[i].push(q);
        this.shareSum[i] = 0;
      }
      if (this.trace) {
        this.trace.counter(now, vm.owner, "GPU share", share);
        this.trace.counter(now, vm.owner, "queue depth", q);
      }
    });
    if (this.series.t.length >= SERIES_MAX) this.compactSeries();
  }

  /** Records a life-cycle instant in the trace. */
  mark(vm: VmRuntime, what: string): void {
    this.trace?.instant(this.sim.now, vm.owner, DRIVER_THREAD, what, 0, undefined, "vm");
  }
}

function absolute(p: string): string {
  return p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
}
