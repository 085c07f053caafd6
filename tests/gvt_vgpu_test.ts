import assert from "node:assert/strict";
import { addVgpu, gvtRig, MiB } from "./gvt_util.ts";
import { isCreateError } from "../core/gvt/vgpu.ts";
import { PVINFO, VGT_MAGIC_HI, VGT_MAGIC_LO, VGT_PVINFO_PAGE } from "../core/hw/regs.ts";

const avail = (r: Awaited<ReturnType<typeof gvtRig>>) =>
  Object.fromEntries(r.gvt.availableTypes().map((a) => [a.type.name, a.available]));

Deno.test("vgpu: available instances with a 512 MiB aperture", async () => {
  const r = await gvtRig();
  assert.deepEqual(avail(r), { V5_8: 6, V5_4: 3, V5_2: 1, V5_1: 0 });
});

Deno.test("vgpu: available instances with a 1 GiB aperture", async () => {
  const r = await gvtRig({ host: { aperture: 1024 * MiB } });
  assert.deepEqual(avail(r), { V5_8: 7, V5_4: 5, V5_2: 2, V5_1: 1 });
});

Deno.test("vgpu: creation allocates disjoint slices and fences; numbers update; destroy frees", async () => {
  const r = await gvtRig();
  const a = addVgpu(r, { vm: "a", type: "V5_4" });
  const b = addVgpu(r, { vm: "b", type: "GVTg_V5_4" });
  assert.equal(a.id, 1);
  assert.equal(b.id, 2);
  assert.equal(avail(r).V5_4, 1);
  assert.ok(
    a.res.aperture.base >= 128 * MiB && a.res.aperture.base + 128 * MiB <= b.res.aperture.base,
  );
  assert.ok(a.res.hidden.base >= 512 * MiB + 384 * MiB);
  assert.deepEqual(a.res.fences, [4, 5, 6, 7]);
  assert.deepEqual(b.res.fences, [8, 9, 10, 11]);
  assert.equal(r.gvt.destroyVgpu(a.id), true);
  assert.equal(avail(r).V5_4, 2);
  assert.equal(r.gate.isAttached(1), false);
  const c = addVgpu(r, { vm: "c", type: "GVTg_V5_4" }); // mdev type name
  assert.equal(c.id, 1, "lowest free id reused");
});

Deno.test("vgpu: a type that does not fit gives an error with the numbers", async () => {
  const r = await gvtRig();
  addVgpu(r, { vm: "a", type: "V5_2" });
  const e = r.gvt.createVgpu({ vm: "b", type: "V5_2", memory: 64 * MiB, vcpus: 1 });
  assert.ok(isCreateError(e));
  assert.equal(e.error, "no_resources");
  assert.match(e.message, /V5_2/);
  assert.match(e.message, /aperture needs 256 MiB, free 128 MiB \(short\)/);
  assert.match(e.message, /hidden needs 1024 MiB, free 2176 MiB/);
  assert.match(e.message, /fences needs 4, free 24/);
  assert.match(e.message, /vGPU ids needs 1, free 6/);
  const u = r.gvt.createVgpu({ vm: "x", type: "V9_9", memory: 64 * MiB, vcpus: 1 });
  assert.ok(isCreateError(u) && u.error === "unknown_type");
});

Deno.test("vgpu: the id limit is 7", async () => {
  const r = await gvtRig({ host: { aperture: 1024 * MiB } });
  for (let i = 0; i < 7; i++) addVgpu(r, { vm: `v${i}`, type: "V5_8", memory: 16 * MiB });
  const e = r.gvt.createVgpu({ vm: "v8", type: "V5_8", memory: 16 * MiB, vcpus: 1 });
  assert.ok(isCreateError(e));
  assert.match(e.message, /vGPU ids needs 1, free 0 \(short\)/);
});

Deno.test("vgpu: PVINFO page as the guest reads it", async () => {
  const r = await gvtRig();
  const v = addVgpu(r, { vm: "a", type: "V5_8" });
  const rd = (f: number, s = 4) => r.gvt.emulateMmioRead(v.id, VGT_PVINFO_PAGE + f, s);
  assert.equal(v.pvAware, false);
  assert.equal(rd(PVINFO.magic), VGT_MAGIC_LO);
  assert.equal(rd(PVINFO.magic + 4), VGT_MAGIC_HI);
  assert.equal(v.pvAware, true, "any PVINFO read marks the guest PV-aware");
  assert.equal(rd(PVINFO.versionMajor, 2), 1);
  assert.equal(rd(PVINFO.versionMinor, 2), 0);
  assert.equal(rd(PVINFO.vgtId), v.id);
  assert.equal(rd(PVINFO.vgtCaps), (1 << 2) | (1 << 3) | (1 << 4));
  assert.equal(rd(PVINFO.apertureBase), v.res.aperture.base);
  assert.equal(rd(PVINFO.apertureSize), 64 * MiB);
  assert.equal(rd(PVINFO.hiddenBase), v.res.hidden.base);
  assert.equal(rd(PVINFO.hiddenSize), 384 * MiB);
  assert.equal(rd(PVINFO.fenceNum), 4);
  r.gvt.emulateMmioWrite(v.id, VGT_PVINFO_PAGE + PVINFO.apertureSize, 4, 1);
  assert.equal(rd(PVINFO.apertureSize), 64 * MiB, "read-only field");
  assert.equal(r.gvt.counters().vgpus.a["mmio.pvinfo"], 13);
});
