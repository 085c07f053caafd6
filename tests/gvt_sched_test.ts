import assert from "node:assert/strict";
import { addGuest, alwaysBusy, gvtRig, windows } from "./gvt_util.ts";
import { MS, SEC } from "../core/sim/sim.ts";

Deno.test("sched gvt: weights 4 and 2 get 2:1 render time over each 1 s window (within 5%)", async () => {
  const r = await gvtRig();
  const a = addGuest(r, { vm: "a", weight: 4 }, { engines: [0] });
  const b = addGuest(r, { vm: "b", weight: 2 }, { engines: [0] });
  alwaysBusy(r.sim, a.drv);
  alwaysBusy(r.sim, b.drv);
  const ws = windows(r.sim, [a.v, b.v], 2 * SEC, SEC, 2);
  for (const [ta, tb] of ws) {
    const ratio = ta / tb;
    assert.ok(Math.abs(ratio - 2) / 2 < 0.05, `ratio ${ratio.toFixed(3)} (${ta} / ${tb})`);
    assert.ok(ta + tb > 0.9 * SEC, `GPU kept busy: ${ta + tb}`);
  }
  const g = r.gvt.counters().global;
  assert.ok(g["sched.switches"] > 10);
  assert.ok(g["sched.engine_switches"] > 10);
  assert.ok(g["sched.drain_wait_ns"] > 0);
  assert.equal(a.v.failsafe || b.v.failsafe, false);
  assert.equal(r.gvt.checkInvariants(), 0);
});

Deno.test("sched gvt: the newest vGPU joins at the LRU head with start-up priority (sched_policy.c tbs_sched_start_schedule); weights change at run time (next 1 s stage)", async () => {
  const r = await gvtRig({ scheduler: { policy: "gvt", params: { startup: 300 * MS } } });
  const a = addGuest(r, { vm: "a", weight: 4 }, { engines: [0] });
  const b = addGuest(r, { vm: "b", weight: 4 }, { engines: [0] });
  alwaysBusy(r.sim, a.drv);
  alwaysBusy(r.sim, b.drv);
  const [[ta, tb]] = windows(r.sim, [a.v, b.v], 0, 250 * MS, 1);
  assert.ok(ta < 0.05 * tb, `during start-up priority the newest vGPU dominates: ${ta} vs ${tb}`);
  r.sim.runUntil(SEC);
  r.gvt.setWeight(b.v.id, 12);
  const ws = windows(r.sim, [a.v, b.v], 2 * SEC, SEC, 1);
  const ratio = ws[0][1] / ws[0][0];
  assert.ok(Math.abs(ratio - 3) / 3 < 0.05, `after the weight change 3:1, got ${ratio}`);
});
