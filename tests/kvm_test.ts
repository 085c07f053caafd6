import assert from "node:assert/strict";
import { BAR0, CFG, GUEST_RAM, rig } from "./fixtures/mpt_setup.ts";
import { MPT_EFAULT, MPT_EINVAL, MPT_ENOMEM, MPT_OK } from "../core/mpt/types.ts";
import { KVM_DEFAULT_COSTS } from "../plugins/kvm.ts";

const GTT = 8 * 1024 * 1024;

Deno.test("kvm: 8-byte aligned GTT accesses pass whole, others split 4/2/1", async () => {
  const r = await rig("kvm");
  r.gate.guestMmioWrite(1, BAR0 + GTT + 0x40, 8, 0x12_3456_7001);
  assert.deepEqual(r.gvt.writes.map((w) => [w.off, w.size, w.value]), [
    [GTT + 0x40, 8, 0x12_3456_7001],
  ]);
  r.gvt.writes.length = 0;
  r.gate.guestMmioWrite(1, BAR0 + 0x2230, 8, 0x1_0000_0002); // register space: split
  assert.deepEqual(r.gvt.writes.map((w) => [w.off, w.size, w.value]), [
    [0x2230, 4, 2],
    [0x2234, 4, 1],
  ]);
  r.gvt.writes.length = 0;
  r.gate.guestMmioWrite(1, BAR0 + GTT + 0x44, 8, 0x0605_0403_0201); // unaligned GTT: split
  assert.deepEqual(r.gvt.writes.map((w) => [w.off, w.size]), [[GTT + 0x44, 4], [GTT + 0x48, 4]]);
  r.gvt.writes.length = 0;
  r.gate.guestMmioWrite(1, BAR0 + 0x101, 4, 0xaabbccdd); // odd: 1, 2, 1
  assert.deepEqual(r.gvt.writes.map((w) => [w.off, w.size, w.value]), [
    [0x101, 1, 0xdd],
    [0x102, 2, 0xbbcc],
    [0x104, 1, 0xaa],
  ]);
  r.gvt.setReg(1, 0x2230, 4, 0x11111111);
  r.gvt.setReg(1, 0x2234, 4, 0x2);
  assert.equal(r.gate.guestMmioRead(1, BAR0 + 0x2230, 8), 0x2_1111_1111);
  assert.equal(r.ctx.counter("vfio_rw_pieces"), 1 + 2 + 2 + 3 + 2);
  assert.equal(r.ctx.counter("mmio_exits"), 5);
  r.gate.takeCost();
  r.gate.guestMmioRead(1, BAR0 + 0x2230, 8);
  assert.equal(r.gate.takeCost(), KVM_DEFAULT_COSTS.mmio_exit + 2 * KVM_DEFAULT_COSTS.vfio_rw);
  assert.equal(r.gate.guestMmioRead(1, 0x1000, 4), 0xffffffff, "unassigned address");
});

Deno.test("kvm: scenario params override costs", async () => {
  const r = await rig("kvm", 1, { params: { mmio_exit: 10_000, vfio_rw: 0 } });
  r.gate.takeCost();
  r.gate.guestMmioRead(1, BAR0 + 0x2000, 4);
  assert.equal(r.gate.takeCost(), 10_000);
});

Deno.test("kvm: MSI dropped until the guest enables MSI (eventfd installed)", async () => {
  const r = await rig("kvm");
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), false);
  assert.equal(r.ctx.counter("msi_dropped_no_eventfd"), 1);
  r.gate.guestMmioWrite(1, CFG + 0xae, 2, 1); // MSI control: enable
  assert.equal(r.ctx.counter("eventfd_installed"), 1);
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), true);
  assert.equal(r.msis.length, 0, "irqfd latency");
  r.sim.run();
  assert.deepEqual(r.msis, [{
    id: 1,
    addr: 0xfee00000,
    data: 0x41,
    at: KVM_DEFAULT_COSTS.irqfd_latency,
  }]);
  r.gate.guestMmioWrite(1, CFG + 0xae, 2, 0); // disable again
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), false);
});

Deno.test("kvm: param eventfd=false never installs the eventfd", async () => {
  const r = await rig("kvm", 1, { params: { eventfd: false } });
  r.gate.guestMmioWrite(1, CFG + 0xae, 2, 1);
  assert.equal(r.gvt.cfg(1)[0xae], 1, "the config write itself reached the mediator");
  assert.equal(r.gate.injectMsi(1, 0xfee00000, 0x41), false);
});

Deno.test("kvm: page track delivers writes only while enabled", async () => {
  const r = await rig("kvm");
  const gfn = 500, gpa = gfn * 4096 + 8;
  r.gate.guestMemWrite(1, gpa, 8, 0xabc001);
  assert.equal(r.gvt.wp.length, 0);
  assert.equal(r.mems[0].read64(gpa), 0xabc001, "plain store");
  assert.equal(r.gate.enablePageTrack(1, gfn), MPT_OK);
  r.gate.takeCost();
  r.gate.guestMemWrite(1, gpa, 8, 0xdef001);
  assert.deepEqual(r.gvt.wp, [{ id: 1, off: gpa, size: 8, value: 0xdef001 }]);
  assert.equal(r.mems[0].read64(gpa), 0xdef001, "applied by the core via writeGpa");
  assert.ok(r.gate.takeCost() >= KVM_DEFAULT_COSTS.page_track_fault);
  r.gate.guestMemWrite(1, (gfn + 1) * 4096, 4, 7);
  assert.equal(r.gvt.wp.length, 1, "neighbouring page not tracked");
  assert.equal(r.gate.disablePageTrack(1, gfn), MPT_OK);
  r.gate.guestMemWrite(1, gpa, 4, 0x55);
  assert.equal(r.gvt.wp.length, 1);
  assert.equal(r.mems[0].read32(gpa), 0x55);
  assert.equal(r.gate.enablePageTrack(1, GUEST_RAM / 4096), MPT_EINVAL, "outside memslots");
});

Deno.test("kvm: DMA cache refcounts by gfn and dma address, hits and misses", async () => {
  const r = await rig("kvm");
  const a = r.gate.dmaMapGuestPage(1, 100, 4096);
  const b = r.gate.dmaMapGuestPage(1, 100, 4096);
  assert.equal(a, b);
  assert.equal(a, r.mems[0].mfnOf(100) * 4096, "device address = host physical");
  assert.equal(r.host.ownerOf(a / 4096), 1);
  assert.equal(r.ctx.counter("dma_cache_miss"), 1);
  assert.equal(r.ctx.counter("dma_cache_hit"), 1);
  assert.equal(r.gate.dmaPinGuestPage(1, a), MPT_OK);
  assert.equal(r.gate.dmaPinGuestPage(1, 4096 * 9999), MPT_ENOMEM, "unknown dma address");
  for (let i = 0; i < 3; i++) r.gate.dmaUnmapGuestPage(1, a);
  assert.equal(r.ctx.counter("pages_unpinned"), 1, "unpinned once the 3 refs are gone");
  r.gate.dmaMapGuestPage(1, 100, 4096);
  assert.equal(r.ctx.counter("dma_cache_miss"), 2, "miss again after release");
  r.gate.dmaUnmapGuestPage(1, 12345);
  assert.equal(r.ctx.counter("dma_unmap_unknown"), 1);
  assert.equal(r.gate.dmaMapGuestPage(1, GUEST_RAM / 4096 + 3, 4096), MPT_EFAULT);
  assert.equal(r.gate.dmaMapGuestPage(1, 100, 12345), MPT_EINVAL);
});

Deno.test("kvm: a 2 MiB mapping needs host-contiguous frames", async () => {
  const r = await rig("kvm", 2);
  // interleave the two VMs' first touches so VM 1's frames are not contiguous
  for (let i = 0; i < 4; i++) {
    r.mems[0].mfnOf(1024 + i);
    r.mems[1].mfnOf(1024 + i);
  }
  assert.equal(r.gate.dmaMapGuestPage(1, 1024, 2 * 1024 * 1024), MPT_EINVAL);
  assert.equal(r.ctx.counter("dma_map_not_contiguous"), 1);
  // contiguous but not 2 MiB aligned: the GPU's 2 MiB entry would reach the frames below
  while ((r.host.allocFrame(99) + 2) % 512 !== 0) { /* steer the next frame off alignment */ }
  assert.equal(r.gate.dmaMapGuestPage(1, 4096, 2 * 1024 * 1024), MPT_EINVAL);
  assert.equal(r.ctx.counter("dma_map_not_aligned"), 1);
  // contiguous and aligned: one mapping of 512 pinned pages
  while ((r.host.allocFrame(99) + 1) % 512 !== 0) { /* steer the next frame onto alignment */ }
  const dma = r.gate.dmaMapGuestPage(1, 8192, 2 * 1024 * 1024);
  assert.ok(dma >= 0 && dma % (2 * 1024 * 1024) === 0, `${dma}`);
  assert.equal(r.ctx.counter("pages_pinned"), 512);
});

Deno.test("kvm: readGpa/writeGpa round trip, bounds, invalid gfn", async () => {
  const r = await rig("kvm", 1, { holes: [[2000, 2010]] });
  const data = new Uint8Array(6000).map((_, i) => (i * 7) & 0xff);
  assert.equal(r.gate.writeGpa(1, 0x10ff0, data), MPT_OK);
  const back = new Uint8Array(6000);
  assert.equal(r.gate.readGpa(1, 0x10ff0, back), MPT_OK);
  assert.deepEqual(back, data);
  assert.equal(r.gate.readGpa(1, GUEST_RAM - 4, new Uint8Array(8)), MPT_EFAULT, "crosses the end");
  assert.equal(r.gate.writeGpa(1, 2005 * 4096, new Uint8Array(4)), MPT_EFAULT, "hole");
  assert.equal(r.gate.isValidGfn(1, 1999), true);
  assert.equal(r.gate.isValidGfn(1, 2000), false);
  assert.equal(r.gate.isValidGfn(1, GUEST_RAM / 4096), false);
  assert.equal(r.gate.isValidGfn(1, -1), false);
  assert.equal(r.gate.gfnToMfn(1, 2003), -1);
  assert.equal(r.host.ownerOf(r.gate.gfnToMfn(1, 3)), 1);
});

Deno.test("kvm: detach unpins everything and drops tracking", async () => {
  const r = await rig("kvm");
  r.gate.dmaMapGuestPage(1, 10, 4096);
  r.gate.dmaMapGuestPage(1, 11, 4096);
  r.gate.enablePageTrack(1, 12);
  r.gate.detachVgpu(1);
  assert.equal(r.ctx.counter("pages_unpinned"), 2);
  assert.equal(r.gate.errors.length, 0);
});
