/**
 * Laying a heap snapshot over a world built only to take it (`World.create(..., {restoreOnly})`):
 * the buffers such a world says hold only zeros (`World.zeroBuffers`, the GPUs' GGTT tables)
 * are laid without looking for data to clear, so they must really be zero, whatever the
 * platform, backend, gScale mode or number of hosts.
 */
import assert from "node:assert/strict";
import { loadScenario } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import { isZero } from "../core/hw/zero.ts";

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
