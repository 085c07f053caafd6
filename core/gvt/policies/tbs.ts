/**
 * The upstream time-based scheduler policy (i915 gvt/sched_policy.c, "tbs"): a 1 ms timer;
 * every 100 ms each vGPU on the run queue is credited `100 ms * weight / sum(weights)`;
 * debt or credit carries over and is reset every 10 periods (1 s). A vGPU joins at the head
 * of the LRU run queue (`tbs_sched_start_schedule`: `list_add`) with 2 s of start-up
 * priority, during which it is not rotated. Pick: the first vGPU in LRU order with pending
 * work and time left (or start-up priority); if none, the idle vGPU.
 */

import { MS, SEC } from "../../sim/sim.ts";
import type { Vgpu } from "../vgpu_state.ts";
import { IDLE, moveToTail, type SchedPolicy } from "./policy.ts";

/** GVT_DEFAULT_TIME_SLICE: the timer period. */
export const GVT_DEFAULT_TIME_SLICE = 1 * MS;
/** GVT_TS_BALANCE_PERIOD_MS. */
export const GVT_TS_BALANCE_PERIOD = 100 * MS;
/** GVT_TS_BALANCE_STAGE_NUM. */
export const GVT_TS_BALANCE_STAGE_NUM = 10;
/** Start-up priority of a new vGPU. */
export const GVT_SCHED_VGPU_PRI_TIME = 2 * SEC;

/** The time-based policy. */
export class TbsPolicy implements SchedPolicy {
  /** Policy name. */
  readonly name = "gvt" as const;
  /** Timer period. */
  readonly tickNs: number;
  /** Switch waits only for running workloads. */
  readonly drainQueues = false;
  private readonly runq: Vgpu[] = [];
  private expireTime = 0;
  private stageCheck = 0;
  private readonly balancePeriod: number;
  private readonly priTime: number;
  /** Balance periods run. */
  balances = 0;

  /** Creates a TbsPolicy.
   * @param params `timeslice` (tick, ns), `balance` (ns), `startup` (ns) */
  constructor(params: Record<string, number> = {}) {
    this.tickNs = params.timeslice ?? GVT_DEFAULT_TIME_SLICE;
    this.balancePeriod = params.balance ?? GVT_TS_BALANCE_PERIOD;
    this.priTime = params.startup ?? GVT_SCHED_VGPU_PRI_TIME;
  }

  /** Adds a vGPU at the head of the run queue (`tbs_sched_start_schedule`). */
  add(v: Vgpu, now: number, startup: boolean): void {
    if (this.runq.includes(v)) return;
    const d = v.sched;
    d.priSched = startup;
    d.priTime = now + this.priTime;
    d.active = true;
    this.runq.unshift(v);
  }

  /** Removes a vGPU. */
  remove(v: Vgpu): void {
    const i = this.runq.indexOf(v);
    if (i >= 0) this.runq.splice(i, 1);
    v.sched.active = false;
  }

  /** `vgpu_update_timeslice`. */
  account(v: Vgpu, delta: number): void {
    v.sched.leftTs -= delta;
  }

  /** Balance every period (`gvt_balance_timeslice`). */
  onTick(now: number): boolean {
    if (now < this.expireTime) return false;
    this.expireTime = now + this.balancePeriod;
    this.balances++;
    const stage = this.stageCheck++ % GVT_TS_BALANCE_STAGE_NUM;
    if (stage === 0) {
      let total = 0;
      for (const v of this.runq) total += v.sched.weight;
      for (const v of this.runq) {
        const d = v.sched;
        d.allocatedTs = total > 0 ? Math.floor(this.balancePeriod / total) * d.weight : 0;
        d.leftTs = d.allocatedTs;
      }
    } else {
      for (const v of this.runq) v.sched.leftTs += v.sched.allocatedTs;
    }
    return true;
  }

  /** `find_busy_vgpu` + LRU rotation (`tbs_sched_func`). */
  pick(now: number): number {
    let found: Vgpu | null = null;
    for (const v of this.runq) {
      if (!v.hasPendingWorkload()) continue;
      const d = v.sched;
      if (d.priSched) {
        if (now < d.priTime) {
          found = v;
          break;
        }
        d.priSched = false;
      }
      if (d.leftTs > 0) {
        found = v;
        break;
      }
    }
    if (!found) return IDLE;
    if (!found.sched.priSched) moveToTail(this.runq, found);
    return found.id;
  }

  /** Weight change: takes effect at the next stage-0 balance, as upstream. */
  setWeight(v: Vgpu, weight: number): void {
    v.sched.weight = weight;
  }

  /** Run queue in LRU order. */
  queue(): readonly Vgpu[] {
    return this.runq;
  }
}
