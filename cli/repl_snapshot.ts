/**
 * Checkpoint files on disk for the CLI and the REPL: write a checkpoint of a running world,
 * read one back, rebuild the world from the stored scenario sources and bring it to the
 * checkpoint (see core/snapshot.ts for heap snapshots, replay and the digest), and
 * `run --restore`.
 * @module
 */

import { DEFINES_FILE, formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import type { Scenario } from "../core/scenario.ts";
import { World, WorldError } from "../core/world.ts";
import type { Results } from "../core/metrics/results.ts";
import {
  backendNote,
  decodeSnapshot,
  encodeSnapshot,
  type JournalEntry,
  makeSnapshot,
  restoreInto,
  SnapshotError,
  type SnapshotFile,
} from "../core/snapshot.ts";
import type { Progress } from "./progress.ts";
import { type Interrupts, runInterruptibly } from "./interrupt.ts";
import { writeAtomic } from "./output.ts";
import { finish, interruptedAt } from "./run.ts";

/** Rebuilds a scenario from stored sources (includes are served from the same map). */
export function scenarioFromSources(
  file: string,
  sources: Record<string, string>,
  seed: number,
): Scenario | SnapshotError {
  const readFile = (p: string): string => {
    const s = sources[p];
    if (s === undefined) throw new Error(`'${p}' is not in the checkpoint`);
    return s;
  };
  // `-D` values are stored as the (-D) pseudo-source, one NAME=VALUE per line
  const defines = sources[DEFINES_FILE]?.split("\n");
  const r = parseScenarioText(sources[file], file, { readFile, seed, defines });
  if (!r.scenario) {
    const first = formatDiagnostics(r.diagnostics, r.sources).split("\n")[0] ?? "";
    return new SnapshotError(`the scenario stored in the checkpoint does not check: ${first}`);
  }
  return r.scenario;
}

/** Writes a checkpoint file; returns the notes to show (why it fell back to replay). */
export function writeCheckpoint(
  path: string,
  world: World,
  input: {
    file: string;
    sources: ReadonlyMap<string, string> | Record<string, string>;
    overrides?: { hypervisor?: string; until?: number };
    journal?: readonly JournalEntry[];
  },
): string[] {
  const snap = makeSnapshot(world, input);
  writeAtomic(path, encodeSnapshot(snap));
  const note = backendNote(snap);
  return note ? [note] : [];
}

/** Reads and validates a checkpoint file. */
export function readCheckpoint(path: string): SnapshotFile | SnapshotError {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    return new SnapshotError(
      `cannot read '${path}': ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const s = decodeSnapshot(text);
  return s instanceof SnapshotError ? new SnapshotError(`${path}: ${s.message}`) : s;
}

/** A world brought back to a checkpoint. */
export interface RestoredWorld {
  /** The world, at the checkpoint. */
  world: World;
  /** Its scenario (rebuilt from the stored sources). */
  scenario: Scenario;
  /** The checkpoint it came from. */
  snapshot: SnapshotFile;
  /** True when it was brought there by replay (not from a heap snapshot). */
  replayed: boolean;
}

/**
 * Rebuilds the world of a checkpoint and brings it to the checkpoint (digest verified): a heap
 * snapshot by laying its data over the rebuilt world, a replay checkpoint by replaying it.
 * A heap snapshot taken with a trace recording (or without) restores into a world built the
 * same way; asking for the other (`trace`) restores it by replay instead.
 */
export async function restoreWorld(
  snap: SnapshotFile,
  opts: { trace?: boolean } = {},
): Promise<RestoredWorld | SnapshotError> {
  const scenario = scenarioFromSources(snap.scenario.file, snap.scenario.sources, snap.seed);
  if (scenario instanceof SnapshotError) return scenario;
  const heapTrace = heapHasTrace(snap);
  const trace = opts.trace ?? heapTrace;
  const world = await World.create(scenario, {
    seed: snap.seed,
    hypervisor: snap.overrides.hypervisor,
    trace,
  });
  if (world instanceof WorldError) return new SnapshotError(world.message);
  const replayed = heapTrace === undefined || trace !== heapTrace;
  const err = restoreInto(world, snap, { replay: replayed });
  if (err) return err;
  return { world, scenario, snapshot: snap, replayed };
}

/** Whether a heap snapshot's world recorded a trace (undefined for replay checkpoints). */
function heapHasTrace(snap: SnapshotFile): boolean | undefined {
  const world = snap.heap?.objects[0];
  if (world === undefined || world.k !== "o") return undefined;
  return world.f.trace !== null && world.f.trace !== undefined;
}

/**
 * A checkpoint writer for `run --checkpoint-at T --checkpoint PATH`: writes the scenario's
 * sources as loaded (`--fault` rules included) and the world when called with it at T.
 */
export function checkpointWriter(
  scenarioPath: string,
  sources: ReadonlyMap<string, string>,
  out: string,
  o: { hypervisor?: string; until?: number },
  note: (s: string) => void,
): (world: World) => string | undefined {
  return (world) => {
    try {
      // Records that settled go to the trace file now: the checkpoint holds only the rest.
      world.trace?.settle();
      for (
        const n of writeCheckpoint(out, world, {
          file: scenarioPath,
          sources,
          overrides: { hypervisor: o.hypervisor, until: o.until },
        })
      ) note(`${n}\n`);
      return undefined;
    } catch (e) {
      return `cannot write checkpoint '${out}': ${e instanceof Error ? e.message : String(e)}`;
    }
  };
}

/**
 * `run --restore PATH`: rebuilds the world of a checkpoint, verifies it, and continues to the
 * end of the run (the checkpoint's `until` override, else the scenario's duration).
 */
export async function simulateRestored(
  path: string,
  opts: {
    until?: number;
    trace?: boolean;
    progress?: Progress;
    interrupts?: Interrupts;
    /** Called with the restored world before it runs on (e.g. to stream its trace). */
    onWorld?: (world: World) => void;
  },
): Promise<{ world: World; results: Results } | WorldError> {
  const snap = readCheckpoint(path);
  if (snap instanceof SnapshotError) return new WorldError(snap.message);
  const r = await restoreWorld(snap, { trace: opts.trace });
  if (r instanceof SnapshotError) return new WorldError(r.message);
  const { world, scenario } = r;
  const until = opts.until ?? snap.overrides.until ?? scenario.duration;
  if (until < world.sim.now) {
    return new WorldError(
      `the run ends at ${until} ns, before the checkpoint at ${world.sim.now} ns`,
    );
  }
  opts.onWorld?.(world);
  const start = world.sim.now;
  const done = await runInterruptibly(world, until, {
    interrupts: opts.interrupts,
    onSlice: (t) => opts.progress?.update((t - start) / Math.max(1, until - start)),
  });
  if (!done) return interruptedAt(world);
  opts.progress?.done();
  return { world, results: finish(world, scenario, until) };
}
