/**
 * Pending events in words for the REPL (`events`, `step`): each event sink describes its own
 * events next to its event constants (`EventSink.describeEvent`); here a vGPU id is given its
 * VM's name.
 * @module
 */

import type { EventSink } from "../core/sim/sim.ts";
import type { World } from "../core/world.ts";

/** What a pending event is, in words, with its sink's class name. */
export function describeEvent(
  w: World,
  e: { sink: string; kind: number; arg: number; target: EventSink },
): string {
  const text = e.target.describeEvent?.(e.kind, e.arg);
  if (text === undefined) return `${e.sink} kind ${e.kind} arg ${e.arg}`;
  const named = text.replace(/vGPU (\d+)/, (m, id) => {
    const vm = w.vms.find((v) => v.vgpu?.id === Number(id));
    return vm ? `${m} (${vm.spec.name})` : m;
  });
  return `${named} (${e.sink})`;
}
