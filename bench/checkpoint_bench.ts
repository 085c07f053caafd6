/**
 * Checkpoints worth taking (issue 15): scenarios/contention7.gvt (seven busy vGPUs) run from
 * 0 to 10 s, against a checkpoint taken at 5 s and restored to finish at 10 s. Every phase
 * runs in a fresh process (so each pays the same start-up and cold JIT), in rounds; it prints
 * per phase the median wall time and spread, the checkpoint's size, and the ratios the issue
 * asks for: restore-and-finish / full run (aim < 0.5), save / run to 5 s and restore / run to
 * 5 s (aim < 0.2 each).
 *
 *   deno run -A bench/checkpoint_bench.ts [--rounds 5] [--at 5] [--until 10] [--v8-flags F]
 *   deno run -A bench/checkpoint_bench.ts --warm [--warmup 2] [--rounds 5] [--at 5] [--until 10]
 *   deno run -A bench/checkpoint_bench.ts --restores N [--warmup 3] [--at 5] [--ckpt PATH]
 *   deno run -A bench/checkpoint_bench.ts --one full|save|restore AT UNTIL PATH   (one phase)
 *
 * `--warm` runs all phases in this one process instead, after warm-up rounds that are not
 * counted: a restore as the REPL's `load CK` or a long-lived worker does it, with code the
 * JIT has compiled already.
 *
 * `--restores N` takes one checkpoint at AT (or uses `--ckpt PATH`), then restores it N times
 * in this process after `warmup` uncounted restores (read + decode + rebuild + lay + digest,
 * nothing run): the warm restore alone, with its CPU and wall time, to compare two versions
 * of the restore path (give both the same `--ckpt` file when the format is unchanged).
 *
 * `--v8-flags F` runs every phase with those V8 flags (`deno run --v8-flags=F`), to see what a
 * flag does to the full run and the restored one alike.
 *
 * The machine is shared, so each figure is the process's CPU time (user + system, all its
 * threads), which moves much less with the load than wall time; wall time is printed too.
 * Phases (CPU ms, inside the process, module loading excluded):
 * - full: parse + build the world + run to UNTIL + collect results; `rest` is its own part
 *   from AT to UNTIL (with collecting), what a finish after a restore compares with.
 * - save: parse + build + run to AT (`toAt`), then make + encode + write the checkpoint
 *   (`save`).
 * - restore: read + decode + rebuild + lay the heap over it + verify the digest (`restore`),
 *   then run on to UNTIL + collect results (`finish`).
 */
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { readCheckpoint, restoreWorld, writeCheckpoint } from "../cli/repl_snapshot.ts";
import { SnapshotError } from "../core/snapshot.ts";
import process from "node:process";

const SCENARIO = new URL("../scenarios/contention7.gvt", import.meta.url).pathname;

/** What one phase measured (milliseconds). */
export interface PhaseRun {
  phase: string;
  /** Total CPU time of the phase. */
  ms: number;
  /** Its wall time. */
  wallMs: number;
  /** CPU time of its parts, by name. */
  parts: Record<string, number>;
  /** Checkpoint size in bytes (save only). */
  bytes?: number;
}

async function build(): Promise<World> {
  const text = Deno.readTextFileSync(SCENARIO);
  const r = parseScenarioText(text, SCENARIO);
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics, r.sources));
  const w = await World.create(r.scenario);
  if (w instanceof WorldError) throw new Error(w.message);
  return w;
}

/** Runs one phase in this process. */
export async function runPhase(
  phase: string,
  atS: number,
  untilS: number,
  path: string,
): Promise<PhaseRun> {
  const w0 = performance.now(), t0 = cpuMs();
  const wall = () => performance.now() - w0;
  if (phase === "full") {
    const w = await build();
    w.run(atS * 1e9);
    const t1 = cpuMs();
    w.run(untilS * 1e9);
    collectResults(w);
    const t2 = cpuMs();
    return { phase, ms: t2 - t0, wallMs: wall(), parts: { toAt: t1 - t0, rest: t2 - t1 } };
  }
  if (phase === "save") {
    const w = await build();
    w.run(atS * 1e9);
    const t1 = cpuMs();
    writeCheckpoint(path, w, {
      file: SCENARIO,
      sources: { [SCENARIO]: Deno.readTextFileSync(SCENARIO) },
      overrides: { until: untilS * 1e9 },
    });
    const t2 = cpuMs();
    return {
      phase,
      ms: t2 - t0,
      wallMs: wall(),
      parts: { toAt: t1 - t0, save: t2 - t1 },
      bytes: Deno.statSync(path).size,
    };
  }
  if (phase === "restore") {
    const snap = readCheckpoint(path);
    if (snap instanceof SnapshotError) throw new Error(snap.message);
    const r = await restoreWorld(snap);
    if (r instanceof SnapshotError) throw new Error(r.message);
    if (r.replayed) throw new Error("the checkpoint was restored by replay, not from its heap");
    const t1 = cpuMs();
    r.world.run(untilS * 1e9);
    collectResults(r.world);
    const t2 = cpuMs();
    return { phase, ms: t2 - t0, wallMs: wall(), parts: { restore: t1 - t0, finish: t2 - t1 } };
  }
  throw new Error(`unknown phase ${phase}`);
}

/** CPU time of this process so far (user + system, ms). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function arg(name: string, d: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : d;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[]) => `[${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}]`;

/** Medians and ratios of the rounds measured (`got`: figures by name, one per round). */
function report(got: Record<string, number[]>, atS: number, untilS: number): void {
  const m = (k: string) => median(got[k]);
  console.log(
    `medians (CPU): full ${m("full").toFixed(0)} ms ${
      spread(got.full)
    } (its ${atS} -> ${untilS} s ${m("fullRest").toFixed(0)} ms), run to ${atS} s ${
      m("toAt").toFixed(0)
    } ms, save ${m("save").toFixed(0)} ms ${spread(got.save)}, restore ${
      m("restore").toFixed(0)
    } ms ${spread(got.restore)}, finish ${m("finish").toFixed(0)} ms ${
      spread(got.finish)
    }; checkpoint ${(m("bytes") / 1e6).toFixed(2)} MB; wall: full ${
      m("wallFull").toFixed(0)
    } ms, restore + finish ${m("wallRestoreFinish").toFixed(0)} ms; load average ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
    }`,
  );
  console.log(
    `restore + finish / full run: ${(m("restoreFinish") / m("full")).toFixed(2)} (aim < 0.5); ` +
      `save / run to ${atS} s: ${(m("save") / m("toAt")).toFixed(2)}; restore / run to ${atS} s: ${
        (m("restore") / m("toAt")).toFixed(2)
      } (aim < 0.2 each); finish after restore / the full run's own ${atS} -> ${untilS} s: ${
        (m("finish") / m("fullRest")).toFixed(2)
      }`,
  );
}

/** Adds one round's three phases to `got` and prints them as a row. */
function addRound(
  got: Record<string, number[]>,
  i: number,
  runs: Record<string, PhaseRun>,
): void {
  const add = (k: string, v: number) => (got[k] ??= []).push(v);
  const f = runs.full, s = runs.save, r = runs.restore;
  add("full", f.ms);
  add("fullRest", f.parts.rest);
  add("toAt", s.parts.toAt);
  add("save", s.parts.save);
  add("restore", r.parts.restore);
  add("finish", r.parts.finish);
  add("bytes", s.bytes ?? 0);
  add("restoreFinish", r.ms);
  add("wallFull", f.wallMs);
  add("wallRestoreFinish", r.wallMs);
  console.log(
    [
      String(i + 1).padStart(14),
      f.ms.toFixed(0).padStart(6),
      f.parts.rest.toFixed(0).padStart(6),
      s.parts.toAt.toFixed(0).padStart(7),
      s.parts.save.toFixed(0).padStart(7),
      r.parts.restore.toFixed(0).padStart(8),
      r.parts.finish.toFixed(0).padStart(7),
      ((s.bytes ?? 0) / 1e6).toFixed(2).padStart(9),
      `   (${f.wallMs.toFixed(0)} ${s.wallMs.toFixed(0)} ${r.wallMs.toFixed(0)})`,
    ].join(" "),
  );
}

const HEADER =
  "CPU ms:  round   full  (rest)  to-at    save  restore  finish   size MB   (wall ms: full save restore+finish)";

/** The phases of a round, rotated so no phase always runs on a warmer machine or heap. */
function roundOrder(i: number): string[] {
  const order = ["full", "save", "restore"];
  const rot = [...order.slice(i % 2), ...order.slice(0, i % 2)];
  if (rot[0] === "restore") rot.push(rot.shift()!); // restore needs this round's save
  return rot;
}

async function rounds(n: number, atS: number, untilS: number, v8Flags: string): Promise<void> {
  const self = new URL(import.meta.url).pathname;
  const v8 = v8Flags ? [`--v8-flags=${v8Flags}`] : [];
  const path = Deno.makeTempFileSync({ suffix: ".ckpt.json" });
  const one = async (phase: string): Promise<PhaseRun> => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...v8, self, "--one", phase, `${atS}`, `${untilS}`, path],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (!out.success || !line.startsWith("{")) throw new Error(`phase ${phase} failed`);
    return JSON.parse(line) as PhaseRun;
  };
  console.log(
    `checkpoint: contention7 (7 busy vGPUs), checkpoint at ${atS} s, run to ${untilS} s; ` +
      `each phase a fresh process (${navigator.hardwareConcurrency} cores, deno ${Deno.version.deno}` +
      `${v8Flags ? `, V8 flags ${v8Flags}` : ""})`,
  );
  console.log(HEADER);
  const got: Record<string, number[]> = {};
  try {
    for (let i = 0; i < n; i++) {
      const runs: Record<string, PhaseRun> = {};
      for (const p of roundOrder(i)) runs[p] = await one(p);
      addRound(got, i, runs);
    }
  } finally {
    Deno.removeSync(path);
  }
  report(got, atS, untilS);
}

/**
 * `--warm`: every phase in this one process, as the REPL's `load CK` or a long-lived worker
 * restores: `warmup` rounds to warm the code up (not counted), then `n` rounds.
 */
async function warmRounds(n: number, warmup: number, atS: number, untilS: number): Promise<void> {
  const path = Deno.makeTempFileSync({ suffix: ".ckpt.json" });
  console.log(
    `checkpoint: contention7 (7 busy vGPUs), checkpoint at ${atS} s, run to ${untilS} s; ` +
      `all phases in one process after ${warmup} warm-up rounds (${navigator.hardwareConcurrency} ` +
      `cores, deno ${Deno.version.deno})`,
  );
  console.log(HEADER);
  const got: Record<string, number[]> = {};
  try {
    for (let i = -warmup; i < n; i++) {
      const runs: Record<string, PhaseRun> = {};
      for (const p of roundOrder(i + warmup)) runs[p] = await runPhase(p, atS, untilS, path);
      if (i >= 0) addRound(got, i, runs);
    }
  } finally {
    Deno.removeSync(path);
  }
  report(got, atS, untilS);
}

/** `--restores`: the warm restore alone, `n` times after `warmup` uncounted ones. */
async function restoreRounds(n: number, warmup: number, atS: number, given: string): Promise<void> {
  const path = given || Deno.makeTempFileSync({ suffix: ".ckpt.json" });
  try {
    if (!given) await runPhase("save", atS, atS, path);
    const cpu: number[] = [], wall: number[] = [];
    for (let i = -warmup; i < n; i++) {
      const w0 = performance.now(), t0 = cpuMs();
      const snap = readCheckpoint(path);
      if (snap instanceof SnapshotError) throw new Error(snap.message);
      const r = await restoreWorld(snap);
      if (r instanceof SnapshotError) throw new Error(r.message);
      if (r.replayed) throw new Error("the checkpoint was restored by replay, not from its heap");
      if (i >= 0) {
        cpu.push(cpuMs() - t0);
        wall.push(performance.now() - w0);
      }
    }
    console.log(
      `warm restore of ${given || `contention7 at ${atS} s`} (${
        Deno.statSync(path).size
      } bytes), ` +
        `${n} restores after ${warmup}: CPU ${median(cpu).toFixed(1)} ms ${spread(cpu)}, wall ${
          median(wall).toFixed(1)
        } ms ${spread(wall)}; load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
    );
  } finally {
    if (!given) Deno.removeSync(path);
  }
}

if (import.meta.main) {
  const one = Deno.args.indexOf("--one");
  if (one >= 0) {
    const [phase, at, until, path] = Deno.args.slice(one + 1);
    console.log(JSON.stringify(await runPhase(phase, Number(at), Number(until), path)));
  } else {
    const n = Number(arg("--rounds", "5")), at = Number(arg("--at", "5"));
    const until = Number(arg("--until", "10"));
    if (Deno.args.includes("--restores")) {
      await restoreRounds(
        Number(arg("--restores", "20")),
        Number(arg("--warmup", "3")),
        at,
        arg("--ckpt", ""),
      );
    } else if (Deno.args.includes("--warm")) {
      await warmRounds(n, Number(arg("--warmup", "2")), at, until);
    } else await rounds(n, at, until, arg("--v8-flags", ""));
  }
}
