import assert from "node:assert/strict";
import { runPluginKit } from "../cli/conformance_runs.ts";
import { formatConformance } from "../core/mpt/conformance.ts";
import { BAR0, CFG, fault, GUEST_RAM, rig } from "./fixtures/mpt_setup.ts";
import { MPT_OK } from "../core/mpt/types.ts";
import { ACRN_DEFAULT_COSTS } from "../plugins/acrn.ts";
import { XEN_DEFAULT_COSTS } from "../plugins/xen.ts";

const A = ACRN_DEFAULT_COSTS;
const MiB = 1024 * 1024;
const GTT = 8 * MiB;

async function acrn(params: Record<string, number | string | boolean> = {}, n = 1) {
  const r = await rig("acrn", n, { params });
  for (let id = 1; id <= n; id++) r.gate.setTrapArea(id, BAR0, BAR0 + 16 * MiB, true);
  r.gate.takeCost();
  return r;
}

Deno.test("acrn: requests go through the shared I/O request buffer, one slot per vCPU", async () => {
  const r = await acrn();
  r.gate.guestMmioWrite(1, BAR0 + 0x2030, 4, 0x1234);
  r.gate.guestMmioWrite(1, BAR0 + GTT + 0x8, 8, 0x12_3456_7001);
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2030, 4), 0x1234);
  assert.deepEqual(r.gvt.writes.map((w) => [w.off, w.size, w.value]), [
    [0x2030, 4, 0x1234],
    [GTT + 0x8, 8, 0x12_3456_7001],
  ]);
  assert.equal(r.ctx.counter("ioreq_slot_0"), 2);
  assert.equal(r.ctx.counter("ioreq_slot_1"), 1);
  assert.equal(r.ctx.counter("notify_request_finish"), 3);
});

Deno.test("acrn: batched completion - requests while the client thread is awake skip the upcall", async () => {
  const r = await acrn();
  r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  const cold = r.gate.takeCost();
  assert.equal(cold, A.vmexit_decode + A.ioreq_upcall + A.ioreq_handle + A.notify_finish);
  r.gate.guestMmioRead(1, BAR0 + 0x2000, 4); // same instant: drained in the same wake-up
  assert.equal(r.gate.takeCost(), cold - A.ioreq_upcall);
  assert.equal(r.ctx.counter("ioreq_batched"), 1);
  r.sim.runFor(1_000_000); // the thread went back to sleep
  r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  assert.equal(r.gate.takeCost(), cold);
  assert.equal(r.ctx.counter("upcalls"), 2);
  const x = XEN_DEFAULT_COSTS;
  const xenTrip = x.hvm_exit + x.ioreq_send + x.evtchn_upcall + x.ioreq_handle + x.ioresp_notify;
  assert.ok(cold < xenTrip, `acrn ${cold} ns < xen ${xenTrip} ns per trapped access`);
});

Deno.test("acrn: completion polling replaces the notify hypercall", async () => {
  const r = await acrn({ io_polling: true });
  r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  assert.equal(r.gate.takeCost(), A.vmexit_decode + A.ioreq_upcall + A.ioreq_handle + A.io_poll);
  assert.equal(r.ctx.counter("completions_polled"), 1);
  assert.equal(r.ctx.counter("notify_request_finish"), 0);
});

Deno.test("acrn: unclaimed accesses go to the default client", async () => {
  const r = await rig("acrn");
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 4), 0xffffffff);
  assert.equal(r.ctx.counter("default_client"), 1);
  assert.equal(r.gvt.reads.length, 0);
});

Deno.test("acrn: EPT write protection delivers writes as WP requests only while enabled", async () => {
  const r = await acrn();
  const gfn = 321, gpa = gfn * 4096 + 8;
  assert.equal(r.gate.enablePageTrack(1, gfn), MPT_OK);
  assert.equal(r.gate.takeCost(), A.write_protect_hc);
  r.gate.guestMemWrite(1, gpa, 4, 0xfeed);
  assert.deepEqual(r.gvt.wp.map((w) => [w.off, w.size, w.value]), [[gpa, 4, 0xfeed]]);
  assert.equal(r.ctx.counter("ept_wp_faults"), 1);
  assert.equal(r.mems[0].read32(gpa), 0xfeed, "applied by the core");
  r.gate.disablePageTrack(1, gfn);
  r.gate.guestMemWrite(1, gpa, 4, 0xbeef);
  assert.equal(r.gvt.wp.length, 1);
  assert.equal(r.mems[0].read32(gpa), 0xbeef);
});

Deno.test("acrn: MSI by HC_INJECT_MSI once the guest enabled it", async () => {
  const r = await acrn();
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x30), false);
  r.gate.guestMmioWrite(1, CFG + 0xae, 2, 1);
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x30), true);
  r.sim.run();
  assert.deepEqual(r.msis, [{ id: 1, addr: 0xfee00000, data: 0x30, at: A.msi_latency }]);
});

Deno.test("acrn: identity DMA through GPA2HPA with a refcounted cache", async () => {
  const r = await acrn();
  const a = r.gate.dmaMapGuestPage(1, 60, 4096);
  assert.equal(a, r.mems[0].mfnOf(60) * 4096);
  assert.equal(r.gate.takeCost(), A.dma_cache_lookup + A.gpa2hpa_hc, "miss: one hypercall");
  assert.equal(r.gate.dmaMapGuestPage(1, 60, 4096), a);
  assert.equal(r.gate.takeCost(), A.dma_cache_lookup, "hit: no hypercall");
  r.gate.dmaUnmapGuestPage(1, a);
  r.gate.dmaUnmapGuestPage(1, a);
  assert.ok(r.gate.dmaPinGuestPage(1, a) < 0, "released after two unmaps");
  assert.ok(r.gate.dmaMapGuestPage(1, GUEST_RAM / 4096, 4096) < 0, "not RAM");
});

Deno.test("acrn: guest memory is already mapped (no lazy mapping), regions in one hypercall", async () => {
  const r = await acrn();
  assert.equal(r.gate.readGpa(1, 4096, new Uint8Array(2048)), MPT_OK);
  assert.equal(r.gate.takeCost(), A.gpa_access + 2 * A.gpa_copy_per_kib);
  assert.equal(r.gate.mapGfnToMfn(1, 0xe0000, 5000, 200, true), MPT_OK);
  assert.equal(r.ctx.counter("hc_set_memory_regions"), 1, "no chunking");
  assert.equal(r.gate.takeCost(), A.set_memory_regions + 200 * A.ept_per_page);
});

Deno.test("acrn: emulation errors complete the request and the VM keeps running", async () => {
  const r = await acrn();
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 3), 0xffffff, "undecodable size");
  r.gvt.emulateMmioWrite = () => {
    throw new Error("bad register");
  };
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 4, 1);
  assert.equal(r.ctx.counter("emulation_errors"), 2);
  assert.equal(r.gate.errorCount, 0, "handled inside the backend, not escaped");
  r.gvt.setReg(1, 0x2000, 4, 5);
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 4), 5, "still running");
});

Deno.test("acrn: injected faults are contained by the gate and reported per VM", async () => {
  const r = await rig("acrn", 2, {
    faults: [
      fault({ op: "guestMmioWrite", action: "throw", vm: "vm2", afterCalls: 1 }),
      fault({ op: "dmaMapGuestPage", action: "error", at: 5_000 }),
      fault({ op: "gfnToMfn", action: "delay", delay: 50_000, count: 1 }),
    ],
  });
  for (const id of [1, 2]) r.gate.setTrapArea(id, BAR0, BAR0 + 16 * MiB, true);
  r.gate.guestMmioWrite(2, BAR0 + 0x100, 4, 1); // first call passes
  r.gate.guestMmioWrite(2, BAR0 + 0x104, 4, 2); // throws
  r.gate.guestMmioWrite(1, BAR0 + 0x108, 4, 3); // other VM unaffected
  assert.deepEqual(r.gvt.writes.map((w) => [w.id, w.off]), [[2, 0x100], [1, 0x108]]);
  assert.deepEqual(r.gate.errors.map((e) => [e.op, e.vgpuId]), [["guestMmioWrite", 2]]);
  assert.ok(r.gate.dmaMapGuestPage(1, 10, 4096) >= 0, "before the fault's time");
  r.sim.runFor(10_000);
  assert.ok(r.gate.dmaMapGuestPage(1, 11, 4096) < 0, "error from t=5us: core uses scratch");
  r.gate.takeCost();
  r.gate.gfnToMfn(1, 3);
  assert.equal(r.gate.takeCost(), 50_000 + A.gpa2hpa_hc);
});

Deno.test("acrn: passes the whole conformance kit (op-by-op rules and the scenario stage)", async () => {
  const r = await runPluginKit("acrn");
  assert.equal(r.failed, 0, formatConformance(r));
  assert.ok(r.passed >= 40);
});
