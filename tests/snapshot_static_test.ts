/**
 * The static parts of a world (core/snapshot_state.ts `SNAPSHOT_STATIC`: register definitions
 * and the tables derived from them) are left out of heap snapshots and taken from the rebuilt
 * world on restore. That is only right while running never writes them: these runs (busy VMs,
 * faults, misbehaving guests, huge pages, every hypervisor) must leave them exactly as a freshly
 * built world has them.
 */
import assert from "node:assert/strict";
import { loadScenario } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import { captureHeap, type HeapSnapshot, SNAPSHOT_STATIC } from "../core/snapshot_state.ts";

const RUNS: [string, string, number][] = [
  ["scenarios/contention7.gvt", "kvm", 60],
  ["scenarios/faults.gvt", "xen", 40],
  ["scenarios/misbehave.gvt", "acrn", 40],
  ["scenarios/huge_pages.gvt", "kvm", 40],
];

/** The object at a canonical path (`w.gpu.registerDefs`). */
function at(w: World, path: string): unknown {
  let x: unknown = w;
  for (const k of path.split(".").slice(1)) x = (x as Record<string, unknown>)[k];
  return x;
}

/** A deep copy of a static part as it is now (prototypes and functions kept). */
function copyOf(x: unknown): unknown {
  if (ArrayBuffer.isView(x)) return (x as Uint8Array).slice();
  if (typeof x !== "object" || x === null) return x;
  if (Array.isArray(x)) return x.map(copyOf);
  const o = Object.create(Object.getPrototypeOf(x));
  for (const k of Object.keys(x)) o[k] = copyOf((x as Record<string, unknown>)[k]);
  return o;
}

Deno.test("snapshot static parts: running leaves them as a freshly built world has them", async () => {
  for (const [file, hypervisor, ms] of RUNS) {
    const scenario = loadScenario(file).scenario!;
    const fresh = await World.create(scenario, { hypervisor }) as World;
    const ran = await World.create(scenario, { hypervisor }) as World;
    // copies: worlds of one platform share their static parts (built once, core/hw/gpu.ts
    // registerTables), so a run that wrote one would change the fresh world's too
    const built = SNAPSHOT_STATIC.map((path) => copyOf(at(fresh, path)));
    ran.run(ms * 1e6);
    SNAPSHOT_STATIC.forEach((path, i) => {
      const x = at(ran, path);
      assert.ok(x !== undefined && x !== null, `${file}: ${path} exists`);
      assert.deepStrictEqual(x, built[i], `${file} (${hypervisor}): ${path} unchanged`);
    });
  }
});

Deno.test("snapshot static parts: recorded as present, nothing under them", async () => {
  const w = await World.create(loadScenario("scenarios/weights.gvt").scenario!) as World;
  w.run(5e6);
  const heap = captureHeap(w) as HeapSnapshot;
  for (const path of SNAPSHOT_STATIC) {
    assert.deepEqual(heap.objects.filter((r) => r.p === path), [{ k: "z", p: path }]);
    assert.ok(!heap.objects.some((r) => r.p.startsWith(`${path}.`)), `nothing under ${path}`);
  }
});
