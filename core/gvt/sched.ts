/**
 * The vGPU scheduler core (i915 gvt/sched_policy.c + scheduler.c): a periodic timer (an
 * {@link EventSink}) accounts the current vGPU's time, lets the policy pick the next one
 * and switches only when no engine has a running workload (the GPU is never preempted
 * mid-workload, so long batches overrun their slice); the time spent waiting for engines to
 * drain is measured. Policies are replaceable at run time; weights change at run time.
 */

import type { SchedulerSpec } from "../scenario.ts";
import type { EventSink, Sim } from "../sim/sim.ts";
import type { GvtCounters } from "./counters.ts";
import { createPolicy, IDLE, KEEP, type SchedPolicy } from "./policies/mod.ts";
import type { GvtTracer } from "./tracer.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** What the scheduler needs from the mediator. */
export interface SchedHost {
  /** vGPU by id (null if none). */
  vgpuById(id: number): Vgpu | null;
  /** True if any engine has a workload in flight (dispatched, not completed). */
  anyEngineBusy(): boolean;
  /** Lets the dispatcher run queued workloads of the current vGPU. */
  kick(): void;
  /** The vGPU was scheduled out (tells the MPT backend). */
  descheduled(v: Vgpu): void;
}

const EV_TICK = 0, EV_KICK = 1;
const NO_TARGET = -2;

/** The scheduler. */
export class GvtScheduler implements EventSink {
  /** The vGPU holding the GPU, or null for the idle vGPU. */
  current: Vgpu | null = null;
  /** When the current vGPU was scheduled in. */
  schedInTime = 0;
  /** A switch is pending: the dispatcher must not start new workloads of the current vGPU. */
  needReschedule = false;
  /** The policy. */
  policy: SchedPolicy;
  private next = NO_TARGET;
  private drainStart = -1;
  private lastAccount = 0;
  private tickId = -1;
  private running = false;
  private kickPending = false;
  /** Switch history: (time, vGPU id) pairs of the first 2048 switches. */
  readonly switchLog: number[] = [];
  /** Trace hooks (null: not tracing). */
  tracer: GvtTracer | null = null;

  /**
   * Creates a GvtScheduler.
   * @param sim simulation
   * @param host the mediator
   * @param counters global counters
   * @param spec initial policy
   */
  constructor(
    private readonly sim: Sim,
    private readonly host: SchedHost,
    private readonly counters: GvtCounters,
    spec: SchedulerSpec,
  ) {
    this.policy = createPolicy(spec);
  }

  /** Starts the timer. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastAccount = this.sim.now;
    this.tickId = this.sim.schedule(this.policy.tickNs, this, EV_TICK);
  }

  /** Stops the timer. */
  stop(): void {
    if (this.tickId >= 0) this.sim.cancel(this.tickId);
    this.tickId = -1;
    this.running = false;
  }

  /** Adds a vGPU to the run queue (with start-up priority). */
  startSchedule(v: Vgpu): void {
    this.policy.add(v, this.sim.now, true);
    this.start();
  }

  /** Removes a vGPU (destroy, or reset of a vGPU that stops). */
  stopSchedule(v: Vgpu): void {
    this.policy.remove(v);
    if (this.current === v) {
      this.account(this.sim.now);
      if (this.tracer !== null) this.tracer.vgpuSwitch(v.id, 0);
      this.current = null;
      this.schedInTime = this.sim.now;
    }
    if (this.next === v.id) this.next = NO_TARGET;
  }

  /** Replaces the policy at run time; every vGPU on the old run queue moves over. */
  setPolicy(spec: SchedulerSpec): void {
    this.account(this.sim.now);
    const old = this.policy;
    const q = [...old.queue()].sort((a, b) => a.id - b.id);
    for (const v of q) old.remove(v);
    this.policy = createPolicy(spec);
    for (const v of q) this.policy.add(v, this.sim.now, false);
    this.next = NO_TARGET;
    if (this.running) {
      this.stop();
      this.start();
    }
  }

  /** Changes a vGPU's weight at run time. */
  setWeight(v: Vgpu, weight: number): void {
    this.policy.setWeight(v, weight);
  }

  /**
   * A vGPU queued a workload (`intel_gvt_kick_schedule` from `intel_vgpu_queue_workload`):
   * the policy runs soon, in its own event, not only at the next tick.
   */
  kick(): void {
    if (this.kickPending || !this.running) return;
    this.kickPending = true;
    this.sim.schedule(0, this, EV_KICK);
  }

  /** @internal timer tick, or a kick */
  describeEvent(kind: number): string {
    return kind === EV_TICK ? "scheduler tick" : "scheduler kick";
  }

  /** Timer tick, or a kick. */
  onEvent(kind: number): void {
    if (kind === EV_KICK) {
      this.kickPending = false;
      if (this.running) this.schedule();
      return;
    }
    if (kind !== EV_TICK) return;
    this.counters.ticks++;
    this.tickId = this.sim.schedule(this.policy.tickNs, this, EV_TICK);
    if (this.policy.onTick(this.sim.now)) this.counters.balances++;
    this.schedule();
  }

  /** A workload completed: retry a pending switch (INTEL_GVT_REQUEST_EVENT_SCHED). */
  onWorkloadComplete(): void {
    if (this.needReschedule) this.schedule();
  }

  /** Charges the time since the last accounting to the current vGPU (or idle). */
  private account(now: number): void {
    const delta = now - this.lastAccount;
    this.lastAccount = now;
    if (delta <= 0) return;
    const cur = this.current;
    if (cur) {
      cur.sched.schedTime += delta;
      cur.counters.schedNs += delta;
      this.policy.account(cur, delta);
    } else this.counters.idleNs += delta;
  }

  /** `intel_gvt_schedule`: account, pick, try to switch. */
  schedule(): void {
    const now = this.sim.now;
    this.account(now);
    if (this.next === NO_TARGET) {
      const p = this.policy.pick(now, this.current, this.schedInTime);
      if (p === KEEP || p === (this.current ? this.current.id : IDLE)) {
        this.needReschedule = false;
        this.drainStart = -1;
        this.host.kick();
        return;
      }
      this.next = p;
    }
    this.trySwitch(now);
  }

  /** Switches to the chosen vGPU once every engine has drained. */
  private trySwitch(now: number): void {
    this.needReschedule = true;
    if (this.drainStart < 0) this.drainStart = now;
    if (this.host.anyEngineBusy()) return;
    if (
      this.policy.drainQueues && this.current && this.queuedBefore(this.current, this.drainStart)
    ) {
      this.host.kick();
      return;
    }
    const target = this.next === IDLE ? null : this.host.vgpuById(this.next);
    this.counters.drainWaitNs += now - this.drainStart;
    this.drainStart = -1;
    const prev = this.current;
    this.current = target;
    this.schedInTime = now;
    this.next = NO_TARGET;
    this.needReschedule = false;
    this.counters.switches++;
    if (this.switchLog.length < 4096) this.switchLog.push(now, target ? target.id : 0);
    if (target) target.counters.scheduledIn++;
    if (this.tracer !== null) this.tracer.vgpuSwitch(prev ? prev.id : 0, target ? target.id : 0);
    if (prev) this.host.descheduled(prev);
    this.host.kick();
  }

  /** True if `v` has a queued workload submitted at or before `t`. */
  private queuedBefore(v: Vgpu, t: number): boolean {
    for (const q of v.queues) if (q.length > 0 && q[0].submitTime <= t) return true;
    return false;
  }

  /**
   * True if the dispatcher may start workload `w` of `v` now: `v` holds the GPU and no
   * switch is pending, or the policy drains the ring and `w` was queued before the switch
   * was decided.
   */
  mayDispatch(v: Vgpu, submitTime: number): boolean {
    if (this.current !== v) return false;
    if (!this.needReschedule) return true;
    return this.policy.drainQueues && submitTime <= this.drainStart;
  }
}
