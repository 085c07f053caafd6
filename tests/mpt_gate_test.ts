import assert from "node:assert/strict";
import { fault, rig } from "./fixtures/mpt_setup.ts";
import { DEFAULT_COSTS, MptGate } from "../core/mpt/gate.ts";
import { MPT_EINVAL, MPT_EIO, MPT_ENOMEM, MPT_OK } from "../core/mpt/types.ts";
import { Sim } from "../core/sim/sim.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import templateFactory from "../plugins/template.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

Deno.test("costs: declared cost plus ctx.charge() time, drained by takeCost", async () => {
  const r = await rig("kvm");
  r.gate.takeCost();
  const cost = r.gate.costOfOp("dmaMapGuestPage");
  assert.equal(cost, r.gate.backend.costs.dmaMapGuestPage);
  const dma = r.gate.dmaMapGuestPage(1, 300, 4096);
  assert.ok(dma >= 0);
  const miss = r.gate.takeCost();
  assert.ok(miss > cost, `a miss pins a page: ${miss} > ${cost}`);
  assert.equal(r.gate.takeCost(), 0, "takeCost resets");
  assert.equal(r.gate.dmaMapGuestPage(1, 300, 4096), dma);
  assert.equal(r.gate.takeCost(), cost, "a cache hit costs only the lookup");
  assert.equal(r.gate.opCount("dmaMapGuestPage", 1), 2);
  assert.equal(r.gate.opCount("dmaMapGuestPage", 2), 0);
  assert.equal(r.gate.opCounts.dmaMapGuestPage, 2);
  assert.ok(r.gate.costFor(1) >= miss + cost);
});

Deno.test("costs: defaults when the backend declares none; scenario overrides win", () => {
  const sim = new Sim(1);
  const ctx = new SimBackendContext(sim);
  const b = templateFactory(ctx);
  const bare = { ...b, costs: {} };
  const g = new MptGate(sim, bare, "t", [], { costs: { readGpa: 77 } });
  assert.equal(g.costOfOp("injectMsi"), DEFAULT_COSTS.injectMsi);
  assert.equal(g.costOfOp("readGpa"), 77);
});

Deno.test("nativeOps: optional ops native vs fallback; generic dmaPin fallback balances", async () => {
  const k = await rig("kvm");
  const n = k.gate.nativeOps();
  assert.ok(n.native.includes("dmaPinGuestPage"));
  assert.ok(n.fallback.includes("mapGfnToMfn") && n.fallback.includes("setTrapArea"));
  const t = await rig(fixture("minimal_backend.ts").href);
  for (const op of ["dmaPinGuestPage", "isValidGfn", "detachVgpu", "mapGfnToMfn"]) {
    assert.ok(t.gate.nativeOps().fallback.includes(op), op);
  }
  const dma = t.gate.dmaMapGuestPage(1, 400, 4096);
  assert.equal(t.gate.dmaPinGuestPage(1, dma), MPT_OK);
  assert.equal(t.gate.dmaPinGuestPage(1, 12345 * 4096), MPT_EINVAL);
  assert.equal(t.gate.mapGfnToMfn(1, 0, 0, 1, true), MPT_OK, "absent optional op: OK");
  // absent isValidGfn: every gfn is valid (as mpt.h); the DMA map then fails for a hole
  assert.equal(t.gate.isValidGfn(1, 64 * 1024 * 1024 / 4096 + 9), true);
  assert.ok(t.gate.dmaMapGuestPage(1, 64 * 1024 * 1024 / 4096 + 9, 4096) < 0);
  // absent detachVgpu: the gate forgets the handle; the id can be attached again
  t.gate.detachVgpu(1);
  assert.equal(t.gate.isAttached(1), false);
  assert.equal(t.gate.errors.length, 0);
});

Deno.test("fault error: returns each op's failure value without calling the backend", async () => {
  const r = await rig("kvm", 1, {
    faults: [
      fault({ op: "dmaMapGuestPage", action: "error" }),
      fault({ op: "injectMsi", action: "error" }),
      fault({ op: "isValidGfn", action: "error" }),
      fault({ op: "enablePageTrack", action: "error" }),
      fault({ op: "gfnToMfn", action: "error" }),
      fault({ op: "guestMmioRead", action: "error" }),
    ],
  });
  assert.equal(r.gate.dmaMapGuestPage(1, 300, 4096), MPT_ENOMEM);
  assert.equal(r.ctx.counter("dma_cache_miss"), 0, "backend not called");
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0), false);
  assert.equal(r.gate.isValidGfn(1, 5), false);
  assert.equal(r.gate.enablePageTrack(1, 5), MPT_EIO);
  assert.equal(r.gate.gfnToMfn(1, 5), -1);
  assert.equal(r.gate.guestMmioRead(1, 0xf000_0000, 4), 0xffffffff);
  assert.equal(r.gate.faultCount, 6);
  assert.deepEqual(r.gate.faultsInjected.map((f) => f.action), Array(6).fill("error"));
  assert.equal(r.gate.errors.length, 0);
});

Deno.test("fault throw: the backend op throws, is recorded and not rethrown", async () => {
  const r = await rig("kvm", 1, { faults: [fault({ op: "readGpa", action: "throw" })] });
  assert.equal(r.gate.readGpa(1, 0x1000, new Uint8Array(8)), MPT_EIO);
  assert.equal(r.gate.errors.length, 1);
  assert.deepEqual(
    { ...r.gate.errors[0], at: 0 },
    {
      plugin: "plugins/kvm.ts (kvm)",
      op: "readGpa",
      vgpuId: 1,
      message: "InjectedThrow: injected fault: readGpa threw",
      at: 0,
    },
  );
});

Deno.test("fault wrong: foreign dma address, msi reported delivered but dropped, inverted gfn", async () => {
  const r = await rig("kvm", 1, {
    faults: [
      fault({ op: "dmaMapGuestPage", action: "wrong" }),
      fault({ op: "injectMsi", action: "wrong" }),
      fault({ op: "isValidGfn", action: "wrong" }),
    ],
    gate: { wrongDmaAddress: 0 },
  });
  const dma = r.gate.dmaMapGuestPage(1, 300, 4096);
  assert.equal(dma, 0);
  assert.notEqual(r.host.ownerOf(dma / 4096), 1, "not a page of the VM");
  // make MSI deliverable, then the wrong fault still drops it
  r.gate.guestMmioWrite(1, 0xd000_0000 + 0xae, 2, 1);
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), true);
  r.sim.run();
  assert.equal(r.msis.length, 0, "reported delivered, but dropped");
  assert.equal(r.gate.isValidGfn(1, 5), false);
});

Deno.test("fault delay, at time T, after N calls, one VM, count-limited", async () => {
  const r = await rig("kvm", 2, {
    faults: [
      fault({ op: "gfnToMfn", action: "delay", delay: 50_000, vm: "vm2" }),
      fault({ op: "isValidGfn", action: "error", afterCalls: 2, count: 2 }),
      fault({ op: "gfnToMfn", action: "error", at: 1_000_000, vm: "vm1" }),
    ],
  });
  r.gate.takeCost();
  r.gate.gfnToMfn(1, 5);
  const c1 = r.gate.takeCost();
  r.gate.gfnToMfn(2, 5);
  assert.equal(r.gate.takeCost(), c1 + 50_000, "delay only for vm2");
  const valid = [1, 1, 1, 1, 1].map(() => r.gate.isValidGfn(1, 5));
  assert.deepEqual(valid, [true, true, false, false, true], "after 2 calls, 2 times");
  assert.ok(r.gate.gfnToMfn(1, 5) >= 0, "not yet at T");
  r.sim.runUntil(1_000_000);
  assert.equal(r.gate.gfnToMfn(1, 5), -1, "from T on");
  assert.ok(r.gate.gfnToMfn(2, 5) >= 0, "other VM unaffected");
  assert.equal(r.gate.faultCount, 2 + 2 + 1);
});

Deno.test("a throwing backend: errors name plugin, op and vGPU; never rethrown", async () => {
  const r = await rig(fixture("plugin_throwing.ts").href);
  assert.equal(r.gate.dmaMapGuestPage(1, 300, 4096), MPT_ENOMEM);
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0), false);
  assert.equal(r.gate.gfnToMfn(1, 3), -1);
  assert.equal(r.gate.errors.length, 3);
  const [a, b, c] = r.gate.errors;
  assert.match(a.plugin, /plugin_throwing\.ts \(throwing\)$/);
  assert.deepEqual([a.op, a.vgpuId, a.message], [
    "dmaMapGuestPage",
    1,
    "RangeError: cannot pin gfn 300",
  ]);
  assert.deepEqual([b.op, b.message], ["injectMsi", "string thrown"]);
  assert.deepEqual([c.op, c.message], ["gfnToMfn", "returned string, expected a number"]);
  assert.ok(r.gate.takeCost() > 0, "failed ops still cost time");
});

Deno.test("ops on an unattached vGPU fail and are recorded as gate errors", async () => {
  const r = await rig("kvm", 1);
  assert.equal(r.gate.readGpa(3, 0, new Uint8Array(4)), MPT_EINVAL);
  assert.equal(r.gate.errors[0].plugin, "gate");
  r.gate.detachVgpu(1);
  assert.equal(r.gate.isAttached(1), false);
  assert.equal(r.gate.injectMsi(1, 0, 0), false);
  assert.equal(
    r.gate.attachVgpu({ id: 1, vm: "vm1", memory: 0, vcpus: 1, bar0: 0, bar2: 0 }),
    true,
  );
});

for (const name of ["kvm", "template"]) {
  Deno.test(`${name}: basic contract through the gate`, async () => {
    const r = await rig(name);
    const data = new Uint8Array([1, 2, 3, 4, 5]);
    assert.equal(r.gate.writeGpa(1, 0x5003, data), MPT_OK);
    const back = new Uint8Array(5);
    assert.equal(r.gate.readGpa(1, 0x5003, back), MPT_OK);
    assert.deepEqual(back, data);
    assert.ok(r.gate.readGpa(1, 64 * 1024 * 1024, back) < 0, "out of bounds fails");
    assert.equal(r.gate.isValidGfn(1, 64 * 1024 * 1024 / 4096), false);
    const dma = r.gate.dmaMapGuestPage(1, 77, 4096);
    assert.equal(r.host.ownerOf(Math.floor(dma / 4096)), 1, "DMA address is the VM's page");
    r.gate.dmaUnmapGuestPage(1, dma);
    assert.equal(r.gate.enablePageTrack(1, 9), MPT_OK);
    r.gate.guestMemWrite(1, 9 * 4096, 4, 0x1234);
    assert.equal(r.gvt.wp.length, 1);
    assert.equal(r.gate.disablePageTrack(1, 9), MPT_OK);
    r.gate.guestMemWrite(1, 9 * 4096, 4, 0x99);
    assert.equal(r.gvt.wp.length, 1);
    r.gate.setTrapArea(1, 0xf000_0000, 0xf100_0000, true); // as the core does at BAR set-up
    r.gate.guestMmioWrite(1, 0xf000_0000 + 0x2000, 4, 5);
    assert.deepEqual(r.gvt.writes.at(-1), { id: 1, off: 0x2000, size: 4, value: 5 });
    r.gate.detachVgpu(1);
    assert.equal(r.gate.errors.length, 0);
  });
}
