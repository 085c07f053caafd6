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
