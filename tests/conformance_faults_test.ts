/**
 * Fault injection at the backend level: every action kind on the ops the mediator depends
 * on, for each built-in backend; faults are contained by the gate, reported with plugin, op
 * and vGPU, and each backend reacts as its real counterpart does.
 */
import assert from "node:assert/strict";
import { BAR0, CFG, fault, rig } from "./fixtures/mpt_setup.ts";
import type { XenBackend } from "../plugins/xen.ts";

const MiB = 1024 * 1024;
const BACKENDS = ["kvm", "xen", "acrn"];

async function faulty(name: string, faults: Parameters<typeof fault>[0][]) {
  const r = await rig(name, 2, { faults: faults.map(fault) });
  for (const id of [1, 2]) {
    r.gate.setTrapArea(id, BAR0, BAR0 + 16 * MiB, true);
    r.gate.guestMmioWrite(id, CFG + 0xae, 2, 1); // the guest enables MSI
  }
  r.gate.takeCost();
  return r;
}

for (const name of BACKENDS) {
  Deno.test(`${name}: "error" faults give each op's failure value; the other VM is untouched`, async () => {
    const r = await faulty(name, [
      { op: "dmaMapGuestPage", action: "error", vm: "vm1" },
      { op: "injectMsi", action: "error", vm: "vm1" },
      { op: "readGpa", action: "error", vm: "vm1" },
      { op: "enablePageTrack", action: "error", vm: "vm1" },
    ]);
    assert.ok(r.gate.dmaMapGuestPage(1, 10, 4096) < 0, "core points the entry at scratch");
    assert.equal(r.gate.injectMsi(1, 0xfee00000, 1), false, "MSI dropped");
    assert.ok(r.gate.readGpa(1, 0, new Uint8Array(8)) < 0);
    assert.ok(r.gate.enablePageTrack(1, 10) < 0);
    assert.ok(r.gate.dmaMapGuestPage(2, 10, 4096) >= 0);
    assert.equal(r.gate.injectMsi(2, 0xfee00000, 1), true);
    assert.equal(r.gate.faultCount, 4);
    assert.equal(r.gate.errorCount, 0, "an error fault is not a plugin error");
  });

  Deno.test(`${name}: "throw" faults are caught and name plugin, op and vGPU`, async () => {
    const r = await faulty(name, [
      { op: "gfnToMfn", action: "throw" },
      { op: "guestMmioWrite", action: "throw", vm: "vm2", afterCalls: 1, count: 1 },
    ]);
    assert.equal(r.gate.gfnToMfn(1, 5), -1);
    r.gate.guestMmioWrite(2, BAR0 + 0x2000, 4, 1);
    r.gate.guestMmioWrite(2, BAR0 + 0x2000, 4, 2);
    // A type-1 design (xen) treats the failed emulation as fatal: the gate reports it
    // through opFailed and the domain is crashed, so the next write is never emulated.
    const crashes = typeof (r.gate.backend as Partial<XenBackend>).crashed === "function";
    assert.deepEqual(
      r.gvt.writes.map((w) => [w.id, w.value]),
      crashes ? [] : [[2, 2]],
      "after the setup write, once (or never, after a crash)",
    );
    assert.equal(r.gate.crashed(2), crashes);
    assert.deepEqual(
      r.gate.errors.map((e) => [e.plugin, e.op, e.vgpuId]),
      [[`plugins/${name}.ts (${name})`, "gfnToMfn", 1], [
        `plugins/${name}.ts (${name})`,
        "guestMmioWrite",
        2,
      ]],
    );
  });

  Deno.test(`${name}: "wrong" and "delay" faults`, async () => {
    const r = await faulty(name, [
      { op: "dmaMapGuestPage", action: "wrong", afterCalls: 1, count: 1 },
      { op: "isValidGfn", action: "wrong", count: 1 },
      { op: "injectMsi", action: "wrong", count: 1 },
      { op: "guestMmioRead", action: "delay", delay: 100_000, count: 1 },
    ]);
    const good = r.gate.dmaMapGuestPage(1, 20, 4096);
    assert.equal(r.gate.dmaMapGuestPage(1, 21, 4096), 0, "a page the VM does not own");
    assert.notEqual(good, 0);
    assert.equal(r.gate.isValidGfn(1, 20), false, "inverted");
    assert.equal(r.gate.injectMsi(1, 0xfee00000, 1), true, "reported delivered...");
    r.sim.run();
    assert.equal(r.msis.length, 0, "...but dropped");
    r.sim.runFor(1_000_000);
    r.gate.takeCost();
    r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
    const slow = r.gate.takeCost();
    r.sim.runFor(1_000_000);
    r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
    assert.equal(slow - r.gate.takeCost(), 100_000);
  });
}

Deno.test("xen: a trap-path fault the core reports through opFailed crashes only that domain", async () => {
  const r = await faulty("xen", [{ op: "guestMemWrite", action: "throw", vm: "vm2" }]);
  const x = r.gate.backend as XenBackend;
  r.gate.guestMemWrite(2, 4096, 4, 1);
  assert.equal(r.gate.errors[0].op, "guestMemWrite");
  assert.equal(r.gate.crashedCount, 1, "the gate reported the failure through opFailed");
  assert.equal(x.opFailed(2, "guestMemWrite"), false, "already crashed");
  assert.deepEqual([x.crashed(1), x.crashed(2)], [false, true]);
  assert.equal(r.gate.injectMsi(2, 0xfee00000, 1), false);
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 1), true);
});

Deno.test("kvm and acrn: the same trap-path fault leaves the VM running", async () => {
  for (const name of ["kvm", "acrn"]) {
    const r = await faulty(name, [{ op: "guestMmioRead", action: "throw", count: 1 }]);
    assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 4), 0xffffffff);
    r.gvt.setReg(1, 0x2000, 4, 3);
    assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 4), 3, `${name} keeps running`);
    assert.equal(typeof (r.gate.backend as Partial<XenBackend>).crashed, "undefined");
  }
});
