/** The world's life cycle of VMs as the timeline drives it: start, pause, resume, reset, stop, restart. */
import assert from "node:assert/strict";
import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";

const TEXT = `
scenario lifecycle
host skylake { invariants on; scheduler gvt { startup 0s } }
vm a { type V5_4; run busy }
vm b { type V5_8; run busy }
vm c { type V5_8; run busy; start 300ms }
workload busy { every 5ms { rcs batch { draw 20; store 2 }; wait completion; flip } }
timeline {
  at 200ms pause a
  at 400ms resume a
  at 500ms reset b
  at 600ms weight b 8
  at 700ms stop c
  at 800ms start c
  at 900ms policy best-effort
  run 1200ms
}
`;

async function world(): Promise<World> {
  const p = parseScenarioText(TEXT, "lifecycle.gvt");
  assert.ok(p.scenario, JSON.stringify(p.diagnostics));
  const w = await World.create(p.scenario);
  assert.ok(!(w instanceof WorldError));
  return w as World;
}

Deno.test("world: VMs follow the timeline, and their work follows their state", async () => {
  const w = await world();
  const a = w.vm("a")!, b = w.vm("b")!, c = w.vm("c")!;
  w.run(250e6);
  assert.deepEqual([w.stateOf(a), w.stateOf(b), w.stateOf(c)], ["paused", "running", "off"]);
  const framesA = a.driver!.metrics.frames;
  w.run(390e6);
  assert.equal(a.driver!.metrics.frames, framesA, "a paused VM's vCPUs do nothing");
  assert.equal(w.stateOf(c), "running", "c started at 300 ms");
  w.run(450e6);
  assert.ok(a.driver!.metrics.frames > framesA, "resumed");
  w.run(550e6);
  assert.equal(b.vgpu!.counters.resetsDmlr, 1);
  w.run(650e6);
  assert.equal(b.vgpu!.sched.weight, 8);
  w.run(750e6);
  assert.equal(w.stateOf(c), "stopped");
  assert.equal(c.vgpu!.destroyed, true, "a stopped VM's vGPU is destroyed and its resources freed");
  const before = c.vgpu!.counters.workloadsCreated;
  assert.ok(before > 0);
  w.run(850e6);
  assert.equal(w.stateOf(c), "running");
  assert.equal(c.vgpu!.destroyed, false, "restarted on a new vGPU");
  w.run(1200e6);
  const r = collectResults(w);
  assert.equal(r.scheduler.policy, "best-effort");
  assert.equal(r.isolation.violations, 0);
  for (const v of r.vms) assert.equal(v.state, "running");
  assert.ok(r.vms[0].fps > 55, "a ran at vblank rate whenever it ran");
  assert.ok(r.vms[1].fps > 55, "b too, reset included");
  // With start-up priority off, a vGPU added in the middle of a 1 s balance stage has no
  // time slice until the next stage-0 balance (upstream); the best-effort policy from
  // 900 ms on schedules it at once.
  assert.ok(r.vms[2].frames > 10, `c: ${r.vms[2].frames} frames`);
  // results add up every vGPU the VM had, the one before the stop included
  assert.equal(
    r.vms[2].counters["workloads.created"],
    before + c.vgpu!.counters.workloadsCreated,
  );
});
