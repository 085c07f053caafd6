/**
 * The register rules of upstream's handlers.c hold through the REPL's `mmio` command (a guest
 * write through the backend): `sanitize_fence_mmio_access`, `ring_mode_mmio_write` and
 * `csfe_chicken1_mmio_write` (gen9 only).
 */
import assert from "node:assert/strict";
import { ReplSession } from "../cli/repl.ts";
import { registerOffset } from "../core/hw/regdefs.ts";

const CSFE = registerOffset("RCS_CSFE_CHICKEN1");

Deno.test("repl mmio: a fence beyond the vGPU's count after PVINFO is dropped without failsafe (handlers.c sanitize_fence_mmio_access)", async () => {
  const s = new ReplSession();
  await s.exec("load scenarios/weights.gvt");
  await s.exec("run 10ms");
  const light = s.world!.vm("light")!.vgpu!;
  assert.match(
    await s.exec("mmio light FENCE_REG_GEN6_LO(10) 0x12345001"),
    /^light: wrote 0x12345001 to FENCE_REG_GEN6_LO\(10\) through kvm; vreg now 0x00000000$/,
  );
  assert.match(
    await s.exec("mmio light FENCE_REG_GEN6_LO(1) 0x12345001"),
    /vreg now 0x12345001$/,
    "a fence the vGPU owns takes the value",
  );
  assert.equal(light.failsafe, false);
});

Deno.test("repl mmio: enabling RING_MODE bit 0 puts the vGPU in failsafe, the bit stripped (handlers.c ring_mode_mmio_write)", async () => {
  const s = new ReplSession();
  await s.exec("load scenarios/weights.gvt");
  await s.exec("run 10ms");
  const heavy = s.world!.vm("heavy")!.vgpu!;
  assert.equal(heavy.failsafe, false);
  assert.match(
    await s.exec("mmio heavy RCS_RING_MODE_GEN7 0x00010001"),
    /^heavy: wrote 0x10001 to RCS_RING_MODE_GEN7 through kvm; vreg now 0x00008000$/,
  );
  assert.equal(heavy.failsafe, true);
  assert.equal(heavy.failsafeReason, "unsupported_guest");
  assert.equal(s.world!.vm("light")!.vgpu!.failsafe, false, "the other vGPU runs on");
});

Deno.test("repl mmio: CSFE_CHICKEN1 bit 4 fails safe on gen9; Broadwell has no such rule (handlers.c csfe_chicken1_mmio_write)", async () => {
  const s = new ReplSession();
  await s.exec("load scenarios/weights.gvt");
  await s.exec("run 10ms");
  const heavy = s.world!.vm("heavy")!.vgpu!;
  await s.exec("mmio heavy RCS_CSFE_CHICKEN1 0x00010001"); // bit 0: allowed
  assert.equal(heavy.failsafe, false);
  await s.exec("mmio heavy RCS_CSFE_CHICKEN1 0x00100010"); // bit 4 enabled
  assert.equal(heavy.failsafe, true);
  assert.equal(heavy.failsafeReason, "unsupported_guest");
  const dir = await Deno.makeTempDir();
  try {
    const src = await Deno.readTextFile("scenarios/platforms.gvt");
    await Deno.writeTextFile(
      `${dir}/bdw.gvt`,
      src.replace("param gpu skylake", "param gpu broadwell"),
    );
    const b = new ReplSession();
    await b.exec(`load ${dir}/bdw.gvt`);
    await b.exec("run 10ms");
    assert.match(await b.exec("mmio a RCS_CSFE_CHICKEN1 0x00100010"), /no register named/);
    assert.match(await b.exec(`mmio a 0x${CSFE.toString(16)} 0x00100010`), /^a: wrote 0x100010 to/);
    assert.equal(b.world!.vm("a")!.vgpu!.failsafe, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
