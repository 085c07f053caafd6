import assert from "node:assert/strict";
import { addGuest, gvtRig, mix } from "./gvt_util.ts";
import { MS } from "../core/sim/sim.ts";

Deno.test("gvt e2e: a guest boots on a vGPU and its batches complete on the GPU", async () => {
  const r = await gvtRig();
  const { v, drv } = addGuest(r, { vm: "a" });
  drv.boot();
  assert.equal(drv.state, "running", drv.bootError);
  r.sim.runFor(5 * MS);
  drv.submitBatch(0, mix({ draw: 2, store: 2, lri: 2 }));
  drv.submitBatch(1, mix({ blit: 1 }));
  r.sim.runFor(50 * MS);
  const c = r.gvt.counters();
  assert.equal(v.failsafe, false, JSON.stringify(r.gvt.failsafeLog));
  assert.equal(c.vgpus.a["workloads.completed"], 2, JSON.stringify(c));
  assert.equal(drv.inFlight(0), 0);
  assert.equal(drv.inFlight(1), 0);
  assert.equal(r.gvt.checkInvariants(), 0);
  assert.equal(r.gpu.faults.length, 0, r.gpu.faults.map(String).join("\n"));
});

Deno.test("gvt e2e: GGTT batches are shadowed; PPGTT batches scanned only when enabled", async () => {
  for (const scanPpgtt of [false, true]) {
    const r = await gvtRig({ host: { scanPpgttBatches: scanPpgtt } });
    const g = addGuest(r, { vm: "g" }, { ppgttBatches: false, engines: [0] });
    const p = addGuest(r, { vm: "p" }, { ppgttBatches: true, engines: [0] });
    g.drv.boot();
    p.drv.boot();
    r.sim.runFor(5 * MS);
    g.drv.submitBatch(0, mix({ draw: 3, store: 2, lri: 2 }));
    p.drv.submitBatch(0, mix({ draw: 3, store: 2, lri: 2 }));
    r.sim.runFor(50 * MS);
    assert.equal(g.v.failsafe || p.v.failsafe, false, JSON.stringify(r.gvt.failsafeLog));
    assert.equal(g.v.counters.batchesShadowed, 1, "GGTT batch shadowed");
    assert.equal(p.v.counters.batchesShadowed, 0, "PPGTT batches are not copied");
    const ringOnly = g.v.counters.cmdsScanned[0];
    if (scanPpgtt) assert.ok(p.v.counters.cmdsScanned[0] >= ringOnly - 1, "PPGTT batch scanned");
    else assert.ok(p.v.counters.cmdsScanned[0] < ringOnly, "PPGTT batch not scanned");
    assert.equal(g.drv.inFlight(0) + p.drv.inFlight(0), 0);
    assert.equal(r.gvt.checkInvariants(), 0);
  }
});

Deno.test("gvt e2e: a resubmitted context continues from the queued workload's tail", async () => {
  const r = await gvtRig();
  const { v, drv } = addGuest(r, { vm: "a" }, { engines: [0] });
  drv.boot();
  r.sim.runFor(5 * MS);
  for (let i = 0; i < 4; i++) drv.submitBatch(0, mix({ draw: 30 }));
  r.sim.runFor(50 * MS);
  assert.equal(drv.inFlight(0), 0);
  assert.equal(r.gpu.counters().batches[0], 4, "every batch executed exactly once");
  assert.ok(v.counters.workloadsCreated >= 2);
  assert.equal(r.gpu.faults.length, 0);
});
