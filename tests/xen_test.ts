import assert from "node:assert/strict";
import { runPluginKit } from "../cli/conformance_runs.ts";
import { formatConformance } from "../core/mpt/conformance.ts";
import { BAR0, CFG, fault, GUEST_RAM, rig } from "./fixtures/mpt_setup.ts";
import { MPT_EIO, MPT_OK } from "../core/mpt/types.ts";
import { XEN_DEFAULT_COSTS, type XenBackend } from "../plugins/xen.ts";
import { KVM_DEFAULT_COSTS } from "../plugins/kvm.ts";

const X = XEN_DEFAULT_COSTS;
const MiB = 1024 * 1024;
const GTT = 8 * MiB;
const ROUND_TRIP = X.ioreq_send + X.evtchn_upcall + X.ioreq_handle + X.ioresp_notify;

async function xen(params: Record<string, number | string | boolean> = {}, n = 1) {
  const r = await rig("xen", n, { params });
  for (let id = 1; id <= n; id++) r.gate.setTrapArea(id, BAR0, BAR0 + 16 * MiB, true);
  r.gate.takeCost();
  return { ...r, xen: r.gate.backend as XenBackend };
}

Deno.test("xen: one ioreq slot per vCPU, accesses pass whole through the ioreq server", async () => {
  const r = await xen();
  r.gate.guestMmioWrite(1, BAR0 + 0x2030, 4, 0x1234);
  r.gate.guestMmioWrite(1, BAR0 + GTT + 0x40, 8, 0x12_3456_7001);
  r.gate.guestMmioWrite(1, BAR0 + 0x101, 4, 0xaabbccdd); // unaligned: still one request
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2030, 4), 0x1234);
  assert.deepEqual(r.gvt.writes.map((w) => [w.off, w.size, w.value]), [
    [0x2030, 4, 0x1234],
    [GTT + 0x40, 8, 0x12_3456_7001],
    [0x101, 4, 0xaabbccdd],
  ]);
  assert.equal(r.ctx.counter("ioreqs"), 4);
  assert.equal(r.ctx.counter("ioreq_slot_0"), 2, "vCPU 0's slot");
  assert.equal(r.ctx.counter("ioreq_slot_1"), 2, "vCPU 1's slot");
  assert.equal(r.ctx.counter("evtchn_notify"), 4);
});

Deno.test("xen: an ioreq round trip costs each step, and more than a KVM exit to QEMU", async () => {
  const r = await xen();
  r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  const xenCost = r.gate.takeCost();
  assert.equal(xenCost, X.hvm_exit + ROUND_TRIP);
  const k = await rig("kvm");
  k.gate.takeCost();
  k.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  const kvmCost = k.gate.takeCost();
  assert.equal(kvmCost, KVM_DEFAULT_COSTS.mmio_exit + KVM_DEFAULT_COSTS.vfio_rw);
  assert.ok(xenCost > kvmCost, `xen ${xenCost} ns vs kvm ${kvmCost} ns`);
  const fast = await xen({ evtchn_upcall: 0 });
  fast.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  assert.equal(fast.gate.takeCost(), xenCost - X.evtchn_upcall, "params override costs");
});

Deno.test("xen: BAR0 accesses before setTrapArea are not trapped (unhandled)", async () => {
  const r = await rig("xen");
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 4), 0xffffffff);
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 4, 7);
  assert.equal(r.gvt.writes.length + r.gvt.reads.length, 0);
  assert.equal(r.ctx.counter("unhandled_mmio"), 2);
  assert.equal(r.gate.setTrapArea(1, BAR0, BAR0 + 16 * MiB, true), MPT_OK);
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 4, 7);
  assert.equal(r.gvt.writes.length, 1);
  r.gate.setTrapArea(1, BAR0, BAR0 + 16 * MiB, false);
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 4, 8);
  assert.equal(r.gvt.writes.length, 1, "released again");
  assert.equal(r.ctx.counter("unhandled_mmio"), 3);
});

Deno.test("xen: write protection by page type; trapped writes travel the ioreq path", async () => {
  const r = await xen();
  const gfn = 400, gpa = gfn * 4096 + 16;
  assert.equal(r.gate.enablePageTrack(1, gfn), MPT_OK);
  assert.equal(r.gate.takeCost(), X.set_mem_type);
  r.gate.guestMemWrite(1, gpa, 8, 0xabc001);
  assert.deepEqual(r.gvt.wp.map((w) => [w.off, w.size, w.value]), [[gpa, 8, 0xabc001]]);
  assert.equal(r.mems[0].read64(gpa), 0xabc001, "applied by the core through writeGpa");
  assert.equal(r.ctx.counter("p2m_ioreq_faults"), 1);
  assert.equal(r.ctx.counter("ioreqs"), 1);
  const c = r.gate.takeCost();
  assert.ok(c >= X.hvm_exit + X.p2m_ioreq_fault + ROUND_TRIP, `trapped write cost ${c}`);
  assert.equal(r.gate.disablePageTrack(1, gfn), MPT_OK);
  r.gate.guestMemWrite(1, gpa, 4, 5);
  assert.equal(r.gvt.wp.length, 1);
  assert.equal(r.mems[0].read32(gpa), 5);
});

Deno.test("xen: MSI by dm_op, only once the guest enabled MSI", async () => {
  const r = await xen();
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), false);
  assert.equal(r.ctx.counter("msi_dropped_disabled"), 1);
  r.gate.guestMmioWrite(1, CFG + 0xae, 2, 1);
  assert.equal(r.ctx.counter("ioreq_slot_0") + r.ctx.counter("ioreq_slot_1"), 1, "cfg ioreq");
  r.gate.takeCost();
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), true);
  assert.equal(r.gate.takeCost(), X.dm_op);
  r.sim.run();
  assert.deepEqual(r.msis, [{ id: 1, addr: 0xfee00000, data: 0x41, at: X.msi_latency }]);
});

Deno.test("xen: gfnToMfn logs the gfn dirty; the log is flushed on deschedule", async () => {
  const r = await xen();
  for (const g of [10, 11, 12, 40, 41, 90]) assert.equal(r.gate.gfnToMfn(1, g), r.mems[0].mfnOf(g));
  r.gate.gfnToMfn(1, 11); // already dirty
  assert.equal(r.ctx.counter("dirty_logged"), 6);
  r.gate.takeCost();
  r.gate.vgpuDescheduled(1);
  assert.equal(r.ctx.counter("dirty_flushes"), 1);
  assert.equal(r.ctx.counter("dirty_pages_flushed"), 6);
  assert.equal(r.ctx.counter("dirty_extents_flushed"), 3, "10-12, 40-41, 90");
  assert.equal(r.gate.takeCost(), X.dirty_flush + 3 * X.dirty_flush_per_extent);
  r.gate.vgpuDescheduled(1);
  assert.equal(r.ctx.counter("dirty_flushes"), 1, "nothing new to flush");
  assert.equal(r.gate.takeCost(), 0);
  assert.equal(r.gate.gfnToMfn(1, GUEST_RAM / 4096 + 1), -1, "not RAM: nothing logged");
  assert.equal(r.ctx.counter("dirty_logged"), 6);
});

Deno.test("xen: identity DMA mapping with balanced references", async () => {
  const r = await xen();
  const a = r.gate.dmaMapGuestPage(1, 77, 4096);
  assert.equal(a, r.mems[0].mfnOf(77) * 4096, "device address = machine address");
  assert.equal(r.gate.dmaMapGuestPage(1, 77, 4096), a);
  assert.equal(r.gate.dmaPinGuestPage(1, a), MPT_OK);
  for (let i = 0; i < 3; i++) r.gate.dmaUnmapGuestPage(1, a);
  assert.ok(r.gate.dmaPinGuestPage(1, a) < 0, "released");
  assert.equal(r.ctx.counter("dirty_logged"), 1, "DMA-mapped pages may be GPU-written");
});

Deno.test("xen: mapGfnToMfn in chunks of 64 pages, halved on E2BIG", async () => {
  const r = await xen();
  assert.equal(r.gate.mapGfnToMfn(1, 0xe0000, 5000, 200, true), MPT_OK);
  assert.equal(r.ctx.counter("domctl_memory_mapping"), 4, "64 + 64 + 64 + 8");
  assert.equal(r.ctx.counter("domctl_e2big"), 0);
  assert.equal(r.gate.takeCost(), 4 * X.domctl_mapping + 200 * X.domctl_per_page);
  const s = await xen({ domctl_max_pages: 20 });
  assert.equal(s.gate.mapGfnToMfn(1, 0xe0000, 5000, 200, true), MPT_OK);
  // 64 E2BIG, 32 E2BIG, then 12 x 16 + 8
  assert.equal(s.ctx.counter("domctl_e2big"), 2);
  assert.equal(s.ctx.counter("domctl_chunk_halved"), 2);
  assert.equal(s.ctx.counter("domctl_memory_mapping"), 2 + 13);
  assert.equal(s.gate.takeCost(), 15 * X.domctl_mapping + 200 * X.domctl_per_page);
});

Deno.test("xen: the foreign mapping of guest RAM is built lazily on first access", async () => {
  const r = await xen();
  const buf = new Uint8Array(1024);
  assert.equal(r.gate.readGpa(1, 4096, buf), MPT_OK);
  const first = r.gate.takeCost();
  const build = X.foreign_map_base + X.foreign_map_per_mib * (GUEST_RAM / MiB);
  assert.equal(first, X.gpa_access + build + X.gpa_copy_per_kib);
  assert.equal(r.gate.writeGpa(1, 8192, buf), MPT_OK);
  assert.equal(r.gate.takeCost(), X.gpa_access + X.gpa_copy_per_kib, "mapping reused");
  assert.equal(r.ctx.counter("foreign_map_built"), 1);
});

Deno.test("xen: an undecodable access crashes the domain; the crash is queryable", async () => {
  const r = await xen();
  assert.equal(r.xen.crashed(1), false);
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 3, 0xabcdef);
  assert.equal(r.xen.crashed(1), true);
  assert.equal(r.ctx.counter("domain_crashed"), 1);
  assert.ok(r.ctx.logLines.some((l) => l.includes("emulation error")));
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 4, 1);
  assert.equal(r.gvt.writes.length, 0, "paused: vCPUs no longer run");
  assert.equal(r.ctx.counter("paused_domain_access"), 1);
  r.gate.guestMmioWrite(1, CFG + 0xae, 2, 1);
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), false, "no MSI into a crashed domain");
  assert.equal(r.gate.enablePageTrack(1, 5), MPT_EIO);
  assert.equal(r.gate.errorCount, 0, "a crash is a reaction, not a plugin error");
});

Deno.test("xen: a mediator failure inside the ioreq handler crashes that domain only", async () => {
  const r = await xen({}, 2);
  r.gvt.emulateMmioRead = () => {
    throw new Error("bad register");
  };
  assert.equal(r.gate.guestMmioRead(2, BAR0 + 0x2000, 4), 0xffffffff);
  assert.equal(r.xen.crashed(2), true);
  assert.equal(r.xen.crashed(1), false);
  r.gate.guestMmioWrite(1, BAR0 + 0x2000, 4, 9);
  assert.equal(r.gvt.writes.length, 1, "the other domain keeps running");
});

Deno.test("xen: injected faults are contained; trap-path failures reported via opFailed crash", async () => {
  const r = await rig("xen", 2, {
    faults: [
      fault({ op: "guestMmioRead", action: "throw", vm: "vm1" }),
      fault({ op: "injectMsi", action: "error" }),
      fault({ op: "dmaMapGuestPage", action: "wrong", count: 1 }),
    ],
  });
  const x = r.gate.backend as XenBackend;
  r.gate.setTrapArea(1, BAR0, BAR0 + 16 * MiB, true);
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2000, 4), 0xffffffff);
  assert.deepEqual(
    r.gate.errors.map((e) => [e.op, e.vgpuId, e.message]),
    [["guestMmioRead", 1, "InjectedThrow: injected fault: guestMmioRead threw"]],
  );
  // the gate told the backend about the failed trap-path op: the domain is crashed
  assert.equal(r.gate.crashedCount, 1);
  assert.equal(x.crashed(1), true);
  assert.equal(x.opFailed(1, "guestMmioRead"), false, "already crashed");
  assert.equal(x.opFailed(2, "dmaMapGuestPage"), false, "not a trap-path op: no crash");
  assert.equal(x.crashed(2), false);
  r.gate.guestMmioWrite(2, CFG + 0xae, 2, 1);
  assert.equal(r.gate.injectMsi(2, 0xfee00000, 1), false, "injected dm_op error drops the MSI");
  assert.equal(r.gate.dmaMapGuestPage(2, 50, 4096), 0, "wrong: a page the VM does not own");
  assert.equal(r.gate.dmaMapGuestPage(2, 50, 4096), r.mems[1].mfnOf(50) * 4096);
  assert.equal(r.gate.faultCount, 3);
});

Deno.test("xen: detach destroys the ioreq server state; re-attach gets fresh slots", async () => {
  const r = await xen();
  r.gate.readGpa(1, 0, new Uint8Array(8));
  r.gate.enablePageTrack(1, 9);
  r.gate.takeCost();
  r.gate.detachVgpu(1);
  assert.equal(r.gate.takeCost(), X.ioreq_server_destroy + X.foreign_unmap);
  r.gate.attachVgpu({
    id: 1,
    vm: "vm1",
    memory: GUEST_RAM,
    vcpus: 4,
    bar0: BAR0,
    bar2: 0,
    cfg: CFG,
  });
  r.gate.setTrapArea(1, BAR0, BAR0 + 16 * MiB, true);
  for (let i = 0; i < 4; i++) r.gate.guestMmioRead(1, BAR0, 4);
  assert.equal(r.ctx.counter("ioreq_slot_3"), 1, "4 vCPUs, 4 slots");
  r.gate.guestMemWrite(1, 9 * 4096, 4, 1);
  assert.equal(r.gvt.wp.length, 0, "page type reset by detach");
});

Deno.test("xen: passes the whole conformance kit (op-by-op rules and the scenario stage)", async () => {
  const r = await runPluginKit("xen");
  assert.equal(r.failed, 0, formatConformance(r));
  assert.ok(r.passed >= 40);
});
