import assert from "node:assert/strict";
import { addGuest, addVgpu, gvtRig, hostSpec, MiB, mix } from "./gvt_util.ts";
import { FENCE_REG_GEN6_LO, GTT_OFFSET } from "../core/hw/regs.ts";
import { entryPresent } from "../core/hw/pte.ts";
import { MS } from "../core/sim/sim.ts";
import { GSCALE_ENTRY_NS } from "../core/gvt/gscale.ts";
import { GmPartition, isShortage } from "../core/gvt/resources.ts";
import { builtinTypes, GSCALE_FENCE_POOL, GSCALE_MAX_VGPU } from "../core/vgpu_types.ts";
import type { Vgpu } from "../core/gvt/vgpu_state.ts";
import type { GvtRig } from "./gvt_util.ts";
import { completionsAt } from "../dsl/complete.ts";
import { hoverText } from "../dsl/hover.ts";

const PAGE = 4096;
/** 2 GiB GGTT / 512 MiB aperture (the Haswell figures gScale used), gScale on. */
const GSCALE_HOST = { ggtt: 2048 * MiB, gscale: true };

/** Guest write of GGTT entry `k` of the vGPU's aperture slice pointing at guest frame `gfn`. */
function mapAperture(r: GvtRig, v: Vgpu, k: number, gfn: number): void {
  const idx = v.res.aperture.base / PAGE + k;
  r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + idx * 8, 8, gfn * PAGE + 1);
}

/** Physical GGTT entry `k` of the vGPU's aperture slice, as a number. */
function physical(r: GvtRig, v: Vgpu, k: number): number {
  const idx = v.res.aperture.base / PAGE + k;
  return r.gpu.ggttLo[idx] + r.gpu.ggttHi[idx] * 2 ** 32;
}

Deno.test("gscale: two vGPUs share one slot; the GGTT holds the entries of the one that ran", async () => {
  const r = await gvtRig({ host: GSCALE_HOST });
  // V5_2 (256 MiB / 1 GiB): one slot of each range is all there is, so a and b share both.
  const a = addVgpu(r, { vm: "a", type: "V5_2" });
  const b = addVgpu(r, { vm: "b", type: "V5_2" });
  assert.deepEqual(a.res.aperture, b.res.aperture);
  assert.deepEqual(a.res.hidden, b.res.hidden);
  for (let k = 0; k < 3; k++) mapAperture(r, a, k, 0x500 + k);
  for (let k = 5; k < 7; k++) mapAperture(r, b, k, 0x600 + k);
  assert.ok(!entryPresent(physical(r, a, 0)), "nobody ran yet: nothing in the GGTT");
  const gs = r.gvt.gscale!;
  assert.equal(gs.load(a), 3 * GSCALE_ENTRY_NS, "a's three dirty entries, not the whole slot");
  assert.ok(entryPresent(physical(r, a, 0)) && entryPresent(physical(r, a, 2)));
  assert.equal(r.gvt.checkInvariants(), 0);
  // b runs: its two entries in, a's three scrubbed
  assert.equal(gs.load(b), 5 * GSCALE_ENTRY_NS);
  assert.ok(!entryPresent(physical(r, a, 0)) && entryPresent(physical(r, b, 5)));
  assert.equal(gs.load(b), 0, "still the holder: nothing to copy");
  assert.equal(gs.stats.copiesSkipped, 2);
  assert.equal(r.gvt.checkInvariants(), 0, JSON.stringify(r.gvt.invariants.violations));
  // a's entries written while b holds the slot stay private until a runs again
  mapAperture(r, a, 9, 0x700);
  assert.ok(!entryPresent(physical(r, a, 9)));
  gs.load(a);
  assert.ok(entryPresent(physical(r, a, 9)));
  const rec = r.gvt.gscaleRecord()!;
  assert.equal(rec["gscale.entries_copied"], 3 + 5 + 4 + 2);
  assert.equal(r.gvt.gscaleRecord(a)!["gscale.slot_users"], 2);
});

Deno.test("gscale: without the dirty-entry optimisation a switch copies whole slots", async () => {
  const r = await gvtRig({ host: GSCALE_HOST, config: { gscale: { dirtyOnly: false } } });
  const a = addVgpu(r, { vm: "a", type: "V5_2" });
  mapAperture(r, a, 0, 0x500);
  const entries = (256 * MiB + 1024 * MiB) / PAGE;
  assert.equal(r.gvt.gscale!.load(a), entries * GSCALE_ENTRY_NS);
  assert.equal(r.gvt.checkInvariants(), 0);
});

Deno.test("gscale: ladder mapping keeps a non-running vGPU's CPU view on its own pages", async () => {
  for (const ladder of [true, false]) {
    const r = await gvtRig({ host: GSCALE_HOST, config: { gscale: { ladder } } });
    const a = addVgpu(r, { vm: "a", type: "V5_2" });
    const b = addVgpu(r, { vm: "b", type: "V5_2" });
    mapAperture(r, a, 0, 0x500);
    mapAperture(r, b, 0, 0x600);
    r.gvt.gscale!.load(a); // a holds the slot; b's aperture page 0 is a's frame in the GGTT
    const found = r.gvt.checkInvariants();
    if (ladder) {
      assert.equal(found, 0, JSON.stringify(r.gvt.invariants.violations));
      assert.equal(r.gvt.gscale!.stats.ladderMaps, 2, "one EPT mapping per aperture entry");
    } else {
      // Without it, b's CPU reaches a's page through the host aperture: the checker says so.
      assert.equal(found, 1);
      const v = r.gvt.invariants.violations[0];
      assert.equal(v.where, "aperture");
      assert.equal(v.vgpuId, b.id);
      assert.equal(v.owner, a.owner);
    }
  }
});

Deno.test("gscale: the checker finds a private entry pointing into another VM", async () => {
  const r = await gvtRig({ host: GSCALE_HOST });
  const a = addVgpu(r, { vm: "a", type: "V5_2" });
  const b = addVgpu(r, { vm: "b", type: "V5_2" });
  mapAperture(r, a, 0, 0x500);
  mapAperture(r, b, 1, 0x600);
  assert.equal(r.gvt.checkInvariants(), 0);
  // plant b's host entry in a's private GTT (b is not running: only the private view has it)
  a.ggtt.priv!.set(1, b.ggtt.priv!.entries[1]);
  assert.ok(r.gvt.checkInvariants() >= 1);
  assert.equal(r.gvt.invariants.violations[0].where, "private_gtt");
  assert.equal(r.gvt.invariants.violations[0].owner, b.owner);
});

Deno.test("gscale: fences borrow from the pool, are taken back when it runs out, and return", async () => {
  // 8 fences, the host keeps 4: a pool of 4 physical fences
  const r = await gvtRig({ host: { ...GSCALE_HOST, fences: 8 } });
  const a = addVgpu(r, { vm: "a", type: "V5_2" });
  const b = addVgpu(r, { vm: "b", type: "V5_2" });
  for (const v of [a, b]) for (let k = 0; k < 4; k++) mapAperture(r, v, k, 0x500 + k);
  const fence = (v: Vgpu, n: number, on: boolean) => {
    const start = v.res.aperture.base + n * PAGE;
    r.gvt.emulateMmioWrite(v.id, FENCE_REG_GEN6_LO + 8 * n, 4, start + (on ? 1 : 0));
    r.gvt.emulateMmioWrite(v.id, FENCE_REG_GEN6_LO + 8 * n + 4, 4, start);
  };
  const gs = r.gvt.gscale!;
  for (let n = 0; n < 3; n++) fence(a, n, true);
  assert.deepEqual(a.res.fences, [4, 5, 6, -1]);
  // the physical fence covers a page of the pool, mapped to a's page
  const lo = r.gpu.mmioRead32(FENCE_REG_GEN6_LO + 8 * 4);
  const pool = gs.fencePool;
  assert.equal((lo & 0xfffff000) >>> 0, pool.base);
  assert.equal(lo & 1, 1);
  const poolIdx = pool.base / PAGE;
  assert.equal(r.gpu.ggttLo[poolIdx], a.ggtt.priv!.entries[0] % 2 ** 32);
  assert.equal(r.gvt.checkInvariants(), 0);
  // b's two fences: one free, then the oldest of a's is taken back
  fence(b, 0, true);
  fence(b, 1, true);
  assert.equal(gs.stats.fenceReclaims, 1);
  assert.equal(a.res.fences[0], -1);
  assert.equal(r.gvt.checkInvariants(), 0, JSON.stringify(r.gvt.invariants.violations));
  // a runs again: its enabled fence 0 is lent again (taking back b's oldest)
  gs.load(a);
  assert.ok(a.res.fences[0] >= 4);
  assert.equal(gs.stats.fenceReclaims, 2);
  // disabling gives it back
  fence(a, 0, false);
  assert.equal(a.res.fences[0], -1);
  assert.equal(r.gvt.checkInvariants(), 0);
  // the full sweep looks at the pool ranges a borrower maps: plant b's frame in one of a's
  const [first] = gs.loanRanges(a)[0];
  r.gpu.ggttWrite(first, b.ggtt.priv!.entries[0]);
  r.gpu.clearGgttDirty();
  assert.equal(r.gvt.checkInvariants(), 1);
  assert.equal(r.gvt.invariants.violations[0].owner, b.owner);
});

Deno.test("gscale: slots are fresh while the ranges have room, then shared least-used first", () => {
  const part = new GmPartition(hostSpec({ ggtt: 2048 * MiB, gscale: true }));
  const v8 = builtinTypes("V5").find((t) => t.name === "V5_8")!;
  const got = [];
  for (let i = 0; i < 15; i++) {
    const r = part.allocate(v8);
    assert.ok(!isShortage(r));
    got.push(r);
  }
  assert.deepEqual(got.map((r) => r.id), Array.from({ length: 15 }, (_, i) => i + 1));
  // aperture: 512 - 128 (host) - 32 (fence pool) = 352 MiB -> 5 slots of 64 MiB, 3 users each
  const ap = new Set(got.map((r) => r.aperture.base));
  assert.equal(ap.size, 5);
  for (const base of ap) assert.equal(part.slotUsers(base), 3);
  assert.ok(got.every((r) => r.aperture.base + r.aperture.size <= 512 * MiB - GSCALE_FENCE_POOL));
  // hidden: 2048 - 512 - 384 = 1152 MiB -> 3 slots of 384 MiB, 5 users each
  const hi = new Set(got.map((r) => r.hidden.base));
  assert.equal(hi.size, 3);
  for (const base of hi) assert.equal(part.slotUsers(base), 5);
  assert.ok(got.every((r) => r.fences.every((f) => f === -1)), "fences are virtual");
  // releasing the last user of a slot frees its range
  part.release(got[14]);
  assert.equal(part.slotUsers(got[14].aperture.base), 2);
});

Deno.test("gscale: the vGPU id limit is GSCALE_MAX_VGPU (upstream: 7)", () => {
  const v8 = builtinTypes("V5").find((t) => t.name === "V5_8")!;
  const up = new GmPartition(hostSpec({ aperture: 1024 * MiB }));
  let n = 0;
  while (!isShortage(up.allocate(v8))) n++;
  assert.equal(n, 7);
  const gs = new GmPartition(hostSpec({ ggtt: 2048 * MiB, gscale: true }));
  n = 0;
  while (!isShortage(gs.allocate(v8))) n++;
  assert.equal(n, GSCALE_MAX_VGPU);
  const s = gs.allocate(v8);
  assert.ok(isShortage(s) && s.free.ids === 0);
});

Deno.test("gscale: three booted guests sharing slots render with no isolation violation", async () => {
  const r = await gvtRig({ host: GSCALE_HOST });
  const gs = [0, 1, 2].map((i) => addGuest(r, { vm: `g${i}`, type: "V5_2" }));
  for (const g of gs) g.drv.boot();
  for (let i = 0; i < 20; i++) {
    for (const g of gs) g.drv.submitBatch(0, mix({ draw: 3, store: 2 }));
    r.sim.runFor(5 * MS);
  }
  r.sim.runFor(50 * MS);
  for (const g of gs) {
    assert.equal(g.v.failsafe, false, JSON.stringify(r.gvt.failsafeLog));
    assert.ok(g.drv.metrics.completed[0] >= 20, `${g.v.vm} completed its batches`);
  }
  assert.equal(r.gvt.checkInvariants(), 0, JSON.stringify(r.gvt.invariants.violations));
  assert.equal(r.gpu.faults.length, 0, r.gpu.faults.map(String).join("\n"));
  assert.ok(r.gvt.gscale!.stats.copies > 3, "switches copied entries");
  assert.equal(gs[0].v.res.hidden.base, gs[2].v.res.hidden.base, "they share a slot");
});

Deno.test("gscale: off keeps upstream partitioning and counters", async () => {
  const r = await gvtRig({ host: { ggtt: 2048 * MiB } });
  assert.equal(r.gvt.gscale, null);
  assert.equal(r.gvt.gscaleRecord(), null);
  const a = addVgpu(r, { vm: "a", type: "V5_2" });
  assert.equal(a.ggtt.priv, null);
  assert.ok(!Object.keys(r.gvt.counters().global).some((k) => k.startsWith("gscale.")));
});

Deno.test("gscale: the editor completes the host setting and its on|off, and hovers it", () => {
  const text = "host skylake {\n  gs";
  const settings = completionsAt(text, text.length, []).map((c) => c.label);
  assert.ok(settings.includes("gscale"), settings.join(" "));
  const value = "host skylake {\n  gscale ";
  const values = completionsAt(value, value.length, []).map((c) => c.label);
  assert.ok(values.includes("on") && values.includes("off"), values.join(" "));
  assert.match(hoverText("gscale", []) ?? "", /gScale mode/);
});
