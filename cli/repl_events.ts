/**
 * Names for pending events in the REPL (`events`, `step`): which sink and kind means what, e.g.
 * "GvtScheduler kind 0" is "scheduler tick" and "Execlists kind 4" is "bcs execution done".
 * One describer per event-sink class, next to the constants it mirrors (named in the comment);
 * a test fails when a world has a sink this table does not know.
 * @module
 */

import { ENGINE_NAMES } from "../core/scenario.ts";
import type { World } from "../core/world.ts";

type Describe = (kind: number, arg: number, w: World) => string;

const vmOfVgpu = (w: World, id: number) =>
  w.vms.find((v) => v.vgpu?.id === id)?.spec.name ?? `vGPU ${id}`;
const engine = (e: number) => ENGINE_NAMES[e] ?? `engine ${e}`;

/** Event describers by sink class name. */
export const EVENT_DESCRIBERS: Readonly<Record<string, Describe>> = {
  // core/world.ts: EV_TIMELINE = 1, EV_SAMPLE = 2, EV_START = 3
  World: (k, a, w) =>
    k === 1
      ? `timeline event ${a + 1} (${w.scenario.timeline[a]?.action.kind ?? "?"})`
      : k === 2
      ? "metrics sample"
      : k === 3
      ? `start of VM ${w.vms[a]?.spec.name ?? a}`
      : `world event ${k}`,
  // core/gvt/sched.ts: EV_TICK = 0, EV_KICK = 1
  GvtScheduler: (k) => (k === 0 ? "scheduler tick" : k === 1 ? "scheduler kick" : `scheduler ${k}`),
  // core/gvt/dispatch.ts: EV_KICK = 0, EV_SUBMIT = 1 (arg: engine)
  Dispatcher: (k, a) => (k === 0 ? "dispatcher kick" : `submission to ${engine(a)} done`),
  // core/hw/execlist.ts: kind = engine * 4 + (EV_DONE = 0 | EV_HANG = 1 | EV_EFFECT = 2)
  Execlists: (k) =>
    `${engine(k >> 2)} ${
      ["execution done", "hang check", "memory effects"][k & 3] ?? `event ${k & 3}`
    }`,
  // core/gvt/display.ts: kind = vGPU id, arg = timer generation
  VirtualDisplay: (k, _a, w) => `virtual vblank of ${vmOfVgpu(w, k)}`,
  // core/hw/display.ts: kind = pipe
  Display: (k) => `vblank of pipe ${String.fromCharCode(65 + k)}`,
  // core/mpt/context.ts: EV_TIMER = 0 (arg: slot), EV_MSI = 1 (arg: vGPU id)
  SimBackendContext: (k, a, w) =>
    k === 0 ? `backend timer ${a}` : `MSI delivery to ${vmOfVgpu(w, a)}`,
  // core/guest/driver.ts: the interrupt handler, resumed by its events
  GuestDriver: () => "guest interrupt handler",
  // core/workload/runner.ts (a Resumable): wakes the workload interpreter
  WorkloadRunner: () => "workload step",
};

/** What a pending event is, in words (the sink and kind when the table does not know it). */
export function describeEvent(
  w: World,
  e: { sink: string; kind: number; arg: number },
): string {
  const d = EVENT_DESCRIBERS[e.sink];
  return d ? `${d(e.kind, e.arg, w)} (${e.sink})` : `${e.sink} kind ${e.kind} arg ${e.arg}`;
}
