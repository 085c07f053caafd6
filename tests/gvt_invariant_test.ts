import assert from "node:assert/strict";
import { addGuest, addVgpu, gvtRig, mix } from "./gvt_util.ts";
import { GTT_OFFSET } from "../core/hw/regs.ts";
import { MS } from "../core/sim/sim.ts";
import { CommandFault } from "../core/hw/fault.ts";

Deno.test("invariant: a GGTT entry of one VM pointing into another VM's frame is found", async () => {
  const r = await gvtRig();
  const a = addVgpu(r, { vm: "a" });
  const b = addVgpu(r, { vm: "b" });
  const ia = a.res.aperture.base / 4096, ib = b.res.aperture.base / 4096;
  r.gvt.emulateMmioWrite(a.id, GTT_OFFSET + ia * 8, 8, 0x500 * 4096 + 1);
  r.gvt.emulateMmioWrite(b.id, GTT_OFFSET + ib * 8, 8, 0x500 * 4096 + 1);
  assert.equal(r.gvt.checkInvariants(), 0);
  r.gpu.ggttWrite(ia + 1, r.gpu.ggttLo[ib]); // plant b's frame in a's slice
  assert.equal(r.gvt.checkInvariants(), 1);
  assert.equal(a.counters.invariantViolations, 1);
  assert.equal(r.gvt.invariants.violations[0].where, "ggtt");
  assert.equal(r.gvt.invariants.violations[0].owner, b.owner);
  r.gvt.invariants.enabled = false;
  assert.equal(r.gvt.checkInvariants(), 0, "switchable");
});

Deno.test("invariant: GPU isolation faults of a VM's context are counted", async () => {
  const r = await gvtRig();
  const a = addVgpu(r, { vm: "a" });
  r.gpu.recordFault(new CommandFault("isolation", 0, 1, a.owner, 0x1000, 0, 0, "test"));
  assert.equal(r.gvt.checkInvariants(), 1);
  assert.equal(r.gvt.invariants.violations[0].where, "gpu_write");
  assert.equal(r.gvt.globalCounters.gpuWritesChecked, 1);
});

Deno.test("invariant: shadow PPGTT leaves and busy guests stay clean over a run", async () => {
  const r = await gvtRig({ host: { outOfSync: true } });
  const a = addGuest(r, { vm: "a" });
  const b = addGuest(r, { vm: "b" });
  a.drv.boot();
  b.drv.boot();
  for (let i = 0; i < 5; i++) {
    r.sim.runFor(5 * MS);
    a.drv.mapPages(8);
    a.drv.pteRewrite(16);
    a.drv.submitBatch(0, mix({ draw: 2, store: 2, blit: 0 }));
    b.drv.submitBatch(0, mix({ store: 4 }));
    b.drv.submitBatch(1, mix({ blit: 1 }));
  }
  r.sim.runFor(50 * MS);
  assert.equal(r.gvt.checkInvariants(), 0, JSON.stringify(r.gvt.invariants.violations.slice(0, 3)));
  assert.ok(r.gvt.globalCounters.invariantChecks > 2);
  assert.ok(a.v.counters.wpTraps > 0);
  assert.equal(a.v.failsafe || b.v.failsafe, false, JSON.stringify(r.gvt.failsafeLog));
  assert.equal(r.gpu.faults.length, 0, r.gpu.faults.map(String).join("\n"));
});

Deno.test("invariant: the periodic check looks only at changed GGTT entries, the sweep at all", async () => {
  const r = await gvtRig();
  const a = addVgpu(r, { vm: "a" });
  const b = addVgpu(r, { vm: "b" });
  const ia = a.res.aperture.base / 4096, ib = b.res.aperture.base / 4096;
  r.gvt.emulateMmioWrite(b.id, GTT_OFFSET + ib * 8, 8, 0x500 * 4096 + 1);
  assert.equal(r.gvt.checkInvariants(), 0);
  assert.equal(r.gpu.ggttDirtyCount, 0, "a full sweep clears the dirty list");
  r.gpu.ggttWrite(ia + 3, r.gpu.ggttLo[ib]); // plant b's frame in a's slice
  assert.equal(r.gpu.ggttDirtyCount, 1);
  assert.equal(r.gvt.invariants.checkDirtyGgtt(r.gvt.vgpus), 1);
  assert.equal(r.gvt.invariants.violations[0].vgpuId, a.id);
  assert.equal(r.gvt.invariants.checkDirtyGgtt(r.gvt.vgpus), 0, "each change is checked once");
  // an owner change under an unchanged entry is for the full sweep to find
  assert.equal(r.gvt.checkInvariants(), 1);
});

Deno.test("invariant: a full sweep finds entries anywhere in both slices, in order (all-zero stretches are passed over)", async () => {
  const r = await gvtRig();
  const a = addVgpu(r, { vm: "a" });
  const b = addVgpu(r, { vm: "b" });
  const g = a.ggtt, ib = b.res.aperture.base / 4096;
  r.gvt.emulateMmioWrite(b.id, GTT_OFFSET + ib * 8, 8, 0x500 * 4096 + 1);
  assert.equal(r.gvt.checkInvariants(), 0);
  const foreign = r.gpu.ggttLo[ib];
  const at = [
    g.apIndex,
    g.apIndex - (g.apIndex % 1024) + 1023, // the last entry of a 1024-entry piece, then the first
    g.apIndex - (g.apIndex % 1024) + 1024,
    g.apIndex + g.apCount - 1,
    g.hiIndex,
    g.hiIndex + g.hiCount - 1,
  ].filter((x, i, all) => all.indexOf(x) === i && g.slot(x) >= 0);
  for (const idx of at) r.gpu.ggttWrite(idx, foreign);
  r.gpu.ggttWrite(g.hiIndex + 7, foreign - 1); // not present (bit 0 clear), not zero: no violation
  // the written entries are not clean, so the sweep of a's slices is a full one
  assert.equal(r.gvt.checkInvariants(), at.length);
  assert.deepEqual(r.gvt.invariants.violations.map((x) => x.at), at);
});
