/**
 * A heap restore lays a checkpoint's data over the objects of a rebuilt world. An object that
 * every world of the process shares (a module constant: the platform table, the shared zero
 * page, the default MMIO handler) must not be among them, or a checkpoint could change it for
 * every later world: such objects are static parts (core/snapshot_state.ts SNAPSHOT_STATIC),
 * recorded as present only, and a checkpoint that brings data for one is refused. Likewise the
 * heap's copy of the scenario must be the one the checked sources describe.
 */

import assert from "node:assert/strict";
import { loadScenario } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import { SNAPSHOT_STATIC } from "../core/snapshot_state.ts";
import { encodeSnapshot, SnapshotError, type SnapshotFile } from "../core/snapshot.ts";
import { readCheckpoint, restoreWorld } from "../cli/repl_snapshot.ts";
import { PLATFORMS } from "../core/hw/platform.ts";
import { gvtsim } from "./cli_util.ts";

/** Every object reachable from `w` (fields, elements, map and set entries) by first path. */
function reachable(w: World): Map<object, string> {
  const seen = new Map<object, string>();
  const queue: [unknown, string][] = [[w, "w"]];
  for (let i = 0; i < queue.length; i++) {
    const [x, p] = queue[i];
    if (x === null || typeof x !== "object" || seen.has(x)) continue;
    seen.set(x, p);
    if (SNAPSHOT_STATIC.includes(p) || ArrayBuffer.isView(x) || x instanceof ArrayBuffer) continue;
    if (x instanceof Map) {
      for (const [k, v] of x) queue.push([k, `${p}.key`], [v, `${p}.value`]);
    } else if (x instanceof Set) {
      for (const v of x) queue.push([v, `${p}.entry`]);
    } else {
      for (const k of Object.keys(x)) queue.push([(x as Record<string, unknown>)[k], `${p}.${k}`]);
    }
  }
  return seen;
}

/** A heap checkpoint of scenarios/weights.gvt at 10 ms, taken by the CLI into `dir`. */
async function weightsCheckpoint(dir: string): Promise<SnapshotFile> {
  const ck = `${dir}/ok.ckpt`;
  const saved = await gvtsim(
    "run",
    "-q",
    "--until",
    "20ms",
    "--checkpoint-at",
    "10ms",
    "--checkpoint",
    ck,
    "scenarios/weights.gvt",
  );
  assert.ok(saved.code <= 1, saved.err); // 20 ms is too short for its expectations: 1
  return JSON.parse(await Deno.readTextFile(ck)) as SnapshotFile;
}

Deno.test("snapshot shared parts: what two worlds share is frozen or static", async () => {
  for (
    const [file, hypervisor] of [["scenarios/demo.gvt", "kvm"], ["scenarios/faults.gvt", "xen"]]
  ) {
    const worlds = [];
    for (let i = 0; i < 2; i++) {
      // each its own scenario, as each restore parses the checkpoint's sources
      const w = await World.create(loadScenario(file).scenario!, { hypervisor }) as World;
      w.run(5e6);
      worlds.push(reachable(w));
    }
    const [a, b] = worlds;
    const shared = [...a].filter(([o]) => b.has(o) && !Object.isFrozen(o)).map(([, p]) => p);
    const loose = shared.filter((p) => !SNAPSHOT_STATIC.includes(p));
    assert.deepEqual(loose, [], `${file}: shared by every world, so static: ${loose.join(", ")}`);
    // the platform's profile is shared too, and frozen
    const platform = [...a].find(([, p]) => p === "w.gpu.config.platform")?.[0];
    assert.ok(platform !== undefined && b.has(platform) && Object.isFrozen(platform), file);
  }
});

Deno.test("snapshot shared parts: platform profiles are frozen; a shared MMIO layout takes no registration", async () => {
  for (const p of Object.values(PLATFORMS)) {
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.engines), p.id);
  }
  assert.ok(Object.isFrozen(PLATFORMS));
  assert.throws(() => {
    (PLATFORMS.skylake as { gen: number }).gen = 10;
  }, TypeError);
  // the second world's MMIO table is built from the platform's shared layout (handlerOf,
  // roMask, cls are every world's): registering in it would change them for all
  const scenario = () => loadScenario("scenarios/demo.gvt").scenario!;
  await World.create(scenario());
  const w = await World.create(scenario()) as World;
  const table = w.hosts[0].gvt.mmio.table;
  assert.throws(() => table.register(0x2000, 1, 0, 0, 0, 0), /shared layout/);
});

Deno.test("snapshot shared parts: a checkpoint bringing data for one is refused, and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = await weightsCheckpoint(dir);
    type Rec = { k: string; p: string; f?: Record<string, unknown> };
    const objects = good.heap!.objects as unknown as Rec[];
    const at = objects.findIndex((r) => r.p === "w.gpu.config.platform");
    assert.deepEqual(objects[at], { k: "z", p: "w.gpu.config.platform" });
    const cases: [string, (x: Rec[]) => void][] = [
      // the platform table of every world says graphics version 10 (no such context layout)
      ["platform", (x) => x[at] = { k: "o", p: "w.gpu.config.platform", f: { gen: 10 } }],
      ["inside", (x) => x.push({ k: "a", p: "w.gpu.config.platform.engines", f: undefined })],
    ];
    for (const [name, edit] of cases) {
      const x = structuredClone(good);
      edit(x.heap!.objects as unknown as Rec[]);
      const path = `${dir}/${name}.ckpt`;
      await Deno.writeTextFile(path, encodeSnapshot(x));
      // in this process too: refused, and the platform table every world uses is untouched
      const snap = readCheckpoint(path);
      const err = snap instanceof SnapshotError ? snap : await restoreWorld(snap);
      assert.ok(err instanceof SnapshotError, name);
      assert.equal(PLATFORMS.skylake.gen, 9);
      const r = await gvtsim("run", "-q", "--restore", path);
      assert.equal(r.code, 2, `${name}: ${r.err}`);
      assert.match(
        r.err,
        /: error: (.*: )?heap checkpoint: heap record \d+: a static part of a world is recorded as present only\n$/,
        `${name}: ${r.err}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot heap: a scenario in the heap other than its sources' (past the DSL's limits) is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const x = await weightsCheckpoint(dir);
    type Rec = { p: string; f?: { value?: number } };
    const draws = (x.heap!.objects as unknown as Rec[]).filter((r) => r.p.endsWith(".mix.draw"));
    assert.ok(draws.length > 0, "the heap holds the workloads' draw counts");
    // a batch of a billion draws: the DSL would refuse it, a restored world would try to build it
    for (const r of draws) r.f!.value = 1e9;
    const path = `${dir}/huge.ckpt`;
    await Deno.writeTextFile(path, encodeSnapshot(x));
    const r = await gvtsim("run", "-q", "--restore", path);
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /^.*huge\.ckpt: error: heap checkpoint: the scenario in its heap is not the one its sources describe\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
