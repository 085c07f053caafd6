/**
 * The platform profiles and the register tables: what exists and what commands may write on
 * each platform, checked against gvt/handlers.c's F_CMD_ACCESS rows dword for dword.
 */
import assert from "node:assert/strict";
import {
  bit,
  bytesAt,
  field,
  getField,
  isMaskedDisabled,
  isMaskedEnabled,
  maskedEnable,
  maskedMerge,
  setField,
  withBytes,
} from "../core/hw/bits.ts";
import { PLATFORM_IDS, PLATFORMS } from "../core/hw/platform.ts";
import {
  buildRegisterDefs,
  cmdAccessOffsets,
  REG_CMD_ACCESS,
  registerOffset,
} from "../core/hw/regdefs.ts";
import { EXECLIST_STATUS_FIELDS } from "../core/hw/registers/ring.ts";
import { Gpu } from "../core/hw/gpu.ts";
import { Sim } from "../core/sim/sim.ts";
import { csGpr } from "../core/hw/regs.ts";
import { ENGINES } from "../core/hw/engines.ts";

Deno.test("registers: the F_CMD_ACCESS set per platform matches handlers.c (init_generic/bdw/skl_mmio_info)", () => {
  const n = Object.fromEntries(PLATFORM_IDS.map((p) => [p, cmdAccessOffsets(PLATFORMS[p]).length]));
  assert.deepEqual(n, { skylake: 757, kabylake: 758, coffeelake: 758, broadwell: 203 });
  const skl = new Set(cmdAccessOffsets(PLATFORMS.skylake));
  const bdw = new Set(cmdAccessOffsets(PLATFORMS.broadwell));
  const mocs = [...skl].filter((o) => o >= 0xc800 && o < 0xcff8);
  assert.equal(mocs.length, 510, "510 MOCS dwords (GEN9_GFX_MOCS, 0x7f8 bytes)");
  for (const o of [0x209c, 0x229c, 0x2580, 0x7300, 0xc800, 0xb118, 0xb020]) {
    assert.ok(skl.has(o), `0x${o.toString(16)} whitelisted on Skylake`);
  }
  for (const o of [0xc800, 0xb020, 0x4ab0]) assert.ok(!bdw.has(o), `gen9 only: ${o}`);
  for (const o of [0xb1f0, 0x83a4, 0x2248]) assert.ok(bdw.has(o) && !skl.has(o), `BDW only: ${o}`);
  const gamt = registerOffset("GAMT_CHKN_BIT_REG");
  assert.ok(!skl.has(gamt) && cmdAccessOffsets(PLATFORMS.kabylake).includes(gamt));
  for (const p of PLATFORM_IDS) {
    for (const e of ENGINES) {
      assert.ok(!cmdAccessOffsets(PLATFORMS[p]).includes(csGpr(e.id, 0)), "CS_GPR: Broxton only");
    }
  }
});

Deno.test("registers: one definition per offset; names, resets, access and fields", () => {
  for (const p of PLATFORM_IDS) {
    const defs = buildRegisterDefs(32, PLATFORMS[p]);
    const offsets = defs.map((d) => d.offset);
    assert.equal(new Set(offsets).size, offsets.length, `${p}: unique offsets`);
    assert.equal(new Set(defs.map((d) => d.name)).size, defs.length, `${p}: unique names`);
  }
  const skl = buildRegisterDefs(32, PLATFORMS.skylake);
  const byName = (n: string) => skl.find((d) => d.name === n)!;
  assert.equal(byName("RCS_MI_MODE").reset, 1 << 9);
  assert.equal(byName("RCS_IMR").reset, 0xffffffff);
  assert.ok(byName("RCS_RING_MODE_GEN7").flags & REG_CMD_ACCESS);
  assert.equal(byName("RCS_RING_MODE_GEN7").fields.runListEnable.mask, 1 << 15);
  assert.equal(byName("RCS_EXECLIST_STATUS_LO").fields.queueFull.mask, 1 << 2);
  assert.equal(byName("GEN9_GFX_MOCS(3)").offset, 0xc80c);
  assert.equal(byName("PS_DEPTH_COUNT_UDW").offset, 0x2354);
  const bdw = buildRegisterDefs(32, PLATFORMS.broadwell).map((d) => d.name);
  assert.ok(bdw.includes("FORCEWAKE_MT") && !bdw.includes("FORCEWAKE_RENDER_GEN9"));
  assert.ok(!bdw.includes("RCS_CSFE_CHICKEN1") && !bdw.includes("GEN9_GFX_MOCS(0)"));
});

Deno.test("registers: the hardware model takes the platform's table (forcewake domains)", () => {
  const bdw = new Gpu(new Sim(1), { platform: PLATFORMS.broadwell });
  bdw.mmioWrite(0xa188, 4, maskedEnable(1));
  assert.equal(bdw.mmioRead32(0x130044), 1, "FORCEWAKE_MT acked through FORCEWAKE_ACK_HSW");
  assert.equal(bdw.regDef(0xa278), undefined, "no render forcewake register on gen8");
  const skl = new Gpu(new Sim(1));
  skl.mmioWrite(0xa278, 4, maskedEnable(1));
  assert.equal(skl.mmioRead32(0x0d84), 1);
});

Deno.test("bits: fields, masked registers (i915 REG_GENMASK, _MASKED_BIT_ENABLE)", () => {
  const f = field(10, 8);
  assert.equal(f.mask, 0x700);
  assert.equal(getField(0x0503, f), 5);
  assert.equal(setField(0xffffffff, f, 2), 0xfffffaff);
  assert.equal(field(31, 0).mask, 0xffffffff);
  assert.equal(getField(0x80000000, bit(31)), 1);
  assert.equal(maskedEnable(1 << 15), 0x80008000);
  assert.ok(isMaskedEnabled(0x80008000, 1 << 15) && !isMaskedEnabled(0x8000, 1 << 15));
  assert.ok(isMaskedDisabled(0x80000000, 1 << 15));
  assert.equal(maskedMerge(0x00ff, 0x000f0000), 0x00f0);
  assert.throws(() => field(3, 5), RangeError);
  // sub-dword and 64-bit byte access
  assert.equal(bytesAt(0x11223344, 1, 2), 0x2233);
  assert.equal(bytesAt(0x11223344, 3, 1), 0x11);
  assert.equal(bytesAt(0x1_8000_0001, 2, 4), 0x00018000);
  assert.equal(withBytes(0x11223344, 1, 2, 0xabcdef), 0x11cdef44);
  assert.equal(withBytes(0x11223344, 1, 3, 0xabcdef), 0xabcdef44);
  assert.equal(withBytes(0x11223344, 0, 4, 2 ** 33 + 7), 7);
  const s = EXECLIST_STATUS_FIELDS;
  assert.deepEqual([s.queueFull.lo, s.el1Valid.lo, s.el0Valid.lo, s.el0Active.lo], [2, 3, 4, 18]);
});

Deno.test("platforms: upstream's per-platform facts", () => {
  const p = PLATFORMS;
  assert.deepEqual(PLATFORM_IDS.map((id) => p[id].typePrefix), ["V5", "V5", "V5", "V4"]);
  assert.deepEqual(PLATFORM_IDS.map((id) => p[id].monitorPort), ["D", "D", "D", "B"]);
  assert.equal(p.coffeelake.ringModeForbidden, 0b11, "_MASKED_BIT_ENABLE(1) and (2)");
  assert.equal(p.skylake.ringModeForbidden, 0b1);
  assert.deepEqual(ENGINES.map((e) => e.contextPages[9]), [22, 2, 2, 2]);
});
