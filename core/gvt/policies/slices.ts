/**
 * Fixed-slice round-robin policies used for comparison (docs/domain.md section 7):
 * - `gvirt-rr`: gVirt (2014): 16 ms slices among vGPUs with work; a switch waits for the
 *   current vGPU's ring to drain (its queues empty), not only for the running workload.
 * - `best-effort`: NVIDIA vGPU best effort: round robin skipping idle vGPUs, 2 ms slices up
 *   to 8 vGPUs, 1 ms above.
 * - `equal-share`: every running vGPU gets an equal slice in turn, used or not.
 * - `fixed-share`: the period is cut into `slots` fixed slices (default 7, the id limit, or the
 *   largest id on the run queue when gScale mode goes past it); vGPU id n owns slot n-1
 *   whether or not it has work or other slots are used.
 */

import { MS } from "../../sim/sim.ts";
import type { PolicyName } from "../../scenario.ts";
import { GVT_MAX_VGPU } from "../../vgpu_types.ts";
import type { Vgpu } from "../vgpu_state.ts";
import { IDLE, KEEP, type SchedPolicy } from "./policy.ts";

/** A round-robin policy with fixed slices. */
export class SlicePolicy implements SchedPolicy {
  /** Timer period. */
  readonly tickNs: number;
  /** Wait for the whole ring (gVirt). */
  readonly drainQueues: boolean;
  private readonly runq: Vgpu[] = [];
  private readonly fixedSlice: number;
  private readonly skipIdle: boolean;
  private readonly slots: number;
  /** No `slots` given: ids past 7 (gScale mode) add slots rather than never run. */
  private readonly slotsByIds: boolean;

  /**
   * Creates a SlicePolicy.
   * @param name which policy
   * @param params `timeslice` (ns), `slots` (fixed-share)
   */
  constructor(readonly name: PolicyName, params: Record<string, number> = {}) {
    const defaults: Record<string, number> = {
      "gvirt-rr": 16 * MS,
      "best-effort": 0,
      "equal-share": 2 * MS,
      "fixed-share": 2 * MS,
    };
    this.fixedSlice = params.timeslice ?? defaults[name] ?? 2 * MS;
    this.drainQueues = name === "gvirt-rr";
    this.skipIdle = name === "gvirt-rr" || name === "best-effort";
    this.slots = params.slots ?? GVT_MAX_VGPU;
    this.slotsByIds = params.slots === undefined;
    this.tickNs = Math.min(1 * MS, this.fixedSlice || 1 * MS);
  }

  /** The slice length now (best effort shortens it above 8 vGPUs). */
  slice(): number {
    if (this.fixedSlice > 0) return this.fixedSlice;
    return this.runq.length > 8 ? 1 * MS : 2 * MS;
  }

  /** Adds a vGPU at the tail. */
  add(v: Vgpu): void {
    if (!this.runq.includes(v)) this.runq.push(v);
    v.sched.active = true;
  }

  /** Removes a vGPU. */
  remove(v: Vgpu): void {
    const i = this.runq.indexOf(v);
    if (i >= 0) this.runq.splice(i, 1);
    v.sched.active = false;
  }

  /** Time is tracked by the core (schedTime); slices need no budget. */
  account(v: Vgpu, delta: number): void {
    v.sched.leftTs -= delta;
  }

  /** Nothing periodic. */
  onTick(): boolean {
    return false;
  }

  /** Chooses the next vGPU in turn. */
  pick(now: number, current: Vgpu | null, since: number): number {
    const slice = this.slice();
    if (this.name === "fixed-share") {
      let slots = this.slots;
      if (this.slotsByIds) { for (const v of this.runq) if (v.id > slots) slots = v.id; }
      const slot = Math.floor(now / slice) % slots;
      for (const v of this.runq) if (v.id - 1 === slot) return v.id;
      return IDLE;
    }
    const expired = now - since >= slice;
    if (current && !expired && (!this.skipIdle || current.hasPendingWorkload())) return KEEP;
    const n = this.runq.length;
    if (n === 0) return IDLE;
    const start = current ? this.runq.indexOf(current) + 1 : 0;
    for (let k = 0; k < n; k++) {
      const v = this.runq[(start + k) % n];
      if (!this.skipIdle || v.hasPendingWorkload()) return v.id;
    }
    return IDLE;
  }

  /** Slices ignore weights. */
  setWeight(v: Vgpu, weight: number): void {
    v.sched.weight = weight;
  }

  /** Run queue in turn order. */
  queue(): readonly Vgpu[] {
    return this.runq;
  }
}
