import assert from "node:assert/strict";
import { ENGINES } from "../core/hw/engines.ts";
import { CSB_RESET_PTR } from "../core/hw/csb.ts";
import { GttFault, isFault, MmioFault } from "../core/hw/fault.ts";
import {
  FENCE_REG_GEN6_LO,
  FORCEWAKE_ACK_RENDER_GEN9,
  FORCEWAKE_RENDER_GEN9,
  GDRST,
  GEN6_GRDOM_RENDER,
  GEN8_MASTER_IRQ,
  GFX_RUN_LIST_ENABLE,
  GTT_OFFSET,
  IRQ_GROUP_BASE,
  IRQ_IMR,
  NUM_ENGINES,
  RCS,
  RING_ACTHD,
  RING_CONTEXT_STATUS_PTR,
  RING_MODE,
  RING_TIMESTAMP,
} from "../core/hw/regs.ts";
import { MSI_FLAGS, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_2 } from "../core/hw/pci.ts";
import { smallGpu } from "./hw_util.ts";
import { PLATFORMS } from "../core/hw/platform.ts";
import { populatePvinfo } from "../core/gvt/pvinfo.ts";
import { resetCsb } from "../core/gvt/execlist.ts";
import { addVgpu, gvtRig } from "./gvt_util.ts";

Deno.test("mmio: bad accesses give typed faults, never throw", () => {
  const { gpu } = smallGpu();
  const cases: [number, number, string][] = [
    [0x2002, 4, "misaligned"],
    [0x2000, 3, "misaligned"],
    [0x2000, 16, "too_large"],
    [0x300000, 4, "out_of_range"],
    [GTT_OFFSET + (64 << 20) / 4096 * 8, 8, "out_of_range"],
    [-4, 4, "out_of_range"],
  ];
  for (const [off, size, kind] of cases) {
    const r = gpu.mmioRead(off, size);
    assert.ok(r instanceof MmioFault, `read ${off} ${size}`);
    assert.equal((r as MmioFault).kind, kind);
    const w = gpu.mmioWrite(off, size, 1);
    assert.ok(w instanceof MmioFault);
    assert.equal(w.kind, kind);
    assert.equal(w.write, true);
    assert.ok(isFault(w));
  }
  assert.equal(gpu.counters().mmioFaults, 12);
});

Deno.test("mmio: reset values from the register table", () => {
  const { gpu } = smallGpu();
  const b = ENGINES[RCS].mmioBase;
  assert.equal(gpu.mmioRead(b + RING_CONTEXT_STATUS_PTR, 4), (7 << 8) | CSB_RESET_PTR);
  assert.equal(gpu.mmioRead(IRQ_GROUP_BASE[0] + IRQ_IMR, 4), 0xffffffff);
  const snap = gpu.mmioSnapshot();
  assert.equal(snap[(IRQ_GROUP_BASE[0] + IRQ_IMR) >> 2], 0xffffffff);
  assert.equal(gpu.regDef(b + RING_MODE)?.name, "RCS_RING_MODE_GEN7");
});

Deno.test("mmio: masked, read-only, write-1-to-clear and plain semantics", () => {
  const { gpu } = smallGpu();
  const mode = ENGINES[RCS].mmioBase + RING_MODE;
  gpu.mmioWrite(mode, 4, GFX_RUN_LIST_ENABLE); // no mask bits: nothing changes
  assert.equal(gpu.mmioRead(mode, 4), 0);
  gpu.mmioWrite(mode, 4, (GFX_RUN_LIST_ENABLE << 16) | GFX_RUN_LIST_ENABLE);
  assert.equal(gpu.mmioRead(mode, 4), GFX_RUN_LIST_ENABLE);
  gpu.mmioWrite(ENGINES[RCS].mmioBase + RING_ACTHD, 4, 0x1234); // read-only
  assert.equal(gpu.mmioRead(ENGINES[RCS].mmioBase + RING_ACTHD, 4), 0);
  const iir = IRQ_GROUP_BASE[0] + 8;
  gpu.regs[iir >> 2] = 0b1011;
  gpu.mmioWrite(iir, 4, 0b0010);
  assert.equal(gpu.mmioRead(iir, 4), 0b1001);
  gpu.mmioWrite(0x4000, 4, 0xcafe); // untracked: plain storage
  assert.equal(gpu.mmioRead(0x4000, 4), 0xcafe);
  assert.equal(gpu.mmioRead(0x4001, 1), 0xca);
  gpu.mmioWrite(0x4002, 2, 0xbeef);
  assert.equal(gpu.mmioRead(0x4000, 4), 0xbeefcafe);
});

Deno.test("mmio: forcewake ACK mirrors, GDRST self-clears, timestamp follows the clock", () => {
  const { sim, gpu } = smallGpu();
  gpu.mmioWrite(FORCEWAKE_RENDER_GEN9, 4, 0x00010001);
  assert.equal(gpu.mmioRead(FORCEWAKE_ACK_RENDER_GEN9, 4), 1);
  gpu.mmioWrite(FORCEWAKE_RENDER_GEN9, 4, 0x00010000);
  assert.equal(gpu.mmioRead(FORCEWAKE_ACK_RENDER_GEN9, 4), 0);
  gpu.mmioWrite(GDRST, 4, GEN6_GRDOM_RENDER);
  assert.equal(gpu.mmioRead(GDRST, 4), 0);
  assert.equal(gpu.counters().engineResets, 1);
  sim.runFor(1_000_000);
  assert.equal(gpu.mmioRead(ENGINES[RCS].mmioBase + RING_TIMESTAMP, 4), 12_000);
  assert.equal(gpu.mmioRead(GEN8_MASTER_IRQ, 4), 0);
});

Deno.test("mmio: 32 fence registers of 8 bytes", () => {
  const { gpu } = smallGpu();
  for (let i = 0; i < 32; i++) gpu.mmioWrite(FENCE_REG_GEN6_LO + 8 * i, 8, 0x1_0000_1000 + i);
  for (let i = 0; i < 32; i++) {
    assert.equal(gpu.mmioRead(FENCE_REG_GEN6_LO + 8 * i, 8), 0x1_0000_1000 + i);
  }
  assert.equal(gpu.fenceCount, 32);
});

Deno.test("gtt: window accesses, typed faults, translation", () => {
  const { gpu } = smallGpu();
  const mfn = gpu.memory.allocFrame(0);
  gpu.mmioWrite(GTT_OFFSET + 5 * 8, 8, mfn * 4096 + 3);
  assert.equal(gpu.ggttRead(5), mfn * 4096 + 3);
  assert.equal(gpu.ggttTranslate(5 * 4096 + 0x10), mfn * 4096 + 0x10);
  assert.equal(gpu.ggttTranslate(6 * 4096), -1);
  gpu.mmioWrite(GTT_OFFSET + 6 * 8, 4, mfn * 4096 + 1); // low half only
  assert.equal(gpu.mmioRead(GTT_OFFSET + 6 * 8, 4), mfn * 4096 + 1);
  assert.equal(gpu.ggttTranslate(6 * 4096), mfn * 4096);
  const f = gpu.ggttWrite(gpu.ggttEntries, 0);
  assert.ok(f instanceof GttFault);
  assert.ok(gpu.ggttRead(-1) instanceof GttFault);
  assert.equal(gpu.ggttWrite(0, 2 ** 38 + 1), null);
  assert.equal(gpu.ggttRead(0), 2 ** 38 + 1);
  assert.equal(gpu.ggttTranslate(0), -1); // beyond host memory
});

Deno.test("pci: identification, BAR sizing, MSI capability", () => {
  const { gpu } = smallGpu();
  assert.equal(gpu.cfgRead(0, 2), 0x8086);
  assert.equal(gpu.cfgRead(2, 2), 0x1912);
  assert.equal(gpu.cfgRead(0x34, 1), 0x90);
  assert.equal(gpu.cfgRead(0x90, 1), 0x05);
  gpu.cfgWrite(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
  assert.equal(gpu.cfgRead(PCI_BASE_ADDRESS_0, 4), (~(16 * 1024 * 1024 - 1) | 0x4) >>> 0);
  gpu.cfgWrite(PCI_BASE_ADDRESS_2, 4, 0xffffffff);
  assert.equal(gpu.cfgRead(PCI_BASE_ADDRESS_2, 4), (~(16 * 1024 * 1024 - 1) | 0xc) >>> 0);
  assert.equal(gpu.pci.msiEnabled, false);
  gpu.cfgWrite(MSI_FLAGS, 2, 1);
  assert.equal(gpu.pci.msiEnabled, true);
  assert.ok(gpu.cfgRead(0x2, 4) instanceof MmioFault);
  assert.ok(gpu.cfgRead(0x100, 4) instanceof MmioFault);
});

Deno.test("mmio: reset values lie only at defined registers, so a new GPU's registers and a new vGPU's vreg are written there alone", async () => {
  for (const platform of Object.values(PLATFORMS)) {
    const { gpu } = smallGpu({ platform });
    const snap = gpu.mmioSnapshot();
    assert.deepEqual(gpu.regs, snap, `${platform.id}: the registers start at their reset values`);
    const defined = new Set(gpu.registerDefs.map((d) => d.offset >>> 2));
    for (let i = 0; i < snap.length; i++) {
      if (snap[i] !== 0) {
        assert.ok(defined.has(i), `${platform.id}: word ${i} reset outside a register`);
      }
    }
  }
  // a new vGPU's vreg: the whole snapshot, then PVINFO and the CSB pointers (intel_vgpu_reset_mmio)
  const r = await gvtRig();
  const v = addVgpu(r, { vm: "g" });
  const want = r.gpu.mmioSnapshot();
  populatePvinfo(want, v.res);
  for (let e = 0; e < NUM_ENGINES; e++) resetCsb(want, e);
  assert.deepEqual(v.vreg, want);
});
