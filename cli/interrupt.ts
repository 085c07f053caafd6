/**
 * Ctrl-C as data. A command that can stop cleanly polls {@link Interrupts.requested} between
 * chunks of work ({@link runInterruptibly} runs a world in slices and turns the event loop
 * between them, so the signal is seen); the first Ctrl-C asks it to stop, a second one (or
 * one while nothing polls) ends the process at once. Either way no output file is left half
 * written: staged temporary files are removed and the files they would replace stay as they
 * were (cli/output.ts).
 * @module
 */

import type { World } from "../core/world.ts";
import { discardAllStaged } from "./output.ts";

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** A source of stop requests (Ctrl-C, or a test). */
export interface Interrupts {
  /** True once a stop was asked for and not yet {@link Interrupts.clear}ed. */
  requested(): boolean;
  /** Forgets a handled request (the REPL goes on after an interrupted `run`). */
  clear(): void;
  /** Asks for a stop (a terminal's Ctrl-C key, which reaches readline, not a signal). */
  request(): void;
}

/** Interrupts nobody sends (library and test use). */
export const NO_INTERRUPTS: Interrupts = {
  requested: () => false,
  clear: () => {},
  request: () => {},
};

/**
 * Listens for SIGINT for the rest of the process. `polling()` says whether a command is
 * currently polling; when it is not, or a request is already pending, Ctrl-C removes staged
 * outputs and exits with {@link EXIT_INTERRUPTED}.
 */
export function listenForCtrlC(polling: () => boolean = () => true): Interrupts {
  let flag = false;
  try {
    Deno.addSignalListener("SIGINT", () => {
      if (flag || !polling()) {
        discardAllStaged();
        Deno.exit(EXIT_INTERRUPTED);
      }
      flag = true;
    });
  } catch {
    // no signals on this platform: Ctrl-C keeps its default meaning
  }
  return {
    requested: () => flag,
    clear: () => void (flag = false),
    request: () => void (flag = true),
  };
}

/** Lets pending events (a signal, a key press) be handled. */
export function turnEventLoop(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** Wall-clock time between two turns of the event loop while running (ms). */
const TURN_MS = 40;

let lastTurn = 0;

/**
 * Called often from a long computation: every {@link TURN_MS} of wall time it turns the event
 * loop (a turn costs milliseconds, so not more often) and says whether a stop was requested.
 */
export async function pollStop(interrupts: Interrupts): Promise<boolean> {
  if (performance.now() - lastTurn < TURN_MS) return false;
  await turnEventLoop();
  lastTurn = performance.now();
  return interrupts.requested();
}

/**
 * Runs `world` up to `until` (ns) in slices, turning the event loop every {@link TURN_MS} of
 * wall time so a Ctrl-C is seen, and stops early, between two slices, when a stop is
 * requested. The slice length adapts to the wall time a slice takes; slicing does not change
 * the simulation (each slice is a plain `world.run(t)`). Returns false when interrupted.
 */
export async function runInterruptibly(
  world: World,
  until: number,
  o: {
    interrupts?: Interrupts;
    /** Called after each slice with the time reached. */
    onSlice?: (t: number) => void;
  } = {},
): Promise<boolean> {
  let slice = Math.max(1000, Math.min(1e6, Math.floor((until - world.sim.now) / 100)));
  for (let t = world.sim.now; t < until;) {
    t = Math.min(until, t + slice);
    const t0 = performance.now();
    world.run(t);
    const took = performance.now() - t0;
    if (took < TURN_MS / 8) slice *= 2;
    else if (took > TURN_MS) slice = Math.max(1000, Math.floor(slice / 2));
    o.onSlice?.(t);
    if (o.interrupts && await pollStop(o.interrupts)) return false;
  }
  return true;
}
