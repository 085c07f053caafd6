/**
 * Virtual display (i915 gvt/display.c `emulate_vblank`): one timer per vGPU at the
 * virtual refresh rate while any of its pipes is enabled; each tick bumps the frame
 * counter of every enabled pipe, raises PIPE_x_VBLANK and completes queued flips
 * (flip-done event). The timer is an {@link EventSink} keyed by vGPU id and a generation.
 */

import {
  GEN8_PIPE_VBLANK,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  IRQ_PIPE_A,
  NUM_PIPES,
  PIPE_FRMCOUNT_A,
  PIPE_STRIDE,
  PIPECONF_A,
  PIPECONF_ENABLE,
} from "../hw/regs.ts";
import type { EventSink, Sim } from "../sim/sim.ts";
import type { VirtualIrq } from "./irq.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** Vblank timers of all vGPUs. */
export class VirtualDisplay implements EventSink {
  /** Frame period (ns). */
  readonly periodNs: number;

  /**
   * Creates a VirtualDisplay.
   * @param sim simulation
   * @param irq virtual interrupts
   * @param vgpuById lookup of live vGPUs
   * @param refreshHz virtual refresh rate
   */
  constructor(
    private readonly sim: Sim,
    private readonly irq: VirtualIrq,
    private readonly vgpuById: (id: number) => Vgpu | null,
    refreshHz: number,
  ) {
    this.periodNs = Math.round(1e9 / (refreshHz > 0 ? refreshHz : 60));
  }

  /** True if any pipe of `v` is enabled. */
  anyPipeOn(v: Vgpu): boolean {
    for (let p = 0; p < NUM_PIPES; p++) {
      if (v.vreg[(PIPECONF_A + p * PIPE_STRIDE) >>> 2] & PIPECONF_ENABLE) return true;
    }
    return false;
  }

  /** Starts or stops the vGPU's timer after a PIPECONF change. */
  update(v: Vgpu): void {
    const on = this.anyPipeOn(v) && !v.destroyed;
    if (on && !v.vblankOn) {
      v.vblankOn = true;
      this.sim.schedule(this.periodNs, this, v.id, v.vblankGen);
    } else if (!on && v.vblankOn) {
      v.vblankOn = false;
      v.vblankGen++;
    }
  }

  /** Stops the timer (destroy / reset). */
  stop(v: Vgpu): void {
    v.vblankOn = false;
    v.vblankGen++;
  }

  /** @internal one vblank of vGPU `kind` (arg: timer generation) */
  describeEvent(kind: number): string {
    return `virtual vblank of vGPU ${kind}`;
  }

  /** @internal one vblank of vGPU `kind` (arg: timer generation) */
  onEvent(kind: number, arg: number): void {
    const v = this.vgpuById(kind);
    if (!v || !v.vblankOn || arg !== v.vblankGen) return;
    this.sim.schedule(this.periodNs, this, v.id, v.vblankGen);
    for (let p = 0; p < NUM_PIPES; p++) {
      const s = p * PIPE_STRIDE;
      if ((v.vreg[(PIPECONF_A + s) >>> 2] & PIPECONF_ENABLE) === 0) {
        v.flipPending[p] = 0;
        continue;
      }
      if (v.flipPending[p]) {
        v.flipPending[p] = 0;
        v.counters.flipsDone++;
        this.irq.trigger(v, IRQ_PIPE_A + p, GEN9_PIPE_PLANE1_FLIP_DONE);
      }
      v.vreg[(PIPE_FRMCOUNT_A + s) >>> 2]++;
      v.counters.vblanks++;
      this.irq.trigger(v, IRQ_PIPE_A + p, GEN8_PIPE_VBLANK);
    }
  }
}
