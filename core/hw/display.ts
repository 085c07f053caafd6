/**
 * Display pipes A/B/C: enabling PIPECONF starts a vblank timer at the refresh rate; each
 * vblank bumps the frame counter, completes an armed flip (DSPSURF -> DSPSURFLIVE, flip
 * count, PLANE1_FLIP_DONE) and raises PIPE_VBLANK in the pipe's interrupt group.
 */

import type { EventSink, Sim } from "../sim/sim.ts";
import type { IrqUnit } from "./irq.ts";
import {
  DSPSURF_A,
  DSPSURFLIVE_A,
  GEN8_PIPE_VBLANK,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  IRQ_PIPE_A,
  NUM_PIPES,
  PIPE_FRMCOUNT_A,
  PIPE_STRIDE,
  PIPECONF_A,
  PIPECONF_ENABLE,
  PIPECONF_STATE_ENABLE,
} from "./regs.ts";

/** The display engine. */
export class Display implements EventSink {
  /** Vblanks per pipe. */
  readonly vblanks: Float64Array = new Float64Array(NUM_PIPES);
  /** Completed flips per pipe. */
  readonly flips: Float64Array = new Float64Array(NUM_PIPES);
  /** Vblank period in ns. */
  readonly period: number;
  private readonly timer = new Float64Array(NUM_PIPES).fill(-1);
  private readonly armed = new Uint8Array(NUM_PIPES);

  /**
   * Creates the instance.
   * @param sim the simulation
   * @param regs the GPU's MMIO dword array
   * @param irq the interrupt unit
   * @param refreshHz refresh rate
   */
  constructor(
    private readonly sim: Sim,
    private readonly regs: Uint32Array,
    private readonly irq: IrqUnit,
    refreshHz: number,
  ) {
    this.period = Math.max(1, Math.round(1e9 / refreshHz));
  }

  /** PIPECONF was written with `value`. */
  pipeconf(pipe: number, value: number): void {
    const i = (PIPECONF_A + pipe * PIPE_STRIDE) >> 2;
    const on = (value & PIPECONF_ENABLE) !== 0;
    if (on && this.timer[pipe] < 0) {
      this.regs[i] |= PIPECONF_STATE_ENABLE;
      this.timer[pipe] = this.sim.schedule(this.period, this, pipe);
    } else if (!on && this.timer[pipe] >= 0) {
      this.regs[i] &= ~PIPECONF_STATE_ENABLE;
      this.sim.cancel(this.timer[pipe]);
      this.timer[pipe] = -1;
    }
  }

  /** DSPSURF was written: arm a flip for the next vblank. */
  surf(pipe: number): void {
    this.armed[pipe] = 1;
  }

  /** MI_DISPLAY_FLIP from a command stream: program DSPSURF and arm the flip. */
  commandFlip(pipe: number, surface: number): void {
    if (pipe < 0 || pipe >= NUM_PIPES) return;
    this.regs[(DSPSURF_A + pipe * PIPE_STRIDE) >> 2] = surface;
    this.armed[pipe] = 1;
  }

  /** True if the pipe is running. */
  enabled(pipe: number): boolean {
    return this.timer[pipe] >= 0;
  }

  /** Stops all timers (device reset). */
  reset(): void {
    for (let p = 0; p < NUM_PIPES; p++) {
      if (this.timer[p] >= 0) this.sim.cancel(this.timer[p]);
      this.timer[p] = -1;
      this.armed[p] = 0;
    }
  }

  /** @internal vblank of pipe `kind` */
  describeEvent(pipe: number): string {
    return `vblank of pipe ${String.fromCharCode(65 + pipe)}`;
  }

  /** @internal vblank of pipe `kind` */
  onEvent(pipe: number): void {
    const s = pipe * PIPE_STRIDE;
    this.timer[pipe] = this.sim.schedule(this.period, this, pipe);
    this.vblanks[pipe]++;
    this.regs[(PIPE_FRMCOUNT_A + s) >> 2]++;
    let bits = GEN8_PIPE_VBLANK;
    if (this.armed[pipe]) {
      this.armed[pipe] = 0;
      this.regs[(DSPSURFLIVE_A + s) >> 2] = this.regs[(DSPSURF_A + s) >> 2];
      this.flips[pipe]++;
      bits |= GEN9_PIPE_PLANE1_FLIP_DONE;
    }
    this.irq.raise(IRQ_PIPE_A + pipe, bits);
  }
}
