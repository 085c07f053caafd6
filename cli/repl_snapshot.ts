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
import { CHECKPOINT_LIMITS, decodeSnapshot } from "../core/snapshot_decode.ts";
import { SnippetError, timelineAction } from "./snippet.ts";
import {
  backendNote,
  encodeSnapshotBytes,
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
    if (!Object.hasOwn(sources, p)) throw new Error(`'${p}' is not in the checkpoint`);
    return sources[p];
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

/** A written checkpoint: its digest and the notes to show (why it fell back to replay). */
export interface WrittenCheckpoint {
  /** The state digest recorded. */
  digest: string;
  /** Notes for the user. */
  notes: string[];
}

/** Writes a checkpoint file atomically. */
export function writeCheckpoint(
  path: string,
  world: World,
  input: {
    file: string;
    sources: ReadonlyMap<string, string> | Record<string, string>;
    overrides?: { until?: number };
    journal?: readonly JournalEntry[];
  },
): WrittenCheckpoint {
  const snap = makeSnapshot(world, input);
  writeAtomic(path, encodeSnapshotBytes(snap));
  const note = backendNote(snap);
  return { digest: snap.digest, notes: note ? [note] : [] };
}

/**
 * Reads and validates a checkpoint file: a regular file of at most
 * {@link CHECKPOINT_LIMITS}.fileBytes, checked before it is read, then decoded against the
 * schema (core/snapshot_decode.ts).
 */
export function readCheckpoint(path: string): SnapshotFile | SnapshotError {
  let bytes: Uint8Array;
  try {
    const st = Deno.statSync(path);
    if (!st.isFile) return new SnapshotError(`${path}: not a regular file`);
    if (st.size > CHECKPOINT_LIMITS.fileBytes) {
      return new SnapshotError(
        `${path}: larger than the ${
          CHECKPOINT_LIMITS.fileBytes / 1024 / 1024
        } MiB a checkpoint may be`,
      );
    }
    bytes = Deno.readFileSync(path);
  } catch (e) {
    return new SnapshotError(
      `cannot read '${path}': ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const s = decodeSnapshot(bytes);
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
 * Checks the journal against the scenario: a timeline entry's action is derived again from
 * its text by the DSL (the stored action object is not trusted); an MMIO write must name a
 * VM of the scenario. Returns the journal to replay.
 */
function verifyJournal(
  snap: SnapshotFile,
  scenario: Scenario,
): JournalEntry[] | SnapshotError {
  const ctx = {
    file: snap.scenario.file,
    sources: new Map(Object.entries(snap.scenario.sources)),
    seed: snap.seed,
  };
  const out: JournalEntry[] = [];
  for (const [i, e] of snap.journal.entries()) {
    if (e.action.kind === "mmio") {
      const vm = e.action.vm;
      if (!scenario.vms.some((v) => v.name === vm)) {
        return new SnapshotError(
          `checkpoint journal entry ${i + 1}: no VM '${vm}' in the scenario`,
        );
      }
      out.push(e);
      continue;
    }
    const action = timelineAction(ctx, e.text);
    if (action instanceof SnippetError) {
      return new SnapshotError(
        `checkpoint journal entry ${i + 1} ('${e.text}'): ${action.message}`,
      );
    }
    out.push({ ...e, action: { kind: "timeline", action } });
  }
  return out;
}

/**
 * Which backend code a restore may run: the built-in backend the checkpoint names, or the
 * plugin file the user names (`plugin`), whose content hash must be the recorded one. The
 * scenario's own `hypervisor "path"` is never used: a checkpoint does not name code.
 */
function backendFor(
  snap: SnapshotFile,
  plugin: string | undefined,
): { hypervisor: string; pluginSha256?: string } | SnapshotError {
  const rec = snap.backend.plugin;
  if ("builtin" in rec) {
    if (plugin !== undefined && plugin !== rec.builtin) {
      return new SnapshotError(
        `the checkpoint was taken with the built-in backend ${rec.builtin}, not '${plugin}'`,
      );
    }
    return { hypervisor: rec.builtin };
  }
  if (plugin === undefined) {
    return new SnapshotError(
      `the checkpoint was taken with a plugin file (${rec.file}, sha256 ${
        rec.sha256.slice(0, 16)
      }...): name that file to restore it (run --restore CK --hypervisor PATH, REPL load CK PATH)`,
    );
  }
  return { hypervisor: plugin, pluginSha256: rec.sha256 };
}

/**
 * Rebuilds the world of a checkpoint and brings it to the checkpoint (digest verified): a heap
 * snapshot by laying its data over the rebuilt world, a replay checkpoint by replaying it.
 * Everything in the file is checked first — the scenario sources by the DSL, the journal, the
 * backend to load — and only then is a backend imported and a world built.
 * A heap snapshot taken with a trace recording (or without) restores into a world built the
 * same way; asking for the other (`trace`) restores it by replay instead.
 */
export async function restoreWorld(
  snap: SnapshotFile,
  opts: { trace?: boolean; plugin?: string } = {},
): Promise<RestoredWorld | SnapshotError> {
  const scenario = scenarioFromSources(snap.scenario.file, snap.scenario.sources, snap.seed);
  if (scenario instanceof SnapshotError) return scenario;
  const journal = verifyJournal(snap, scenario);
  if (journal instanceof SnapshotError) return journal;
  const backend = backendFor(snap, opts.plugin);
  if (backend instanceof SnapshotError) return backend;
  const checked: SnapshotFile = { ...snap, journal };
  const heapTrace = heapHasTrace(checked);
  const trace = opts.trace ?? heapTrace;
  const replayed = heapTrace === undefined || trace !== heapTrace;
  // The heap holds the world's scenario too: it must be the one the DSL checked (its limits).
  const sourced = replayed ? "" : scenarioText(scenario);
  // A heap snapshot is laid over a world with only its hosts built (it brings the rest); one
  // that needs a part only a full build has is laid over a full world instead.
  let world: World | WorldError | undefined, err: SnapshotError | undefined;
  for (const restoreOnly of replayed ? [false] : [true, false]) {
    world = await World.create(scenario, { seed: snap.seed, trace, ...backend, restoreOnly });
    if (world instanceof WorldError) return new SnapshotError(world.message);
    err = restoreInto(world, checked, { replay: replayed });
    if (!err?.rebuild) break;
  }
  if (err) return err;
  if (!replayed && scenarioText((world as World).scenario) !== sourced) {
    return new SnapshotError(
      "heap checkpoint: the scenario in its heap is not the one its sources describe",
    );
  }
  return { world: world as World, scenario, snapshot: checked, replayed };
}

/**
 * A scenario as text for comparison, without its hosts' backend names: a checkpoint's backend
 * is the one it records, whatever its sources name (see {@link backendFor}).
 */
function scenarioText(s: Scenario): string {
  return JSON.stringify(s, (k, v) => k === "hypervisor" ? { ...v, name: "" } : v);
}

/** Whether a heap snapshot's world recorded a trace (undefined for replay checkpoints). */
function heapHasTrace(snap: SnapshotFile): boolean | undefined {
  const world = snap.heap?.objects[0];
  if (world === undefined || world.k !== "o") return undefined;
  return world.r?.includes("trace") === true; // a reference to the trace recording
}

/**
 * A checkpoint writer for `run --checkpoint-at T --checkpoint PATH`: writes the scenario's
 * sources as loaded (`--fault` rules included) and the world when called with it at T.
 */
export function checkpointWriter(
  scenarioPath: string,
  sources: ReadonlyMap<string, string>,
  out: string,
  o: { until?: number },
  note: (s: string) => void,
): (world: World) => string | undefined {
  return (world) => {
    try {
      // Records that settled go to the trace file now: the checkpoint holds only the rest.
      world.trace?.settle();
      const w = writeCheckpoint(out, world, {
        file: scenarioPath,
        sources,
        overrides: { until: o.until },
      });
      for (const n of w.notes) note(`${n}\n`);
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
    /** The plugin file a plugin checkpoint was taken with (`--hypervisor PATH`). */
    plugin?: string;
    /** Called with the restored world before it runs on (e.g. to stream its trace). */
    onWorld?: (world: World) => void;
  },
): Promise<{ world: World; results: Results } | WorldError> {
  const snap = readCheckpoint(path);
  if (snap instanceof SnapshotError) return new WorldError(snap.message);
  const r = await restoreWorld(snap, { trace: opts.trace, plugin: opts.plugin });
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
