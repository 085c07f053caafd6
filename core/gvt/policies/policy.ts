/**
 * The replaceable scheduling policy interface: the scheduler core (sched.ts) owns the timer,
 * the switch protocol (switch only when no engine runs a workload) and time accounting;
 * a policy only keeps its run queue and decides whom to run next.
 */

import type { PolicyName } from "../../scenario.ts";
import type { Vgpu } from "../vgpu_state.ts";

/** Returned by {@link SchedPolicy.pick} to keep the current vGPU. */
export const KEEP: number = -1;
/** Returned by {@link SchedPolicy.pick} to run the idle vGPU. */
export const IDLE: number = 0;

/** A scheduling policy. */
export interface SchedPolicy {
  /** Policy name. */
  readonly name: PolicyName;
  /** Timer period (ns). */
  readonly tickNs: number;
  /**
   * True if a switch must wait until the current vGPU's queues are empty, not only until
   * the running workloads finished (gVirt's "wait for the ring to drain").
   */
  readonly drainQueues: boolean;
  /** Adds a vGPU to the run queue; `startup` grants start-up priority where the policy has it. */
  add(v: Vgpu, now: number, startup: boolean): void;
  /** Removes a vGPU. */
  remove(v: Vgpu): void;
  /** Charges `delta` ns of GPU ownership to `v` (called at every tick and switch). */
  account(v: Vgpu, delta: number): void;
  /**
   * Periodic work at each tick before {@link pick}; true when this tick balanced the
   * vGPUs' time slices (the 100 ms balance), which the scheduler counts.
   */
  onTick(now: number): boolean;
  /**
   * Chooses what to run: a vGPU id, {@link IDLE}, or {@link KEEP}. `current` is the vGPU
   * holding the GPU (null: idle), `since` when it was scheduled in.
   */
  pick(now: number, current: Vgpu | null, since: number): number;
  /** A weight changed at run time. */
  setWeight(v: Vgpu, weight: number): void;
  /** vGPUs on the run queue in the policy's order. */
  queue(): readonly Vgpu[];
}

/** Moves `v` to the tail of `q`. */
export function moveToTail(q: Vgpu[], v: Vgpu): void {
  const i = q.indexOf(v);
  if (i >= 0) q.splice(i, 1);
  q.push(v);
}
