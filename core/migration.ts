/**
 * Live migration of a running VM and its vGPU between two hosts of a world, in the manner of
 * gMig (VEE'18, TPDS'20), with the hypervisor's side played here (what the device model's
 * migration thread does):
 *
 * 1. Set-up: the target host creates the vGPU at the same graphics-memory slices (the guest
 *    ballooned for them) and the VM's RAM; the source backend starts its dirty log
 *    (MPT `dirtyLog`).
 * 2. Pre-copy rounds: round 1 sends every resident page of guest RAM, GPU-reachable pages
 *    included, once (gMig's one-shot pre-copy of graphics memory); each later round sends the
 *    pages the dirty log (MPT `dirtyLogSync`, get-and-clear) reports the guest CPU wrote. A
 *    round takes its pages over the link bandwidth. GPU writes never reach a CPU dirty log.
 * 3. Stop-and-copy, once the CPU-dirty rest would fit the downtime goal (or after the last
 *    allowed round): the vCPUs stop, the vGPU leaves the source's run queue and the engines
 *    finish what they run (quiesce); then the last dirty pages are sent together with the
 *    GPU-reachable pages: with hashing (gMig's software dirty page), only those whose hash
 *    differs from the hash taken when the page was last sent; without, all of them. Then the
 *    vGPU's device state (core/gvt/migrate.ts) follows.
 * 4. Switch-over: the target's device model replays the guest's config space through its
 *    hypervisor, the mediator loads the device state, the guest's traps and RAM move to the
 *    target, the source vGPU is destroyed and its RAM freed, and the vCPUs run again.
 *
 * Pages are really copied (the target RAM is a separate copy): at the switch-over the source
 * and target copies are compared and any difference is counted as a stale page (0 when the
 * protocol is complete; a test checks it). Downtime runs from the vCPU stop to the first
 * instruction on the target: quiesce, hashing, transfer of pages and state, restore.
 */

import type { EventSink } from "./sim/sim.ts";
import type { MigrationOptions } from "./scenario.ts";
import type { HostRuntime, VmRuntime, World } from "./world.ts";
import { GuestMemory } from "./guest/memory.ts";
import { PAGE_SIZE } from "./hw/memory.ts";
import { isCreateError } from "./gvt/vgpu.ts";
import type { Vgpu } from "./gvt/vgpu_state.ts";
import {
  cannotSave,
  gpuWritableFrames,
  restoreVgpuState,
  saveVgpuState,
  stateBytes,
  type VgpuMigrationState,
} from "./gvt/migrate.ts";
import { PCI_BAR0, PCI_BAR2 } from "./gvt/cfg.ts";
import { MIGRATION_THREAD } from "./metrics/trace.ts";
import { MSI_ADDRESS_HI, MSI_ADDRESS_LO, MSI_DATA, MSI_FLAGS, PCI_COMMAND } from "./hw/pci.ts";

/** How often the source checks whether the engines finished the vGPU's work (ns). */
export const QUIESCE_POLL_NS = 50_000;
/** Longest the source waits for the engines before the migration is abandoned (ns). */
export const QUIESCE_LIMIT_NS = 2_000_000_000;

/** One pre-copy round. */
export interface MigrationRound {
  /** Round number (1-based). */
  round: number;
  /** Start (ns). */
  start: number;
  /** End (ns). */
  end: number;
  /** Pages sent. */
  pages: number;
}

/**
 * Guest config-space registers the target's device model writes back through its
 * hypervisor (offset, size), in order: BARs, then the MSI capability (enable last), then the
 * command register (memory decoding on maps the aperture).
 */
const CFG_REPLAY: readonly (readonly [number, number])[] = [
  [PCI_BAR0, 4],
  [PCI_BAR0 + 4, 4],
  [PCI_BAR2, 4],
  [PCI_BAR2 + 4, 4],
  [MSI_ADDRESS_LO, 4],
  [MSI_ADDRESS_HI, 4],
  [MSI_DATA, 2],
  [MSI_FLAGS, 2],
  [PCI_COMMAND, 2],
];

const EV_ROUND = 1, EV_QUIESCE = 2, EV_SWITCH = 3, EV_RUN = 4;

/** FNV-1a over a page's dwords (gMig hashes GPU-reachable pages to find the changed ones). */
function pageHash(p: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p[i], 0x01000193);
  return h >>> 0;
}

/** One live migration (started by a timeline `migrate`); its fields are what results report. */
export class Migration implements EventSink {
  /** VM name. */
  readonly vm: string;
  /** Source host name. */
  readonly from: string;
  /** Target host name. */
  readonly to: string;
  /** When it was asked for (ns). */
  readonly start: number;
  /** When the VM ran again on the target, or gave up (ns; -1 while under way). */
  end: number = -1;
  /** "running", "done" or "failed". */
  outcome: "running" | "done" | "failed" = "running";
  /** Why it failed. */
  reason = "";
  /** Pre-copy rounds. */
  readonly rounds: MigrationRound[] = [];
  /** vCPUs stopped (ns; -1 before). */
  stoppedAt: number = -1;
  /** Engines idle for the vGPU (ns; -1 before). */
  quiescedAt: number = -1;
  /** VM stopped, from vCPU stop to its first instruction on the target (ns). */
  downtimeNs = 0;
  /** Pages sent in pre-copy rounds. */
  precopyPages = 0;
  /** CPU-dirty pages sent at stop-and-copy. */
  stopDirtyPages = 0;
  /** GPU-reachable pages at stop-and-copy. */
  gpuPages = 0;
  /** GPU-reachable pages hashed at stop-and-copy. */
  gpuHashed = 0;
  /** GPU-reachable pages resent at stop-and-copy (changed hash, or all without hashing). */
  gpuResent = 0;
  /** Pages sent at stop-and-copy in all. */
  stopPages = 0;
  /** Bytes of vGPU device state sent. */
  stateBytes = 0;
  /** Workloads queued on the vGPU that moved with it. */
  queuedWorkloads = 0;
  /** Pages whose target copy differed from the source at the switch-over (0: complete). */
  stalePages = 0;
  /** The source backend had a native dirty log (else every page counted as dirty). */
  nativeDirtyLog = false;

  private readonly src: HostRuntime;
  private srcVgpu: Vgpu | null = null;
  private target: Vgpu | null = null;
  private mem: GuestMemory | null = null;
  private state: VgpuMigrationState | null = null;
  /** Hash of each page as last sent (valid where `hashed` is 1). */
  private readonly hashes: Uint32Array;
  private readonly hashed: Uint8Array;
  private dirty: Uint8Array;
  private lastHashed = 0;
  private wasActive = false;

  /** Starts it now (`w.migrations` keeps it); a failure is recorded, never thrown. */
  constructor(
    private readonly w: World,
    private readonly rt: VmRuntime,
    private readonly dst: HostRuntime,
    readonly options: MigrationOptions,
  ) {
    this.vm = rt.spec.name;
    this.src = rt.host;
    this.from = rt.host.name;
    this.to = dst.name;
    this.start = w.sim.now;
    const frames = Math.floor(rt.spec.memory / PAGE_SIZE);
    this.hashes = new Uint32Array(frames);
    this.hashed = new Uint8Array(frames);
    this.dirty = new Uint8Array(frames);
    this.begin();
  }

  /** Time to send `bytes` over the link (ns). */
  private wire(bytes: number): number {
    return Math.ceil((bytes / this.options.bandwidth) * 1e9);
  }

  /** Gives up: the target's vGPU and RAM go; after a stop, the VM runs on at the source. */
  private fail(why: string): void {
    this.outcome = "failed";
    this.reason = why;
    this.end = this.w.sim.now;
    const rt = this.rt;
    if (this.target !== null) {
      // this migration had started (a refused one leaves another one's flags alone)
      rt.migrating = false;
      rt.frozen = false;
    }
    if (this.target !== null && this.srcVgpu !== null && !this.srcVgpu.destroyed) {
      this.src.gate.dirtyLog(this.srcVgpu.id, false);
      // stop-and-copy had started: the VM runs on where it was
      if (this.stoppedAt >= 0) {
        if (this.wasActive) this.src.gvt.vgpuActivate(this.srcVgpu.id);
        this.src.gvt.display.update(this.srcVgpu);
        if (rt.state === "running") rt.proc?.resume();
      }
    }
    if (this.target !== null) this.dst.gvt.destroyVgpu(this.target.id);
    if (this.target !== null) this.dst.ctx.setGuestMemory(this.target.id, undefined);
    this.mem?.release();
    this.dst.gate.takeCost();
    this.src.gate.takeCost();
    this.w.mark(rt, `migration to ${this.to} failed`);
  }

  /** Checks the VM and the target, creates the target vGPU, starts the dirty log. */
  private begin(): void {
    const rt = this.rt, v = rt.vgpu;
    if (rt.migrating) return this.fail(`${this.vm} is already migrating`);
    if (rt.state !== "running" && rt.state !== "paused") {
      return this.fail(`${this.vm} is ${rt.state}`);
    }
    if (this.dst === this.src) return this.fail(`${this.vm} already runs on ${this.to}`);
    if (v === null || !rt.mem || !rt.driver) return this.fail(`${this.vm} has no vGPU`);
    if (v.failsafe) return this.fail(`its vGPU is in failsafe (${v.failsafeReason})`);
    this.srcVgpu = v;
    const id = this.dst.gvt.nextVgpuId();
    if (id <= 0) return this.fail(`host ${this.to} has no free vGPU id`);
    const mem = new GuestMemory(this.dst.gpu.memory, rt.owner, rt.spec.memory);
    this.dst.ctx.setGuestMemory(id, mem);
    const t = this.dst.gvt.createVgpu({
      vm: this.vm,
      type: v.type.name,
      weight: v.sched.weight,
      memory: rt.spec.memory,
      vcpus: rt.spec.vcpus,
      owner: rt.owner,
      cfg: this.src.gate.infoOf(v.id)?.cfg,
      at: { aperture: v.res.aperture.base, hidden: v.res.hidden.base },
    });
    if (isCreateError(t)) {
      this.dst.ctx.setGuestMemory(id, undefined);
      mem.release();
      return this.fail(t.message);
    }
    this.target = t;
    this.mem = mem;
    rt.migrating = true;
    this.nativeDirtyLog = this.src.gate.nativeOps().native.includes("dirtyLogSync");
    const setup = this.dst.gate.takeCost();
    this.src.gate.dirtyLog(v.id, true);
    this.w.mark(rt, `migrate to ${this.to}`);
    this.w.sim.schedule(setup + this.src.gate.takeCost(), this, EV_ROUND);
  }

  /** Why the migration cannot go on (the VM stopped or broke meanwhile), or undefined. */
  private broken(): string | undefined {
    const v = this.srcVgpu!;
    if (v.destroyed || this.rt.vgpu !== v) return `${this.vm} was stopped`;
    if (v.failsafe) return `its vGPU entered failsafe (${v.failsafeReason})`;
    return undefined;
  }

  /** @internal rounds, quiesce polling, switch-over, resume */
  onEvent(kind: number): void {
    if (this.outcome !== "running") return;
    if (kind === EV_ROUND) this.round();
    else if (kind === EV_QUIESCE) this.quiesce();
    else if (kind === EV_SWITCH) this.switchOver();
    else if (kind === EV_RUN) this.resume();
  }

  /**
   * Sends `pages` now (their content as of now) into the target's RAM; returns how many.
   * With hashing, the GPU-reachable ones among them (`gpu`) are hashed as they go; the count
   * is left in {@link lastHashed}.
   */
  private send(pages: Uint8Array, gpu: Uint8Array | null): number {
    const from = this.rt.mem!, to = this.mem!, hs = from.host, ht = to.host;
    let n = 0;
    this.lastHashed = 0;
    for (let g = 0; g < pages.length; g++) {
      if (pages[g] === 0) continue;
      const ms = from.residentMfn(g);
      if (ms < 0) continue;
      const mt = to.writableMfn(g);
      if (mt < 0) continue;
      const p = hs.page(ms);
      ht.page(mt).set(p);
      if (gpu !== null && gpu[g] !== 0) {
        this.hashes[g] = pageHash(p);
        this.hashed[g] = 1;
        this.lastHashed++;
      }
      n++;
    }
    return n;
  }

  /** One pre-copy round, or the decision to stop and copy. */
  private round(): void {
    const why = this.broken();
    if (why) return this.fail(why);
    const now = this.w.sim.now, v = this.srcVgpu!, k = this.rounds.length;
    if (k > 0) this.closeRound(now);
    this.dirty.fill(0);
    if (k === 0) {
      // Round 1: all of RAM as it is now; the log restarts empty from here.
      for (const g of this.rt.mem!.residentFrames()) if (g < this.dirty.length) this.dirty[g] = 1;
      this.src.gate.dirtyLogSync(v.id, new Uint8Array(this.dirty.length));
    } else {
      this.src.gate.dirtyLogSync(v.id, this.dirty);
      const rest = this.countResident(this.dirty);
      const converged = this.wire(rest * PAGE_SIZE) <= this.options.maxDowntime;
      if (converged || k >= this.options.maxRounds) return this.stop();
    }
    // Hashing the GPU-reachable pages as they are sent is part of the round's work.
    const gpu = this.options.hashing ? gpuWritableFrames(this.src.gvt, v, this.rt.mem!) : null;
    const sent = this.send(this.dirty, gpu);
    this.precopyPages += sent;
    this.rounds.push({ round: k + 1, start: now, end: -1, pages: sent });
    const hashNs = this.lastHashed * this.options.hashCost;
    this.w.sim.schedule(
      this.wire(sent * PAGE_SIZE) + hashNs + this.src.gate.takeCost(),
      this,
      EV_ROUND,
    );
  }

  /** Ends the current pre-copy round at `now` (and traces it). */
  private closeRound(now: number): void {
    const r = this.rounds[this.rounds.length - 1];
    r.end = now;
    const log = this.w.trace;
    if (log) {
      log.slice(r.start, now - r.start, this.rt.owner, MIGRATION_THREAD, `pre-copy ${r.round}`, 0, {
        pages: r.pages,
        to: this.to,
      }, "migration");
      log.counter(now, this.rt.owner, "migration pages sent", this.precopyPages);
    }
  }

  /** How many of `pages` are backed by host frames on the source. */
  private countResident(pages: Uint8Array): number {
    const m = this.rt.mem!;
    let n = 0;
    for (let g = 0; g < pages.length; g++) if (pages[g] !== 0 && m.residentMfn(g) >= 0) n++;
    return n;
  }

  /** Stop-and-copy begins: the vCPUs stop and the vGPU leaves the source's run queue. */
  private stop(): void {
    const rt = this.rt, v = this.srcVgpu!;
    this.stoppedAt = this.w.sim.now;
    this.wasActive = v.sched.active;
    rt.frozen = true;
    rt.proc?.suspend();
    this.src.gvt.vgpuDeactivate(v.id);
    this.w.mark(rt, "stop-and-copy");
    this.quiesce();
  }

  /** Waits for the engines to finish the vGPU's running work, then sends the rest. */
  private quiesce(): void {
    const why = this.broken();
    if (why) return this.fail(why);
    const v = this.srcVgpu!, now = this.w.sim.now;
    if (cannotSave(v) !== undefined) {
      if (now - this.stoppedAt > QUIESCE_LIMIT_NS) {
        return this.fail("the engines did not finish the vGPU's work within 2 s");
      }
      this.w.sim.schedule(QUIESCE_POLL_NS, this, EV_QUIESCE);
      return;
    }
    this.quiescedAt = now;
    this.src.gvt.display.stop(v);
    const last = new Uint8Array(this.dirty.length);
    this.src.gate.dirtyLogSync(v.id, last);
    for (let g = 0; g < last.length; g++) if (last[g] !== 0) this.dirty[g] = 1;
    this.stopDirtyPages = this.countResident(this.dirty);
    // GPU-reachable pages: the CPU log never saw the GPU's writes to them.
    const gpu = gpuWritableFrames(this.src.gvt, v, this.rt.mem!);
    const m = this.rt.mem!, hs = m.host;
    for (let g = 0; g < gpu.length; g++) {
      if (gpu[g] === 0) continue;
      const ms = m.residentMfn(g);
      if (ms < 0) continue;
      this.gpuPages++;
      if (this.dirty[g] !== 0) continue; // CPU-dirty: sent anyway
      let resend = true;
      if (this.options.hashing) {
        this.gpuHashed++;
        resend = this.hashed[g] === 0 || pageHash(hs.page(ms)) !== this.hashes[g];
      }
      if (resend) {
        this.gpuResent++;
        this.dirty[g] = 1;
      }
    }
    this.stopPages = this.send(this.dirty, null);
    this.state = saveVgpuState(v);
    this.state.active = this.wasActive; // taken off the run queue only for the stop
    this.stateBytes = stateBytes(this.state);
    this.queuedWorkloads = this.state.workloads.length;
    const hashNs = this.gpuHashed * this.options.hashCost;
    const transfer = this.wire(this.stopPages * PAGE_SIZE + this.stateBytes);
    this.w.sim.schedule(hashNs + transfer + this.src.gate.takeCost(), this, EV_SWITCH);
  }

  /** The target takes over: config space, device state, the guest's traps and RAM. */
  private switchOver(): void {
    const why = this.broken();
    if (why) return this.fail(why);
    const rt = this.rt, v = this.srcVgpu!, t = this.target!, mem = this.mem!;
    const old = rt.mem!;
    this.stalePages = countStale(old, mem);
    const info = this.src.gate.infoOf(v.id);
    const cfgBase = info?.cfg;
    if (cfgBase !== undefined) {
      for (const [off, size] of CFG_REPLAY) {
        let val = 0;
        for (let b = size - 1; b >= 0; b--) val = val * 256 + v.vcfg[off + b];
        this.dst.gate.guestMmioWrite(t.id, cfgBase + off, size, val);
      }
    }
    const problem = restoreVgpuState(this.dst.gvt, t, this.state!);
    if (problem) this.reason = problem;
    mem.adoptAllocator(old);
    const driver = rt.driver!;
    driver.migrated(this.dst.gate, t.id, mem);
    this.dst.ctx.setMsiReceiver(t.id, driver);
    driver.tracer = this.dst.tracer;
    rt.earlierCounters.push(v.counters);
    this.src.gate.dirtyLog(v.id, false);
    this.src.gvt.destroyVgpu(v.id);
    this.src.ctx.setGuestMemory(v.id, undefined);
    old.release();
    this.src.gate.takeCost();
    rt.vgpu = t;
    rt.mem = mem;
    rt.host = this.dst;
    this.w.noteVgpu(this.dst, t.id, rt);
    this.w.sim.schedule(this.dst.gate.takeCost(), this, EV_RUN);
  }

  /** The vCPUs run again, on the target. */
  private resume(): void {
    const rt = this.rt, now = this.w.sim.now;
    this.end = now;
    this.downtimeNs = now - this.stoppedAt;
    this.outcome = "done";
    rt.migrating = false;
    rt.frozen = false;
    if (rt.state === "running") rt.proc?.resume();
    const log = this.w.trace;
    if (log) {
      log.slice(this.stoppedAt, this.downtimeNs, rt.owner, MIGRATION_THREAD, "stop-and-copy", 0, {
        pages: this.stopPages,
        gpu_resent: this.gpuResent,
        state_bytes: this.stateBytes,
      }, "migration");
      log.counter(now, rt.owner, "migration pages sent", this.pagesSent);
    }
    this.w.mark(rt, `running on ${this.to}`);
  }

  /** Pages sent in all (pre-copy and stop-and-copy). */
  get pagesSent(): number {
    return this.precopyPages + this.stopPages;
  }
}

/** Resident pages of `a` whose copy in `b` differs. */
function countStale(a: GuestMemory, b: GuestMemory): number {
  let n = 0;
  for (const g of a.residentFrames()) {
    const pa = a.host.page(a.residentMfn(g)), mb = b.residentMfn(g);
    if (mb < 0) {
      if (pa.some((x) => x !== 0)) n++;
      continue;
    }
    const pb = b.host.page(mb);
    for (let i = 0; i < pa.length; i++) {
      if (pa[i] !== pb[i]) {
        n++;
        break;
      }
    }
  }
  return n;
}
