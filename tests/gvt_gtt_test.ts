import assert from "node:assert/strict";
import { addVgpu, gvtRig, MiB } from "./gvt_util.ts";
import { GTT_OFFSET } from "../core/hw/regs.ts";
import { OWNER_SCRATCH } from "../core/hw/memory.ts";

async function one() {
  const r = await gvtRig();
  const v = addVgpu(r, { vm: "a", memory: 64 * MiB });
  const mem = r.mems.get(v.id)!;
  const idx = v.res.aperture.base / 4096 + 10;
  const wr = (i: number, val: number, size = 8, off = 0) =>
    r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + i * 8 + off, size, val);
  const rd = (i: number, size = 8, off = 0) =>
    r.gvt.emulateMmioRead(v.id, GTT_OFFSET + i * 8 + off, size);
  const hw = (i: number) => r.gpu.ggttLo[i] + r.gpu.ggttHi[i] * 4294967296;
  /** Owner of the frame the GPU reaches through entry `i` (its device address, its domain). */
  const reaches = (i: number) => {
    const pa = r.gpu.iommu.resolve(r.gpu.ggttDomain[i], hw(i) - (hw(i) % 4096));
    return r.gpu.memory.ownerOf(Math.floor(pa / 4096));
  };
  return { r, v, mem, idx, wr, rd, hw, reaches };
}

Deno.test("gtt: a present entry is DMA-mapped, the host entry gets the device address", async () => {
  const { r, v, mem, idx, wr, rd, hw } = await one();
  const gfn = 0x500;
  wr(idx, gfn * 4096 + 3);
  assert.equal(rd(idx), gfn * 4096 + 3, "the guest reads its own value");
  const mfn = mem.mfnOf(gfn);
  assert.ok(mfn > 0);
  assert.equal(hw(idx), mfn * 4096 + 3);
  assert.equal(r.gpu.memory.ownerOf(mfn), v.owner);
  assert.equal(v.counters.dmaMaps, 1);
  wr(idx, 0x501 * 4096 + 1); // remap: the old mapping is unmapped
  assert.equal(v.counters.dmaUnmaps, 1);
  assert.equal(hw(idx), mem.mfnOf(0x501) * 4096 + 1);
  wr(idx, 0);
  assert.equal(hw(idx) % 2, 0, "not present");
  assert.equal(r.gvt.checkInvariants(), 0);
});

Deno.test("gtt: writes outside the slices are dropped silently and counted; reads give 0", async () => {
  const { r, v, wr, rd, hw } = await one();
  const host = 100; // host aperture
  const other = v.res.hidden.base / 4096 - 1;
  wr(host, 0x600 * 4096 + 1);
  wr(other, 0x600 * 4096 + 1, 4);
  assert.equal(hw(host), 0);
  assert.equal(rd(host), 0);
  assert.equal(v.counters.ggttDropped, 2);
  assert.equal(r.gvt.counters().vgpus.a["ggtt.dropped"], 2);
});

Deno.test("gtt: 4-byte halves are held until the other half arrives", async () => {
  const { v, mem, idx, wr, rd, hw, reaches } = await one();
  const e = 0x2_0000_0000 + 0x700 * 4096 + 1; // bit 33 set in the high half
  const gfn = Math.floor(e / 4096);
  wr(idx, e % 4294967296, 4, 0);
  assert.equal(hw(idx) % 2, 0, "half an entry is not present on hardware");
  assert.equal(v.counters.dmaMaps, 0);
  assert.equal(rd(idx, 4, 0), e % 4294967296);
  wr(idx, Math.floor(e / 4294967296), 4, 4);
  assert.equal(v.counters.ggttPartialWrites, 2);
  assert.equal(rd(idx), e);
  // gfn beyond guest RAM: invalid -> scratch
  assert.equal(mem.isBacked(gfn), false);
  assert.equal(v.counters.ggttScratch, 1);
  assert.equal(reaches(idx), OWNER_SCRATCH);
});

Deno.test("gtt: invalid gfn or a failed DMA map -> scratch page", async () => {
  const { r, v, idx, wr, reaches } = await one();
  wr(idx, 0x10_0000 * 4096 + 1); // 4 GiB: not backed
  assert.equal(reaches(idx), OWNER_SCRATCH);
  r.gate.addFault({ op: "dmaMapGuestPage", action: "error", loc: { file: "t", line: 1, col: 1 } });
  wr(idx + 1, 0x800 * 4096 + 1);
  assert.equal(reaches(idx + 1), OWNER_SCRATCH);
  assert.equal(v.counters.dmaMapFailures, 1);
  assert.equal(v.counters.ggttScratch, 2);
  assert.equal(r.gvt.checkInvariants(), 0);
});

Deno.test("gtt: device-model reset points every slice entry at scratch", async () => {
  const { r, v, idx, wr, rd, hw, reaches } = await one();
  wr(idx, 0x500 * 4096 + 1);
  wr(idx + 1, 0x501 * 4096 + 1);
  r.gvt.resetVgpu(v.id, "dmlr");
  assert.equal(rd(idx), 0);
  assert.equal(hw(idx) % 2, 0);
  assert.equal(reaches(idx), OWNER_SCRATCH);
  assert.equal(v.counters.dmaUnmaps, 2);
});
