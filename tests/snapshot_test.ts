import assert from "node:assert/strict";
import { runScenario } from "../cli/run.ts";
import { ReplSession } from "../cli/repl.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { loadScenario } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import { Sim } from "../core/sim/sim.ts";
import {
  encodeSnapshot,
  makeSnapshot,
  restoreBackend,
  restoreInto,
  SNAPSHOT_VERSION,
  SNAPSHOT_VERSION_REPLAY,
  SnapshotError,
  type SnapshotFile,
  worldDigest,
} from "../core/snapshot.ts";
import { decodeSnapshot } from "../core/snapshot_decode.ts";
import { readCheckpoint, restoreWorld } from "../cli/repl_snapshot.ts";
import { packNumbers, unpackNumbers } from "../core/mpt/saved_state.ts";

const SCENARIO = "scenarios/weights.gvt";
const MIXED = "tests/fixtures/scenarios/snapshot_mixed.gvt";
const MS = 1e6;

/** Runs `f` counting the events the simulation dispatches meanwhile (any Sim). */
async function countingSteps<T>(f: () => Promise<T>): Promise<{ result: T; steps: number }> {
  const step = Sim.prototype.step;
  let steps = 0;
  Sim.prototype.step = function (this: Sim): boolean {
    steps++;
    return step.call(this);
  };
  try {
    return { result: await f(), steps };
  } finally {
    Sim.prototype.step = step;
  }
}

/** Plain run, checkpointed run and restored run of `file`: their results JSON and stderr. */
async function roundTrip(
  file: string,
  o: { hypervisor?: string; until: number; at: number },
): Promise<{ plain: string; ck: string; restored: string; ckErr: string; path: string }> {
  const dir = await Deno.makeTempDir();
  let ckErr = "";
  const base = {
    quiet: true,
    progress: false,
    out: () => {},
    until: o.until,
    ...(o.hypervisor ? { hypervisor: o.hypervisor } : {}),
  };
  await runScenario(file, { ...base, err: () => {}, json: `${dir}/plain.json` });
  await runScenario(file, {
    ...base,
    err: (s) => void (ckErr += s),
    json: `${dir}/ck.json`,
    checkpointAt: o.at,
    checkpoint: `${dir}/c.ckpt`,
  });
  // a plugin checkpoint restores only with the plugin file named again (its hash is checked)
  await runScenario("", {
    restore: `${dir}/c.ckpt`,
    json: `${dir}/restored.json`,
    quiet: true,
    progress: false,
    out: () => {},
    err: () => {},
    ...(o.hypervisor ? { hypervisor: o.hypervisor } : {}),
  });
  const read = (n: string) => Deno.readTextFile(`${dir}/${n}`);
  return {
    plain: await read("plain.json"),
    ck: await read("ck.json"),
    restored: await read("restored.json"),
    ckErr,
    path: `${dir}/c.ckpt`,
  };
}

async function run(
  args: Parameters<typeof runScenario>[1],
): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const r = await runScenario(SCENARIO, {
    quiet: true,
    progress: false,
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    ...args,
  });
  return { code: r.code, out, err };
}

Deno.test("snapshot: run --checkpoint-at then --restore gives byte-identical results JSON", async () => {
  const dir = await Deno.makeTempDir();
  const plain = await run({ until: 150 * MS, json: `${dir}/plain.json` });
  const ck = await run({
    until: 150 * MS,
    json: `${dir}/ck.json`,
    checkpointAt: 60 * MS,
    checkpoint: `${dir}/c.ckpt`,
  });
  assert.equal(ck.code, plain.code);
  assert.equal(ck.err, "", "kvm serialises its state: no replay note");
  const restored = await runScenario("", {
    restore: `${dir}/c.ckpt`,
    json: `${dir}/restored.json`,
    quiet: true,
    progress: false,
    out: () => {},
    err: (s) => assert.fail(s),
  });
  assert.equal(restored.code, plain.code);
  const a = await Deno.readTextFile(`${dir}/plain.json`);
  assert.equal(
    await Deno.readTextFile(`${dir}/ck.json`),
    a,
    "taking a checkpoint does not perturb the run",
  );
  assert.equal(
    await Deno.readTextFile(`${dir}/restored.json`),
    a,
    "restore-then-continue equals the uninterrupted run",
  );
  assert.equal(JSON.parse(a).simulatedNs, 150 * MS);

  const snap = readCheckpoint(`${dir}/c.ckpt`) as SnapshotFile;
  assert.equal(snap.format, "gvtsim-snapshot");
  assert.equal(snap.version, SNAPSHOT_VERSION);
  assert.ok(snap.heap && snap.heap.objects.length > 100);
  assert.equal(snap.heap.objects[0].p, "w");
  assert.equal(snap.checkpoint.t, 60 * MS);
  assert.equal(snap.seed, 42);
  assert.deepEqual(snap.overrides, { until: 150 * MS });
  assert.deepEqual(Object.keys(snap.scenario.sources), [SCENARIO]);
  assert.equal(snap.scenario.sources[SCENARIO], await Deno.readTextFile(SCENARIO));
  assert.match(snap.digest, /^fnv1a64:[0-9a-f]{16}$/);
  assert.deepEqual(Object.keys(snap.parts), [
    "sim",
    "rng",
    "memory",
    "ggtt",
    "gpu",
    "iommu",
    "vgpus",
    "mediator",
    "backend",
  ]);
  assert.equal(snap.backend.name, "kvm");
  assert.equal(snap.backend.serialisable, true);
  assert.deepEqual(Object.keys(snap.backend.states), ["1", "2"]);
  assert.deepEqual(Object.keys(snap.backend.infos ?? {}), ["1", "2"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot: heap restores re-simulate nothing, whatever the checkpoint time", async () => {
  const dir = await Deno.makeTempDir();
  const scenario = loadScenario(SCENARIO).scenario!;
  for (const t of [40 * MS, 100 * MS]) {
    const w = await World.create(scenario) as World;
    w.run(t);
    const snap = makeSnapshot(w, {
      file: SCENARIO,
      sources: { [SCENARIO]: await Deno.readTextFile(SCENARIO) },
    });
    assert.equal(snap.version, SNAPSHOT_VERSION);
    const { result, steps } = await countingSteps(() => restoreWorld(snap));
    assert.ok(!(result instanceof SnapshotError), String((result as SnapshotError).message));
    assert.equal(steps, 0, `restoring at ${t} ns dispatches no event`);
    assert.equal(result.replayed, false);
    assert.equal(result.world.sim.dispatched, snap.checkpoint.dispatched);
    assert.equal(result.world.sim.now, t);
    assert.equal(worldDigest(result.world).digest, snap.digest);
    w.run(t + 30 * MS);
    result.world.run(t + 30 * MS);
    assert.equal(
      JSON.stringify(collectResults(result.world)),
      JSON.stringify(collectResults(w)),
      `continuing from ${t} ns`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot: a heap restore builds only the hosts and attaches each vGPU's backend handle once", async () => {
  const dir = await Deno.makeTempDir();
  const plugin = "tests/fixtures/counting_backend.ts";
  const g = globalThis as { countingBackend?: { attach: number; detach: number } };
  const ck = await run({
    until: 120 * MS,
    hypervisor: plugin,
    json: `${dir}/ck.json`,
    checkpointAt: 50 * MS,
    checkpoint: `${dir}/c.ckpt`,
  });
  assert.equal(ck.err, "", "the backend saves its state: a heap snapshot");
  assert.equal(g.countingBackend?.attach, 2, "the run attached its two vGPUs");
  g.countingBackend = { attach: 0, detach: 0 };
  const restored = await runScenario("", {
    restore: `${dir}/c.ckpt`,
    hypervisor: plugin,
    json: `${dir}/restored.json`,
    quiet: true,
    progress: false,
    out: () => {},
    err: (s) => assert.fail(s),
  });
  assert.equal(restored.code, ck.code);
  assert.deepEqual(g.countingBackend, { attach: 2, detach: 0 }, "no handle attached to be dropped");
  assert.equal(
    await Deno.readTextFile(`${dir}/restored.json`),
    await Deno.readTextFile(`${dir}/ck.json`),
  );
  // the world restored from the heap was built without VMs; by replay (another trace
  // setting than the checkpoint's), in full
  const snap = readCheckpoint(`${dir}/c.ckpt`) as SnapshotFile;
  const heap = await restoreWorld(snap, { plugin });
  const replayed = await restoreWorld(snap, { plugin, trace: true });
  assert.ok(!(heap instanceof SnapshotError) && !(replayed instanceof SnapshotError));
  assert.deepEqual([heap.replayed, heap.world.restoreOnly], [false, true]);
  assert.deepEqual([replayed.replayed, replayed.world.restoreOnly], [true, false]);
  assert.equal(worldDigest(heap.world).digest, worldDigest(replayed.world).digest);
  delete g.countingBackend;
  await Deno.remove(dir, { recursive: true });
});

for (const hypervisor of ["kvm", "xen"]) {
  Deno.test(`snapshot: ${hypervisor}: faults, misbehaviour and life-cycle changes before the checkpoint; restored run is byte-identical`, async () => {
    const r = await roundTrip(MIXED, { hypervisor, until: 220 * MS, at: 100 * MS });
    assert.equal(r.ckErr.includes("replay"), false, r.ckErr);
    assert.equal(r.ck, r.plain, "taking the checkpoint does not perturb the run");
    assert.equal(r.restored, r.plain, "the restored run continues exactly");
    const snap = readCheckpoint(r.path) as SnapshotFile;
    assert.equal(snap.version, SNAPSHOT_VERSION);
    assert.equal(snap.backend.name, hypervisor);
    const res = JSON.parse(r.plain);
    const evil = res.vms.find((v: { name: string }) => v.name === "evil");
    assert.ok(["failsafe", "crashed"].includes(evil.state), `evil is ${evil.state}`);
    await Deno.remove(r.path.replace(/\/c\.ckpt$/, ""), { recursive: true });
  });
}

Deno.test("snapshot: a backend without save/restore falls back to replay and is named", async () => {
  const r = await roundTrip(MIXED, {
    hypervisor: "tests/fixtures/minimal_backend.ts",
    until: 110 * MS,
    at: 70 * MS,
  });
  assert.equal(
    r.ckErr,
    "checkpoint restored by replay only: backend minimal cannot serialise its state (no save/restore)\n",
  );
  const snap = readCheckpoint(r.path) as SnapshotFile;
  assert.equal(snap.version, SNAPSHOT_VERSION_REPLAY);
  assert.equal(snap.heap, undefined);
  assert.equal(snap.backend.serialisable, false);
  assert.equal(r.ck, r.plain);
  assert.equal(r.restored, r.plain, "the replayed run continues exactly");
  await Deno.remove(r.path.replace(/\/c\.ckpt$/, ""), { recursive: true });
});

Deno.test("snapshot: a pending backend timer closure refuses the heap snapshot, naming the backend", async () => {
  const scenario = loadScenario(SCENARIO).scenario!;
  const w = await World.create(scenario) as World;
  w.run(10 * MS);
  w.ctx.after(5 * MS, () => w.ctx.count("flush"));
  const snap = makeSnapshot(w, { file: SCENARIO, sources: { [SCENARIO]: "" } });
  assert.equal(snap.version, SNAPSHOT_VERSION_REPLAY);
  assert.match(snap.replayReason!, /^backend kvm has 1 timer\(s\) set with after\(\) pending/);
  w.run(20 * MS);
  assert.equal(w.ctx.pendingTimers(), 0);
  assert.equal(
    makeSnapshot(w, { file: SCENARIO, sources: { [SCENARIO]: "" } }).version,
    SNAPSHOT_VERSION,
  );
});

Deno.test("snapshot: a REPL session's journal replays to the same state and continues identically", async () => {
  const dir = await Deno.makeTempDir();
  const script = [
    "run 40ms",
    "pause light",
    "step",
    "step",
    "weight heavy 8",
    "run 7ms",
    "resume light",
    "mmio heavy RCS_IMR 0xfffe0000",
    "until switch",
  ];
  const a = new ReplSession(), b = new ReplSession();
  for (const s of [a, b]) {
    assert.match(await s.exec(`load ${SCENARIO}`), /^loaded/);
    for (const line of script) assert.doesNotMatch(await s.exec(line), /^error/, line);
  }
  const saved = await a.exec(`save ${dir}/s.ckpt`);
  assert.match(
    saved,
    /^saved checkpoint at [\d.]+ms to .*s\.ckpt \(4 journal entries, digest fnv1a64:[0-9a-f]{16}\)$/,
  );
  const c = new ReplSession();
  assert.match(
    await c.exec(`load ${dir}/s.ckpt`),
    /^restored weights at [\d.]+ms from .*: heap snapshot \(\d+ events not re-simulated\), digest verified$/,
  );
  // The same file as a replay checkpoint (a heap file holds the journal too).
  const asReplay = JSON.parse(await Deno.readTextFile(`${dir}/s.ckpt`));
  asReplay.version = SNAPSHOT_VERSION_REPLAY;
  delete asReplay.heap;
  await Deno.writeTextFile(`${dir}/r.ckpt`, encodeSnapshot(asReplay));
  const d = new ReplSession();
  assert.match(
    await d.exec(`load ${dir}/r.ckpt`),
    /^restored weights at [\d.]+ms from .*: 4 journal entries replayed, digest verified/,
  );
  assert.equal(c.world!.restoreOnly, true, "the heap was laid over a world of only its hosts");
  assert.equal(d.world!.restoreOnly, false, "a replay runs a world built in full");
  assert.equal(d.world!.sim.dispatched, a.world!.sim.dispatched);
  assert.equal(c.world!.sim.now, a.world!.sim.now);
  assert.equal(c.world!.sim.dispatched, a.world!.sim.dispatched);
  assert.deepEqual(c.journal, a.journal);
  for (const s of [a, b, c, d]) {
    await s.exec("weight light 3");
    s.world!.run(120 * MS);
  }
  const ra = JSON.stringify(collectResults(a.world!));
  assert.equal(JSON.stringify(collectResults(b.world!)), ra, "saving does not perturb the session");
  assert.equal(
    JSON.stringify(collectResults(c.world!)),
    ra,
    "the restored session continues identically",
  );
  assert.equal(JSON.stringify(collectResults(d.world!)), ra, "so does the replayed one");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot: tampered files are refused with a clear error", async () => {
  const dir = await Deno.makeTempDir();
  const s = new ReplSession();
  await s.exec(`load ${SCENARIO}`);
  await s.exec("run 30ms");
  await s.exec("weight heavy 6");
  await s.exec("run 5ms");
  await s.exec(`save ${dir}/ok.ckpt`);
  const good = JSON.parse(await Deno.readTextFile(`${dir}/ok.ckpt`));
  // Tampering as an attacker would: the edited file is encoded again, with its content digest
  // recomputed (anyone can), so what refuses it is the schema and the state checks.
  const write = async (name: string, f: (x: Record<string, unknown>) => void) => {
    const x = structuredClone(good);
    f(x);
    await Deno.writeTextFile(`${dir}/${name}`, encodeSnapshot(x as unknown as SnapshotFile));
    return `${dir}/${name}`;
  };
  type Rec = { p: string; f: Record<string, number> };
  const heapRec = (x: Record<string, unknown>, path: string): Rec =>
    (x.heap as { objects: Rec[] }).objects.find((r) => r.p === path)!;
  /** The first record whose path ends with `tail` (paths depend on the world's layout). */
  const heapRecEnding = (x: Record<string, unknown>, tail: string): Rec =>
    (x.heap as { objects: Rec[] }).objects.find((r) => r.p.endsWith(tail))!;
  /** The heap file as a replay checkpoint (it holds the journal too), then `f`. */
  const asReplay = (f: (x: Record<string, unknown>) => void) => (x: Record<string, unknown>) => {
    x.version = SNAPSHOT_VERSION_REPLAY;
    delete x.heap;
    f(x);
  };
  const cases: [string, (x: Record<string, unknown>) => void, RegExp][] = [
    [
      "digest",
      (x) => x.digest = "fnv1a64:0000000000000000",
      /^checkpoint digest mismatch at 35000000 ns: stored fnv1a64:0{16}, the restored state gives fnv1a64:[0-9a-f]{16}$/,
    ],
    [
      "version",
      (x) => x.version = 7, // the previous heap format (another digest)
      /checkpoint format version 7 is not supported \(this build reads versions 21 \(heap snapshot\) and 22 \(replay\); older checkpoints had another digest/,
    ],
    [
      "format",
      (x) => x.format = "other",
      /not a checkpoint file \(it must start with the 'gvtsim-snapshot' header\)/,
    ],
    ["noheap", (x) => delete x.heap, /heap checkpoint: heap has no records/],
    [
      "plugin-path",
      (x) => (x.overrides as Record<string, string>).hypervisor = "./evil.gvt",
      /^checkpoint overrides are malformed$/,
    ],
    [
      "plugin-hash",
      (x) =>
        (x.backend as Record<string, unknown>).plugin = { sha256: "ab".repeat(32), file: "x.ts" },
      /^the checkpoint was taken with a plugin file \(x\.ts, sha256 abababababababab\.\.\.\): name that file/,
    ],
    [
      "plugin-name",
      (x) => (x.backend as Record<string, unknown>).plugin = { builtin: "../../tmp/evil" },
      /^checkpoint backend record names no built-in backend or plugin hash$/,
    ],
    [
      "sparse",
      (x) => (x.heap as { objects: unknown[] }).objects.push({ k: "sa", p: "w.x", n: 1e15, e: [] }),
      /^heap checkpoint: heap record \d+: sparse array length must be 0\.\.67108864$/,
    ],
    [
      "buffer",
      (x) =>
        (x.heap as { objects: unknown[] }).objects.push({ k: "b", p: "w.x", n: 2 ** 31, d: [] }),
      /^heap checkpoint: heap record \d+: buffer size must be 0\.\.268435456 bytes$/,
    ],
    [
      "type-confused",
      (x) => ((x.backend as { infos: Record<string, unknown> }).infos["1"] = "vm"),
      /^checkpoint vGPU description '1' is malformed$/,
    ],
    [
      "heap-sim",
      (x) => heapRec(x, "w.sim").f.dispatched += 1,
      /^checkpoint digest mismatch .* \(differs in: sim\)$/,
    ],
    [
      // the GGTT DMA table of a vGPU is one 64-bit fill (-1: unmapped) with mapped runs in it
      "heap-ggtt-dma",
      (x) => {
        const r = heapRecEnding(x, ".ggtt.dma.buffer") as unknown as {
          d: number[][];
        };
        const fill = r.d.find((sg) => sg.length === 4)!;
        fill[3] = (fill[3] ^ 1) >>> 0;
      },
      /^checkpoint digest mismatch .* \(differs in: vgpus\)$/,
    ],
    [
      "heap-base64",
      (x) => {
        const r = heapRecEnding(x, ".ggtt.guest.buffer") as unknown as {
          d: [number, string][];
        };
        const raw = r.d.find((sg) => typeof sg[1] === "string")!;
        raw[1] = ` ${raw[1].slice(1)}`;
      },
      /^heap snapshot is malformed|bad buffer contents/,
    ],
    [
      // a function the world built for restoring lacks: the restore is tried again on a world
      // built in full (whose message this is), which lacks it too
      "heap-function",
      (x) => {
        const objects = (x.heap as { objects: unknown[] }).objects;
        const vm = heapRec(x, "w.vms.0") as unknown as { f: Record<string, number>; r: unknown[] };
        vm.f.hook = 0;
        vm.r.push("hook", objects.length);
        objects.push({ k: "f", p: "w.vms.0.hook" });
      },
      /^heap snapshot is malformed: the function at w\.vms\.0\.hook \(used at w\.vms\.0\.hook\) has no counterpart in the rebuilt world$/,
    ],
    [
      "heap-class",
      (x) => (heapRec(x, "w") as unknown as { c: string }).c = "Nope",
      /^heap checkpoint: heap record 0: unknown class "Nope"$/,
    ],
    [
      "backend-state",
      (
        x,
      ) => ((x.backend as { states: Record<string, { msiCap: number }> }).states["1"].msiCap = 77),
      /^checkpoint digest mismatch .* \(differs in: backend\)$/,
    ],
    [
      // kvm's DMA cache, packed: one mapping's reference count changed, packed again
      "backend-dma",
      (x) => {
        const st = (x.backend as { states: Record<string, Record<string, unknown>> }).states["1"];
        const rows = Float64Array.from(unpackNumbers(st, "byGfn", 4));
        rows[3] += 1;
        st.byGfn = packNumbers(rows);
      },
      /^checkpoint digest mismatch .* \(differs in: backend\)$/,
    ],
    [
      "backend-dma-text",
      (x) => {
        const st = (x.backend as { states: Record<string, Record<string, unknown>> }).states["1"];
        st.byGfn = "u32:not base64!";
      },
      /^backend kvm refused its saved state: vGPU 1: saved byGfn is malformed$/,
    ],
    [
      "backend-dma-order",
      (x) => {
        const st = (x.backend as { states: Record<string, Record<string, unknown>> }).states["1"];
        st.byDma = packNumbers(new Float64Array([1e6]));
      },
      /^backend kvm refused its saved state: vGPU 1: saved byDma refers to no mapping$/,
    ],
    [
      "backend-bad",
      (x) => ((x.backend as { states: Record<string, unknown> }).states["1"] = 5),
      /^backend kvm refused its saved state: vGPU 1: saved state is not an object$/,
    ],
    [
      // a backend state nesting 33 levels (the limit is 32), anywhere in it
      "backend-deep",
      (x) => {
        const st = (x.backend as { states: Record<string, Record<string, unknown>> }).states["1"];
        let deep: unknown = 1;
        for (let i = 0; i < 32; i++) deep = i % 2 ? [deep] : { d: deep };
        st.extra = deep;
      },
      /^checkpoint backend state of vGPU 1 nests too deeply$/,
    ],
    [
      "replay-digest",
      asReplay((x) => x.digest = "fnv1a64:0000000000000000"),
      /^checkpoint digest mismatch at 35000000 ns: stored fnv1a64:0{16}, replay gives fnv1a64:[0-9a-f]{16}$/,
    ],
    ["seed", asReplay((x) => x.seed = 43), /^checkpoint digest mismatch .* \(differs in: .*rng/],
    [
      "journal",
      // the action is derived again from the entry's text: editing the action object alone
      // changes nothing, editing the text changes what is replayed
      asReplay((x) => (x.journal as { text: string }[])[0].text = "weight heavy 7"),
      /^checkpoint digest mismatch .*differs in: .*vgpus/,
    ],
    [
      "journal-vm",
      asReplay((x) => (x.journal as { text: string }[])[0].text = "weight nobody 7"),
      /^checkpoint journal entry 1 \('weight nobody 7'\): unknown vm 'nobody'/,
    ],
    [
      "position",
      asReplay((x) => (x.checkpoint as { dispatched: number }).dispatched += 5),
      /^replay diverged: expected \d+ events by 35000000 ns/,
    ],
  ];
  for (const [name, f, re] of cases) {
    const path = await write(name, f);
    const snap = readCheckpoint(path);
    const err = snap instanceof SnapshotError ? snap : await restoreWorld(snap);
    assert.ok(err instanceof SnapshotError, `${name} is refused`);
    assert.match(err.message.replace(`${path}: `, ""), re, `${name}: ${err.message}`);
    assert.equal(err.message.split("\n").length, 1);
    if (name !== "digest" && name !== "seed") continue;
    const line = await s.exec(`load ${path}`);
    assert.match(line, /^error: /);
    assert.equal(line.split("\n").length, 1);
  }
  let err = "";
  const r = await runScenario("", {
    restore: `${dir}/digest`,
    quiet: true,
    progress: false,
    out: () => {},
    err: (x) => void (err += x),
  });
  assert.equal(r.code, 2);
  assert.match(err, /^.*digest: error: checkpoint digest mismatch at 35000000 ns/);
  assert.equal(err.trim().split("\n").length, 1);
  assert.ok(decodeSnapshot("{") instanceof SnapshotError);
  // damage without a recomputed digest: one changed byte
  const text = await Deno.readTextFile(`${dir}/ok.ckpt`);
  const damaged = decodeSnapshot(text.replace('"seed": 42', '"seed": 43'));
  assert.match(
    (damaged as SnapshotError).message,
    /^checkpoint content digest mismatch: the file was changed or damaged after it was written$/,
  );
  // the same, read from a file (its bytes are hashed as they are)
  await Deno.writeTextFile(`${dir}/damaged`, text.replace('"seed": 42', '"seed": 43'));
  assert.match(
    (readCheckpoint(`${dir}/damaged`) as SnapshotError).message,
    /damaged: checkpoint content digest mismatch: the file was changed or damaged/,
  );
  assert.ok(!(readCheckpoint(`${dir}/ok.ckpt`) instanceof SnapshotError));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot: the digest tracks the state; serialisable backends are saved and restored", async () => {
  const scenario = loadScenario(SCENARIO).scenario!;
  const w1 = await World.create(scenario) as World, w2 = await World.create(scenario) as World;
  w1.run(20 * MS);
  w2.run(20 * MS);
  assert.deepEqual(worldDigest(w1), worldDigest(w2));
  w2.sim.step();
  const d1 = worldDigest(w1), d2 = worldDigest(w2);
  assert.notEqual(d1.digest, d2.digest);
  assert.notEqual(d1.parts.sim, d2.parts.sim);

  const snap = makeSnapshot(w1, { file: SCENARIO, sources: { [SCENARIO]: "x" } });
  assert.equal(snap.backend.serialisable, true);
  const st = snap.backend.states["1"] as Record<string, unknown>;
  assert.equal(st.eventfd, true, "kvm's eventfd was installed at boot");
  assert.ok(typeof st.byGfn === "string" && st.byGfn.length > 0, "kvm's DMA cache is saved");
  assert.deepEqual(restoreBackend(w1, snap.backend), []);
  assert.deepEqual(worldDigest(w1), d1, "restoring a backend's own state changes nothing");
  const decoded = decodeSnapshot(encodeSnapshot(snap));
  assert.ok(!(decoded instanceof SnapshotError));
  assert.deepEqual(decoded, { ...snap, sha256: (decoded as SnapshotFile).sha256 });
  const busy = await World.create(scenario) as World;
  busy.run(MS);
  assert.match((restoreInto(busy, snap) as SnapshotError).message, /freshly built world/);
});
