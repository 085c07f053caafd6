import assert from "node:assert/strict";
import { ENGINES } from "../core/hw/engines.ts";
import { addGuest, addVgpu, gvtRig, mix } from "./gvt_util.ts";
import { MS } from "../core/sim/sim.ts";
import {
  GDRST,
  GEN6_GRDOM_FULL,
  GEN6_GRDOM_RENDER,
  GFX_RUN_LIST_ENABLE,
  GTT_OFFSET,
  PVINFO,
  RING_CONTEXT_STATUS_PTR,
  RING_HEAD,
  RING_MODE,
  VGT_PVINFO_PAGE,
} from "../core/hw/regs.ts";
import type { MisbehaviourKind } from "../core/scenario.ts";

Deno.test("failsafe: each misbehaviour ends in failsafe where upstream's rules say so; the victim runs on; invariants hold", async () => {
  const kinds: MisbehaviourKind[] = [
    "ggtt_out_of_slice",
    "priv_reg_write",
    "bad_address",
    "ring_garbage",
    "rejected_command",
    "insufficient_resources",
    "random_mmio",
  ];
  for (const kind of kinds) {
    const r = await gvtRig();
    const bad = addGuest(r, { vm: "bad" }, { engines: [0] });
    const good = addGuest(r, { vm: "good" }, { engines: [0] });
    bad.drv.boot();
    good.drv.boot();
    r.sim.runFor(5 * MS);
    bad.drv.misbehave(kind, 3);
    if (kind === "ggtt_out_of_slice") {
      assert.equal(bad.v.counters.ggttDropped, 3, "dropped, counted");
    }
    bad.drv.submitBatch(0, mix({ draw: 1 }));
    good.drv.submitBatch(0, mix({ draw: 1, store: 1 }));
    r.sim.runFor(50 * MS);
    // Random register writes are mostly plain copies upstream: failsafe only by chance.
    if (kind !== "random_mmio") {
      assert.equal(bad.v.failsafe, true, `${kind}: ${JSON.stringify(r.gvt.failsafeLog)}`);
    }
    assert.equal(good.v.failsafe, false, kind);
    assert.equal(good.v.counters.workloadsCompleted, 1, kind);
    assert.equal(r.gvt.checkInvariants(), 0, kind);
  }
});

Deno.test("failsafe: GTT and MMIO become plain copies, nothing is submitted", async () => {
  const r = await gvtRig();
  const v = addVgpu(r, { vm: "a" });
  r.gvt.emulateMmioWrite(v.id, VGT_PVINFO_PAGE + PVINFO.rsv5, 4, 1);
  assert.equal(v.failsafe, true);
  const idx = v.res.aperture.base / 4096;
  r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + idx * 8, 8, 0x500 * 4096 + 1);
  assert.equal(r.gvt.emulateMmioRead(v.id, GTT_OFFSET + idx * 8, 8), 0x500 * 4096 + 1);
  assert.equal(r.gpu.ggttLo[idx], 0, "not shadowed");
  assert.equal(v.counters.dmaMaps, 0);
  assert.equal(v.counters.failsafeEntries, 1);
});

Deno.test("reset: device-model reset clears failsafe and restores the initial state", async () => {
  const r = await gvtRig();
  const { v, drv } = addGuest(r, { vm: "a" });
  drv.boot();
  r.sim.runFor(5 * MS);
  drv.submitBatch(0, mix({ draw: 1 }));
  r.sim.runFor(20 * MS);
  drv.misbehave("insufficient_resources", 1);
  assert.equal(v.failsafe, true);
  assert.ok(v.ppgtt!.byGfn.size > 0);
  r.gvt.resetVgpu(v.id, "dmlr");
  assert.equal(v.failsafe, false);
  assert.equal(v.pvAware, false);
  assert.equal(v.ppgtt!.byGfn.size, 0, "PPGTT shadows destroyed");
  assert.equal(v.ppgtt!.mms.length, 0);
  assert.equal(v.counters.resetsDmlr, 1);
  const idx = v.res.aperture.base / 4096;
  assert.equal(r.gvt.emulateMmioRead(v.id, GTT_OFFSET + idx * 8, 8), 0);
  assert.equal(r.gvt.emulateMmioRead(v.id, ENGINES[0].mmioBase + RING_HEAD, 4), 0);
  assert.equal(
    r.gvt.emulateMmioRead(v.id, ENGINES[0].mmioBase + RING_CONTEXT_STATUS_PTR, 4) & 0xf,
    7,
  );
  assert.equal(r.gvt.checkInvariants(), 0);
  // the guest boots again and works
  drv.reset();
  drv.boot();
  assert.equal(drv.state, "running", drv.bootError);
  r.sim.runFor(5 * MS);
  drv.submitBatch(0, mix({ draw: 1 }));
  r.sim.runFor(20 * MS);
  assert.equal(v.counters.workloadsCompleted, 2);
});

Deno.test("reset: GDRST engine and full GT resets drop that vGPU's queued work only", async () => {
  const r = await gvtRig();
  const a = addGuest(r, { vm: "a" }, { engines: [0, 1] });
  const b = addGuest(r, { vm: "b" }, { engines: [0] });
  a.drv.boot();
  b.drv.boot();
  r.sim.runFor(5 * MS);
  for (let i = 0; i < 4; i++) {
    a.drv.submitBatch(0, mix({ draw: 20 }));
    b.drv.submitBatch(0, mix({ draw: 20 }));
  }
  a.drv.submitBatch(1, mix({ blit: 1 }));
  r.gvt.emulateMmioWrite(a.v.id, GDRST, 4, GEN6_GRDOM_RENDER);
  assert.equal(a.v.counters.resetsEngine, 1);
  assert.equal(a.v.queues[0].length, 0);
  assert.ok(a.v.counters.workloadsDropped >= 1);
  assert.equal(a.v.sched.active, false, "off the run queue (intel_vgpu_stop_schedule)");
  // the guest re-initialises the engine: enabling execlists starts scheduling it again
  const enable = ((GFX_RUN_LIST_ENABLE << 16) | GFX_RUN_LIST_ENABLE) >>> 0;
  r.gvt.emulateMmioWrite(a.v.id, ENGINES[0].mmioBase + RING_MODE, 4, enable);
  assert.equal(a.v.sched.active, true);
  r.sim.runFor(100 * MS);
  assert.equal(b.drv.inFlight(0), 0, "the other vGPU never notices: all its batches retired");
  assert.equal(b.v.counters.workloadsDropped, 0);
  assert.equal(a.v.counters.workloadsCompleted >= 1, true, "blitter untouched by the render reset");
  r.gvt.emulateMmioWrite(a.v.id, GDRST, 4, GEN6_GRDOM_FULL);
  assert.equal(a.v.counters.resetsGt, 1);
  assert.equal(r.gvt.emulateMmioRead(a.v.id, GDRST, 4), 0);
  assert.equal(a.v.failsafe, false);
});

Deno.test("reset: a workload that hangs the GPU cleans that engine's queue (vGPU hang)", async () => {
  const r = await gvtRig();
  const a = addGuest(r, { vm: "a" }, { engines: [0] });
  const b = addGuest(r, { vm: "b" }, { engines: [0] });
  a.drv.boot();
  b.drv.boot();
  r.sim.runFor(5 * MS);
  a.drv.submitBatch(0, mix({ draw: 2 }));
  // Corrupt the (unscanned, PPGTT) batch after submission: the GPU itself faults on it.
  type Obj = { gpa(off: number): number };
  const st = (a.drv as unknown as { eng: { inflightObj: Obj[]; head: number }[] }).eng[0];
  a.mem.write32(st.inflightObj[st.head].gpa(0), 0xdeadbeef);
  a.drv.submitBatch(0, mix({ draw: 2 }));
  b.drv.submitBatch(0, mix({ draw: 2 }));
  r.sim.runFor(50 * MS);
  assert.equal(r.gpu.faults.length, 1, r.gpu.faults.map(String).join());
  assert.equal(r.gpu.faults[0].kind, "unknown_command");
  assert.ok(a.v.counters.workloadsDropped >= 1);
  assert.equal(a.v.failsafe, false, "a hang is not a failsafe");
  assert.equal(r.gpu.engineHung(0), false, "the physical engine was reset");
  assert.equal(b.drv.inFlight(0), 0, "the other vGPU never notices");
  assert.equal(b.v.counters.workloadsDropped, 0);
});
