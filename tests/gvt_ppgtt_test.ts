import assert from "node:assert/strict";
import { addVgpu, gvtRig, MiB } from "./gvt_util.ts";
import {
  PVINFO,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY,
  VGT_PVINFO_PAGE,
} from "../core/hw/regs.ts";
import type { HostSpec } from "../core/scenario.ts";

const PML4 = 0x100, PDP = 0x101, PD = 0x102, PT = 0x103, PT64 = 0x104;

async function setup(host: Partial<HostSpec> = {}, maxShadowPages = 0) {
  const r = await gvtRig({ host, config: { maxShadowPages } });
  const v = addVgpu(r, { vm: "a", memory: 64 * MiB });
  const mem = r.mems.get(v.id)!;
  const put = (gfn: number, i: number, val: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(val), true);
    mem.write(gfn * 4096 + i * 8, b);
  };
  // back the 2M page at 0x400 with host frames that are contiguous and 2 MiB aligned
  while (mem.host.allocFrame(99) >= 0 && mem.host.allocated % 512 !== 0) { /* filler */ }
  for (let k = 0; k < 512; k++) mem.mfnOf(0x400 + k);
  put(PML4, 0, PDP * 4096 + 3);
  put(PDP, 0, PD * 4096 + 3);
  put(PD, 0, PT * 4096 + 3);
  for (let i = 0; i < 8; i++) put(PT, i, (0x200 + i) * 4096 + 3);
  put(PD, 1, 0x400 * 4096 + 3 + 0x80); // 2M page (host-contiguous, aligned: mapped whole)
  mem.write(0x610 * 4096, new Uint8Array(8)); // touch a frame first: 0x600.. is not contiguous
  put(PD, 3, 0x600 * 4096 + 3 + 0x80); // 2M page that must be split
  put(PD, 2, PT64 * 4096 + 3 + (1 << 11)); // PT of 64K pages
  put(PT64, 0, 0x500 * 4096 + 3);
  const notify = (pml4: number, code = VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE) => {
    r.gvt.emulateMmioWrite(v.id, VGT_PVINFO_PAGE + PVINFO.pdp, 4, pml4 * 4096);
    r.gvt.emulateMmioWrite(v.id, VGT_PVINFO_PAGE + PVINFO.pdp + 4, 4, 0);
    r.gvt.emulateMmioWrite(v.id, VGT_PVINFO_PAGE + PVINFO.g2vNotify, 4, code);
  };
  const shadow = (gfn: number, i: number) => {
    const spt = v.ppgtt!.byGfn.get(gfn)!;
    return r.gvt.ppgtt.shadowEntry64(spt, i);
  };
  const trap = (gfn: number, i: number, val: number, size = 8, off = 0) =>
    r.gate.guestMemWrite(v.id, gfn * 4096 + i * 8 + off, size, val);
  return { r, v, mem, put, notify, shadow, trap };
}

Deno.test("ppgtt: g2v create shadows the 4-level tables; leaves point at the guest's frames", async () => {
  const { r, v, mem, notify, shadow } = await setup();
  notify(PML4);
  const c = v.counters;
  assert.equal(c.ppgttCreate, 1);
  assert.equal(c.sptAlloc, 5 + 1, "PML4, PDP, PD, PT, PT64 + one split 2M page");
  assert.equal(v.ppgtt!.byGfn.size, 5);
  for (let i = 0; i < 8; i++) assert.equal(shadow(PT, i), mem.mfnOf(0x200 + i) * 4096 + 3);
  assert.equal(shadow(PT, 8), 0);
  const pt = v.ppgtt!.byGfn.get(PT)!;
  assert.equal(shadow(PD, 0), pt.mfn * 4096 + 3, "PDE points at the shadow PT");
  // 64K: one guest entry becomes 16 x 4K
  for (let k = 0; k < 16; k++) assert.equal(shadow(PT64, k), mem.mfnOf(0x500 + k) * 4096 + 3);
  // 2M mapped whole when the backend can pin it contiguously
  assert.equal(shadow(PD, 1), mem.mfnOf(0x400) * 4096 + 3 + 0x80);
  assert.equal(v.ppgtt!.byGfn.get(PD)!.children[1], null);
  // 2M split into a shadow PT of 512 x 4K when it cannot
  const split = v.ppgtt!.byGfn.get(PD)!.children[3]!;
  assert.equal(split.gfn, -1);
  assert.equal(shadow(PD, 3), split.mfn * 4096 + 3);
  assert.equal(r.gvt.ppgtt.shadowEntry64(split, 7), mem.mfnOf(0x607) * 4096 + 3);
  assert.equal(r.gvt.checkInvariants(), 0);
});

Deno.test("ppgtt: trapped 8-byte writes update the shadow at once; 4-byte writes post-shadow", async () => {
  const { v, mem, notify, shadow, trap, r } = await setup();
  notify(PML4);
  trap(PT, 3, 0x300 * 4096 + 3);
  assert.equal(v.counters.wpTraps, 1);
  assert.equal(shadow(PT, 3), mem.mfnOf(0x300) * 4096 + 3);
  trap(PT, 4, 0x301 * 4096 + 3, 4, 0);
  assert.equal(shadow(PT, 4), 0, "half-written entry is not present");
  assert.equal(v.ppgtt!.postList.length, 1);
  r.gvt.ppgtt.flushPostShadow(v.ppgtt!);
  assert.equal(shadow(PT, 4), mem.mfnOf(0x301) * 4096 + 3);
  assert.equal(v.counters.postShadowFlushes, 1);
  assert.equal(v.counters.postShadowEntries, 1);
  trap(PD, 0, 0); // drop the whole PT: its shadow is freed and unprotected
  assert.equal(v.ppgtt!.byGfn.has(PT), false);
  assert.ok(v.counters.sptFree >= 1);
  trap(PT, 5, 0x302 * 4096 + 3);
  assert.equal(v.counters.wpTraps, 3, "the PT is no longer tracked");
});

Deno.test("ppgtt: out-of-sync pages: after 2 writes the page is unprotected, synced before submit", async () => {
  const { v, mem, notify, shadow, trap, r } = await setup({ outOfSync: true });
  notify(PML4);
  trap(PT, 1, 0x310 * 4096 + 3);
  trap(PT, 2, 0x311 * 4096 + 3);
  assert.equal(v.counters.oosAttach, 1);
  assert.equal(r.gvt.oosPool.used, 1);
  trap(PT, 3, 0x312 * 4096 + 3); // not trapped any more: a plain store
  assert.equal(v.counters.wpTraps, 2);
  assert.equal(shadow(PT, 3), mem.mfnOf(0x203) * 4096 + 3, "shadow stale until sync");
  r.gvt.ppgtt.syncOos(v.ppgtt!);
  assert.equal(v.counters.oosSync, 1);
  assert.equal(shadow(PT, 3), mem.mfnOf(0x312) * 4096 + 3);
  trap(PT, 4, 0x313 * 4096 + 3);
  assert.equal(v.counters.wpTraps, 3, "re-protected after the sync");
});

Deno.test("ppgtt: out-of-sync is off by default", async () => {
  const { v, notify, trap } = await setup();
  notify(PML4);
  for (let i = 0; i < 4; i++) trap(PT, i, (0x320 + i) * 4096 + 3);
  assert.equal(v.counters.wpTraps, 4);
  assert.equal(v.counters.oosAttach, 0);
});

Deno.test("ppgtt: refcounted mms; unpinned shadows are reclaimed under pressure", async () => {
  const { v, notify, put } = await setup({}, 7);
  notify(PML4);
  assert.equal(v.counters.sptAlloc, 6);
  // a second address space sharing nothing
  put(0x120, 0, 0x121 * 4096 + 3);
  put(0x121, 0, 0x122 * 4096 + 3);
  notify(0x120);
  assert.equal(v.counters.sptReclaims, 1, "the first mm's shadows were reclaimed");
  assert.equal(v.ppgtt!.mms.length, 2);
  notify(PML4, VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY);
  assert.equal(v.ppgtt!.mms.length, 1);
  assert.equal(v.counters.ppgttDestroy, 1);
});

Deno.test("ppgtt: in failsafe a trapped write is done and the page unprotected, not shadowed", async () => {
  const { r, v, mem, notify, shadow, trap } = await setup();
  notify(PML4);
  r.gvt.failsafe(v, "guest_error", "test");
  trap(PT, 3, 0x330 * 4096 + 3);
  assert.equal(shadow(PT, 3), mem.mfnOf(0x203) * 4096 + 3, "shadow untouched");
  const b = new Uint8Array(8);
  mem.read(PT * 4096 + 24, b);
  assert.equal(new DataView(b.buffer).getUint32(0, true), 0x330 * 4096 + 3, "write done");
  const faults = r.ctx.counter("page_track_faults");
  trap(PT, 4, 0x331 * 4096 + 3);
  assert.equal(r.ctx.counter("page_track_faults"), faults, "no longer trapped");
  assert.equal(v.counters.wpTraps, 0);
});
