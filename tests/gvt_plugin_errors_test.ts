import assert from "node:assert/strict";
import { addGuest, addVgpu, gvtRig, mix } from "./gvt_util.ts";
import { MS } from "../core/sim/sim.ts";
import { EDID_SIZE, edidResolution } from "../core/gvt/edid.ts";
import type { FaultRule } from "../core/scenario.ts";

const loc = { file: "t.gvt", line: 1, col: 1 };

Deno.test("plugin errors: a failed readGpa while creating a workload refuses that submission only (scheduler.c intel_vgpu_create_workload: -EINVAL)", async () => {
  const r = await gvtRig();
  const bad = addGuest(r, { vm: "bad" }, { engines: [0] });
  const good = addGuest(r, { vm: "good" }, { engines: [0] });
  bad.drv.boot();
  good.drv.boot();
  r.sim.runFor(5 * MS);
  const rule: FaultRule = { op: "readGpa", vm: "bad", action: "throw", loc };
  r.gate.addFault(rule);
  bad.drv.submitBatch(0, mix({ draw: 1 }));
  good.drv.submitBatch(0, mix({ draw: 1 }));
  r.sim.runFor(20 * MS);
  assert.equal(bad.v.failsafe, false);
  assert.ok(r.gvt.counters().vgpus.bad["scan.violation.context_read"] >= 1);
  assert.equal(bad.v.counters.workloadsCompleted, 0);
  assert.ok(r.gvt.counters().global["plugin.errors"] >= 1, "the backend's exception was contained");
  assert.equal(good.v.counters.workloadsCompleted, 1, "the other vGPU is unaffected");
});

Deno.test("plugin errors: a failing MSI injection is counted as dropped", async () => {
  const r = await gvtRig();
  const { v, drv } = addGuest(r, { vm: "a" });
  drv.boot();
  r.sim.runFor(5 * MS);
  const before = v.counters.msiDropped;
  r.gate.addFault({ op: "injectMsi", action: "error", loc });
  r.sim.runFor(50 * MS);
  assert.ok(v.counters.msiDropped > before, "vblank MSIs dropped");
});

Deno.test("display: the virtual monitor's EDID has the type's resolution and a valid checksum", async () => {
  const r = await gvtRig();
  const a = addVgpu(r, { vm: "a", type: "V5_8" });
  const b = addVgpu(r, { vm: "b", type: "V5_2" });
  assert.deepEqual(edidResolution(a.edid), { width: 1024, height: 768 });
  assert.deepEqual(edidResolution(b.edid), { width: 1920, height: 1200 });
  assert.equal(a.edid.length, EDID_SIZE);
  assert.equal(a.edid.reduce((s: number, x: number) => s + x, 0) % 256, 0);
  assert.deepEqual(Array.from(a.edid.subarray(0, 8)), [0, 255, 255, 255, 255, 255, 255, 0]);
  assert.ok(r.gate.opCount("setEdid") >= 2);
});
