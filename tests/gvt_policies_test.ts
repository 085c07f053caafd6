import assert from "node:assert/strict";
import { addGuest, alwaysBusy, gvtRig, windows } from "./gvt_util.ts";
import { MS } from "../core/sim/sim.ts";
import type { PolicyName } from "../core/scenario.ts";

async function policyRun(policy: PolicyName, idleB = false, params: Record<string, number> = {}) {
  const r = await gvtRig({ scheduler: { policy, params } });
  const a = addGuest(r, { vm: "a", weight: 4 }, { engines: [0] });
  const b = addGuest(r, { vm: "b", weight: 2 }, { engines: [0] });
  alwaysBusy(r.sim, a.drv, 10);
  if (!idleB) alwaysBusy(r.sim, b.drv, 10);
  else b.drv.boot();
  const [[ta, tb]] = windows(r.sim, [a.v, b.v], 100 * MS, 400 * MS, 1);
  return { r, ta, tb, a, b };
}

Deno.test("sched gvirt-rr: 16 ms round robin, equal time regardless of weight", async () => {
  const { ta, tb, r } = await policyRun("gvirt-rr");
  assert.ok(Math.abs(ta / tb - 1) < 0.2, `${ta} vs ${tb}`);
  assert.ok(r.gvt.globalCounters.switches < 40, "16 ms slices: few switches");
});

Deno.test("sched best-effort: round robin skipping idle vGPUs (an idle one costs nothing)", async () => {
  const both = await policyRun("best-effort");
  assert.ok(Math.abs(both.ta / both.tb - 1) < 0.1, `${both.ta} vs ${both.tb}`);
  assert.ok(both.r.gvt.globalCounters.switches > 100, "2 ms slices");
  const alone = await policyRun("best-effort", true);
  assert.ok(alone.ta > 0.9 * 400 * MS, `the busy vGPU gets the whole GPU: ${alone.ta}`);
});

Deno.test("sched equal-share: equal slices even for an idle vGPU (its slice is wasted)", async () => {
  const { ta, r } = await policyRun("equal-share", true);
  assert.ok(ta > 0.4 * 400 * MS && ta < 0.6 * 400 * MS, `about half: ${ta}`);
  assert.ok(r.gvt.globalCounters.idleNs >= 0);
});

Deno.test("sched fixed-share: a fixed slot per vGPU regardless of activity", async () => {
  const { ta, tb } = await policyRun("fixed-share", false, { slots: 4, timeslice: 2 * MS });
  assert.ok(ta > 0.2 * 400 * MS && ta < 0.3 * 400 * MS, `a quarter: ${ta}`);
  assert.ok(tb > 0.2 * 400 * MS && tb < 0.3 * 400 * MS, `a quarter: ${tb}`);
});

Deno.test("sched: the policy is switchable at run time", async () => {
  const r = await gvtRig();
  const a = addGuest(r, { vm: "a", weight: 4 }, { engines: [0] });
  const b = addGuest(r, { vm: "b", weight: 2 }, { engines: [0] });
  alwaysBusy(r.sim, a.drv, 10);
  alwaysBusy(r.sim, b.drv, 10);
  r.sim.runUntil(100 * MS);
  r.gvt.setPolicy({ policy: "best-effort", params: {} });
  assert.equal(r.gvt.sched.policy.name, "best-effort");
  assert.equal(r.gvt.sched.policy.queue().length, 2);
  const [[ta, tb]] = windows(r.sim, [a.v, b.v], 200 * MS, 300 * MS, 1);
  assert.ok(Math.abs(ta / tb - 1) < 0.1, `now equal: ${ta} vs ${tb}`);
});
