/**
 * Laying a heap snapshot over a world built only to take it (`World.create(..., {restoreOnly})`):
 * the buffers such a world says hold only zeros (`World.zeroBuffers`, the GPUs' GGTT tables)
 * are laid without looking for data to clear, so they must really be zero, whatever the
 * platform, backend, gScale mode or number of hosts.
 */
import assert from "node:assert/strict";
import { World } from "../core/world.ts";
import { isZero } from "../core/hw/zero.ts";
import { loadScenario } from "../dsl/mod.ts";
import { captureHeap, type HeapSnapshot, LaidHeap, restoreHeap } from "../core/snapshot_state.ts";

const BUILDS: [string, string][] = [
  ["scenarios/contention7.gvt", "kvm"],
  ["scenarios/gscale15.gvt", "xen"],
  ["scenarios/migration.gvt", "acrn"],
  ["scenarios/platforms.gvt", "kvm"],
];

Deno.test("snapshot lay: a world built only to be laid over holds only zeros where it says so", async () => {
  for (const [file, hypervisor] of BUILDS) {
    const scenario = loadScenario(file).scenario!;
    const w = await World.create(scenario, { hypervisor, restoreOnly: true }) as World;
    const zero = w.zeroBuffers();
    assert.equal(zero.length, 4 * w.hosts.length, `${file}: four GGTT tables per host`);
    for (const b of zero) assert.ok(isZero(new Uint8Array(b)), `${file} (${hypervisor})`);
    // a world built to run has run its start-up: it claims nothing
    const full = await World.create(scenario, { hypervisor }) as World;
    assert.deepEqual(full.zeroBuffers(), []);
  }
});

Deno.test("snapshot lay: worlds of one platform share the static register tables, not their state", async () => {
  const scenario = loadScenario("scenarios/weights.gvt").scenario!;
  const [a, b, ran] = [
    await World.create(scenario, { restoreOnly: true }) as World,
    await World.create(scenario, { restoreOnly: true }) as World,
    await World.create(scenario) as World,
  ];
  ran.run(20e6); // its first vGPU added the context registers to the whitelist (flags)
  for (const w of [b, ran]) {
    assert.equal(w.gpu.registerDefs, a.gpu.registerDefs, "built once per platform and fences");
    assert.equal(w.gvt.mmio.table.cls, a.gvt.mmio.table.cls);
    assert.notEqual(w.gpu.regs, a.gpu.regs);
    assert.notEqual(w.gvt.mmio.table.flags, a.gvt.mmio.table.flags);
    assert.equal(w.gvt.mmio.table.tracked, a.gvt.mmio.table.tracked);
    assert.equal(w.gvt.mmio.table.handlers.length, a.gvt.mmio.table.handlers.length);
  }
  assert.deepEqual(b.gvt.mmio.table.flags, a.gvt.mmio.table.flags);
  assert.notDeepEqual(ran.gvt.mmio.table.flags, a.gvt.mmio.table.flags);
});

Deno.test("snapshot lay: a record reaching a shared table by another reference gets a copy", async () => {
  // A heap whose GPU record refers to a record of its own (not the present-only one) where the
  // GPU has its register flags: the restore follows that reference to the table every world
  // of the platform shares, and must create a copy there rather than lay the data over it.
  const { scenario, w, heap, at } = await redirected("w.gpu", "flags");
  const shared = w.gpu.registerDefs, flags = (w.gpu as unknown as { flags: Uint8Array }).flags;
  const before = flags.slice();
  heap.objects.push(
    { k: "t", p: "w.gpu.mine", c: "Uint8Array", b: at + 1, o: 0, n: flags.length },
    { k: "b", p: "w.gpu.mine.buffer", n: flags.length, d: [[0, flags.length, 0x01010101]] },
  );
  const fresh = await World.create(scenario, { restoreOnly: true }) as World;
  assert.ok(restoreHeap(fresh, heap) instanceof LaidHeap);
  const got = (fresh.gpu as unknown as { flags: Uint8Array }).flags;
  assert.notEqual(got, flags, "a copy");
  assert.ok(got.every((x) => x === 1), "holding the heap's data");
  assert.deepEqual(flags, before, "the shared table is as built");
  assert.equal(fresh.gpu.registerDefs, shared);
});

Deno.test("snapshot lay: nothing is followed into a shared part (the platform table's engines)", async () => {
  // A heap whose GPU configuration refers to a record of its own where the platform table is,
  // with an `engines` array: the table and its arrays are the process's, never laid over.
  const { scenario, w, heap, at } = await redirected("w.gpu.config", "platform");
  const platform = w.gpu.config.platform, engines = [...platform.engines];
  heap.objects.push(
    { k: "o", p: "w.gpu.config.mine", f: { engines: 0 }, r: ["engines", at + 1] },
    { k: "a", p: "w.gpu.config.mine.engines", e: ["rcs"] },
  );
  const fresh = await World.create(scenario, { restoreOnly: true }) as World;
  // laid (the record gets an array of its own), not refused for writing the frozen table's
  assert.ok(restoreHeap(fresh, heap) instanceof LaidHeap);
  assert.deepEqual([...platform.engines], engines, "the platform table is as built");
});

/**
 * A heap of scenarios/weights.gvt at 5 ms whose `owner` record refers, at `key`, to the record
 * to be pushed next (`at`) instead of the static part's present-only record (which becomes an
 * unused object: no record may be left without a place).
 */
async function redirected(owner: string, key: string) {
  const scenario = loadScenario("scenarios/weights.gvt").scenario!;
  const w = await World.create(scenario) as World;
  w.run(5e6);
  const heap = captureHeap(w) as HeapSnapshot;
  const recs = heap.objects;
  const rec = recs.find((x) => x.p === owner)!;
  assert.equal(rec.k, "o");
  const refs = (rec as { r: (string | number)[] }).r;
  const slot = refs.indexOf(key) + 1, z = refs[slot] as number;
  assert.deepEqual(recs[z], { k: "z", p: `${owner}.${key}` });
  const at = recs.length;
  refs[slot] = at;
  recs[z] = { k: "o", p: `${owner}.unused`, f: {} };
  return { scenario, w, heap, at };
}
