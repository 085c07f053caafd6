/**
 * Names for pending events in the REPL (`events`, `step`): which sink and kind means what, e.g.
 * "GvtScheduler kind 0" is "scheduler tick" and "Execlists kind 4" is "bcs execution done".
 * The names come from each sink's own table of event kinds (`WORLD_EVENTS`, `SCHED_EVENTS`,
 * ... keyed by the constants the sink schedules with); this module only says how to print an
 * event's arg, and names the sinks whose kind is an id (a vGPU, a pipe). A test fails when a
 * world has a sink this table does not know.
 * @module
 */

import { ENGINE_NAMES } from "../core/scenario.ts";
import { World, WORLD_EVENTS } from "../core/world.ts";
import { GvtScheduler, SCHED_EVENTS } from "../core/gvt/sched.ts";
import { DISPATCH_EVENTS, Dispatcher } from "../core/gvt/dispatch.ts";
import { EXECLIST_EVENTS, EXECLIST_TYPES, Execlists } from "../core/hw/execlist.ts";
import { CONTEXT_EVENTS, SimBackendContext } from "../core/mpt/context.ts";
import { VirtualDisplay } from "../core/gvt/display.ts";
import { Display } from "../core/hw/display.ts";
import { GuestDriver } from "../core/guest/driver.ts";
import { WorkloadRunner } from "../core/workload/runner.ts";
import type { EventArg, EventKind } from "../core/sim/sim.ts";

type Describe = (kind: number, arg: number, w: World) => string;

const vmOfVgpu = (w: World, id: number) =>
  w.vms.find((v) => v.vgpu?.id === id)?.spec.name ?? `vGPU ${id}`;
const engine = (e: number) => ENGINE_NAMES[e] ?? `engine ${e}`;

/** How each kind of arg is printed. */
const ARG: Readonly<Record<EventArg, (a: number, w: World) => string>> = {
  vm: (a, w) => w.vms[a]?.spec.name ?? `${a}`,
  vgpu: (a, w) => vmOfVgpu(w, a),
  engine: (a) => engine(a),
  timeline: (a, w) => `${a + 1} (${w.scenario.timeline[a]?.action.kind ?? "?"})`,
  slot: (a) => `${a}`,
};

/** An event kind of a sink's table, its arg filled in. */
function named(k: EventKind | undefined, a: number, w: World, unknown: string): string {
  if (!k) return unknown;
  return k.arg ? k.what.replace("%", ARG[k.arg](a, w)) : k.what;
}

/** A describer reading a sink's table of event kinds. */
const fromTable = (t: Readonly<Record<number, EventKind>>, sink: string): Describe => (k, a, w) =>
  named(t[k], a, w, `${sink} event ${k}`);

/** Event describers by sink class name. */
export const EVENT_DESCRIBERS: Readonly<Record<string, Describe>> = {
  [World.name]: fromTable(WORLD_EVENTS, "world"),
  [GvtScheduler.name]: fromTable(SCHED_EVENTS, "scheduler"),
  [Dispatcher.name]: fromTable(DISPATCH_EVENTS, "dispatcher"),
  [Execlists.name]: (k, a, w) =>
    `${engine((k / EXECLIST_TYPES) | 0)} ${
      named(EXECLIST_EVENTS[k % EXECLIST_TYPES], a, w, `event ${k % EXECLIST_TYPES}`)
    }`,
  [SimBackendContext.name]: fromTable(CONTEXT_EVENTS, "backend"),
  // kind = vGPU id, arg = timer generation
  [VirtualDisplay.name]: (k, _a, w) => `virtual vblank of ${vmOfVgpu(w, k)}`,
  // kind = pipe
  [Display.name]: (k) => `vblank of pipe ${String.fromCharCode(65 + k)}`,
  // the interrupt handler, resumed by its events
  [GuestDriver.name]: () => "guest interrupt handler",
  // a Resumable: wakes the workload interpreter
  [WorkloadRunner.name]: () => "workload step",
};

/** What a pending event is, in words (the sink and kind when the table does not know it). */
export function describeEvent(
  w: World,
  e: { sink: string; kind: number; arg: number },
): string {
  const d = EVENT_DESCRIBERS[e.sink];
  return d ? `${d(e.kind, e.arg, w)} (${e.sink})` : `${e.sink} kind ${e.kind} arg ${e.arg}`;
}
