/**
 * Live migration's edges through `gvtsim run`: a target without the slices, a VM stopped
 * mid-migration, a second migration of a migrating VM, queued workloads, gScale-mode hosts.
 */
import assert from "node:assert/strict";
import { only, run, scenario } from "./migration_util.ts";

Deno.test("a target without the VM's slices free refuses the migration and the VM runs on where it was", async () => {
  // a second V5_4 on b takes the slices x uses on a; web never migrates
  const text = scenario({
    extraVm: "vm squatter { host b; type V5_4; run game }",
    expects: "expect fps(x) >= 55\nexpect violations() == 0\nexpect downtime(x) < 1s\n" +
      "expect downtime(web) < 1s",
  });
  const { code, out, r, dir } = await run(text);
  try {
    assert.equal(code, 1, out);
    const m = only(r);
    assert.equal(m.outcome, "failed");
    assert.match(m.reason ?? "", /slices .* are not free on this host/);
    assert.equal(r!.vms.find((v) => v.name === "x")!.host, "a");
    assert.deepEqual(r!.expectations.map((e) => e.pass), [true, true, false, false]);
    assert.match(out, /x -> b: cannot create vGPU/);
    assert.match(out, /x completed no live migration/);
    assert.match(out, /web completed no live migration/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workloads queued on the vGPU at the stop move with it and run on the target", async () => {
  // Back-to-back batches on two engines: whatever instant a stop lands on, the workloads
  // queued then (any number) must all be re-created on the target and run. How many are
  // queued depends on that instant, so two VMs stop at different points of their rounds and
  // together they must have carried at least one (to two hosts: on one, the VM that arrives
  // last would take the 2 s start-up priority from the first).
  const text = `scenario q
host a skylake { hypervisor kvm }
host b skylake { hypervisor kvm }
host c skylake { hypervisor kvm }
vm web { host a; type V5_4; run game }
vm x { host a; type V5_4; run busy }
vm y { host a; type V5_4; run busy }
vm victim { host b; type V5_4; run game }
workload game { at 60fps { rcs batch { draw 100; store 4 }; wait completion; flip; wait vblank } }
workload busy {
  loop {
    rcs batch { draw 300; store 2 }
    vcs batch { media 40 }
    rcs batch { draw 300 }
    rcs batch { draw 300 }
    rcs batch { draw 300 }
    wait completion
  }
}
timeline { at 1s migrate x to b; at 1000500us migrate y to c; run 2000ms }
expect throughput(x, 1500ms..) > 100
expect throughput(y, 1500ms..) > 100
expect violations() == 0
`;
  const { code, out, err, r, dir } = await run(text);
  try {
    assert.equal(code, 0, out + err);
    const ms = r!.migrations!;
    assert.deepEqual(ms.map((m) => m.vm), ["x", "y"]);
    for (const m of ms) {
      assert.equal(m.outcome, "done", m.reason);
      assert.equal(m.reason, undefined, `every workload queued on ${m.vm} was re-created`);
      assert.equal(m.stalePages, 0);
      const v = r!.vms.find((v) => v.name === m.vm)!;
      assert.equal(v.state, "running");
      assert.ok(v.completed >= v.submitted - 4, `${m.vm}: ${v.completed} of ${v.submitted}`);
    }
    const queued = ms.map((m) => m.queuedWorkloads);
    assert.ok(queued[0] + queued[1] >= 1, `queued at the stops: ${queued}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a VM stopped during its migration: the migration fails, the target keeps nothing", async () => {
  const text = scenario({
    migrate: "migrate x to b\n  at 1010ms stop x",
    expects: "expect violations() == 0\nexpect fps(victim) >= 55",
  });
  const { code, out, err, r, dir } = await run(text);
  try {
    assert.equal(code, 0, out + err);
    const m = only(r);
    assert.equal(m.outcome, "failed");
    assert.match(m.reason ?? "", /x was stopped/);
    assert.equal(r!.vms.find((v) => v.name === "x")!.state, "stopped");
    assert.deepEqual(r!.hosts!.map((h) => h.vms), [["web"], ["victim"]]);
    assert.equal(r!.hosts![1].violations, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second migration of a VM already migrating is refused; the first one completes", async () => {
  const text = scenario({
    migrate: "migrate x to b\n  at 1001ms migrate x to c",
    expects: "expect violations() == 0\nexpect fps(x, 1500ms..) >= 55",
  }).replace("host b skylake { hypervisor kvm }", "$&\nhost c skylake { hypervisor kvm }");
  const { code, out, err, r, dir } = await run(text);
  try {
    assert.equal(code, 0, out + err);
    assert.deepEqual(r!.migrations!.map((m) => [m.to, m.outcome, m.reason]), [
      ["b", "done", undefined],
      ["c", "failed", "x is already migrating"],
    ]);
    assert.equal(r!.vms.find((v) => v.name === "x")!.host, "b");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a VM migrates between two hosts in gScale mode too", async () => {
  const text = scenario().replaceAll("{ hypervisor kvm }", "{ hypervisor kvm; gscale on }");
  const { code, out, err, r, dir } = await run(text);
  try {
    assert.equal(code, 0, out + err);
    const m = only(r);
    assert.equal(m.outcome, "done", m.reason);
    assert.equal(m.stalePages, 0);
    assert.deepEqual(r!.hosts!.map((h) => h.violations), [0, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
