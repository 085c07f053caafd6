import assert from "node:assert/strict";
import { runScenario } from "../cli/run.ts";
import { ReplSession } from "../cli/repl.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { loadScenario } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import {
  decodeSnapshot,
  encodeSnapshot,
  makeSnapshot,
  restoreBackend,
  restoreInto,
  SnapshotError,
  type SnapshotFile,
  worldDigest,
} from "../core/snapshot.ts";
import { readCheckpoint, restoreWorld } from "../cli/repl_snapshot.ts";

const SCENARIO = "scenarios/weights.gvt";
const MS = 1e6;

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
  const plain = await run({ until: 300 * MS, json: `${dir}/plain.json` });
  const ck = await run({
    until: 300 * MS,
    json: `${dir}/ck.json`,
    checkpointAt: 120 * MS,
    checkpoint: `${dir}/c.ckpt`,
  });
  assert.equal(ck.code, plain.code);
  assert.equal(ck.err, "backend kvm cannot serialise its state; restored by replay only\n");
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
  assert.equal(JSON.parse(a).simulatedNs, 300 * MS);

  const snap = readCheckpoint(`${dir}/c.ckpt`) as SnapshotFile;
  assert.equal(snap.format, "gvtsim-snapshot");
  assert.equal(snap.version, 1);
  assert.equal(snap.checkpoint.t, 120 * MS);
  assert.equal(snap.seed, 42);
  assert.deepEqual(snap.overrides, { until: 300 * MS });
  assert.deepEqual(Object.keys(snap.scenario.sources), [SCENARIO]);
  assert.equal(snap.scenario.sources[SCENARIO], await Deno.readTextFile(SCENARIO));
  assert.match(snap.digest, /^fnv1a64:[0-9a-f]{16}$/);
  assert.deepEqual(Object.keys(snap.parts), [
    "sim",
    "rng",
    "memory",
    "ggtt",
    "gpu",
    "vgpus",
    "mediator",
    "backend",
  ]);
  assert.deepEqual(snap.backend, { name: "kvm", serialisable: false, states: {} });
  await Deno.remove(dir, { recursive: true });
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
    /^saved checkpoint at [\d.]+ms to .*s\.ckpt \(4 journal entries, digest fnv1a64:[0-9a-f]{16}\)\nbackend kvm cannot serialise its state; restored by replay only$/,
  );
  const c = new ReplSession();
  assert.match(
    await c.exec(`load ${dir}/s.ckpt`),
    /^restored weights at [\d.]+ms from .*: 4 journal entries replayed, digest verified/,
  );
  assert.equal(c.world!.sim.now, a.world!.sim.now);
  assert.equal(c.world!.sim.dispatched, a.world!.sim.dispatched);
  assert.deepEqual(c.journal, a.journal);
  for (const s of [a, b, c]) {
    await s.exec("weight light 3");
    s.world!.run(250 * MS);
  }
  const ra = JSON.stringify(collectResults(a.world!));
  assert.equal(JSON.stringify(collectResults(b.world!)), ra, "saving does not perturb the session");
  assert.equal(
    JSON.stringify(collectResults(c.world!)),
    ra,
    "the restored session continues identically",
  );
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
  const write = async (name: string, f: (x: Record<string, unknown>) => void) => {
    const x = structuredClone(good);
    f(x);
    await Deno.writeTextFile(`${dir}/${name}`, JSON.stringify(x));
    return `${dir}/${name}`;
  };
  const cases: [string, (x: Record<string, unknown>) => void, RegExp][] = [
    [
      "digest",
      (x) => x.digest = "fnv1a64:0000000000000000",
      /^checkpoint digest mismatch at 35000000 ns: stored fnv1a64:0{16}, replay gives fnv1a64:[0-9a-f]{16}$/,
    ],
    [
      "version",
      (x) => x.version = 2,
      /checkpoint format version 2 is not supported \(this build reads version 1\)/,
    ],
    [
      "format",
      (x) => x.format = "other",
      /not a checkpoint file \(format is not 'gvtsim-snapshot'\)/,
    ],
    ["seed", (x) => x.seed = 43, /^checkpoint digest mismatch .* \(differs in: .*rng/],
    [
      "journal",
      (
        x,
      ) => ((x.journal as { action: { action: { weight: number } } }[])[0].action.action.weight =
        7),
      /^checkpoint digest mismatch .*differs in: .*vgpus/,
    ],
    [
      "position",
      (x) => (x.checkpoint as { dispatched: number }).dispatched += 5,
      /^replay diverged: expected \d+ events by 35000000 ns/,
    ],
  ];
  for (const [name, f, re] of cases) {
    const path = await write(name, f);
    const snap = readCheckpoint(path);
    const err = snap instanceof SnapshotError ? snap : await restoreWorld(snap);
    assert.ok(err instanceof SnapshotError, `${name} is refused`);
    assert.match(err.message.replace(`${path}: `, ""), re, name);
    assert.equal(err.message.split("\n").length, 1);
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

  const saved: unknown[] = [];
  const backend = w1.gate.backend as unknown as Record<string, unknown>;
  backend.save = (h: unknown) => ({ handle: typeof h, pages: 3 });
  backend.restore = (_h: unknown, state: unknown) => void saved.push(state);
  const snap = makeSnapshot(w1, { file: SCENARIO, sources: { [SCENARIO]: "x" } });
  assert.deepEqual(snap.backend, {
    name: "kvm",
    serialisable: true,
    states: { "1": { handle: "object", pages: 3 }, "2": { handle: "object", pages: 3 } },
  });
  assert.deepEqual(restoreBackend(w1, snap.backend), []);
  assert.deepEqual(saved, [{ handle: "object", pages: 3 }, { handle: "object", pages: 3 }]);
  const decoded = decodeSnapshot(encodeSnapshot(snap));
  assert.ok(!(decoded instanceof SnapshotError));
  assert.deepEqual(decoded, snap);
  const busy = await World.create(scenario) as World;
  busy.run(MS);
  assert.match((restoreInto(busy, snap) as SnapshotError).message, /freshly built world/);
});
