/**
 * Blits and their data (core/hw/streamer.ts): a page nobody has written has no storage and
 * reads as zeros, so a blit of such a page onto another such page (or a fill with 0) creates
 * neither; `blit_data off` (host setting) keeps every blit's time, page walk and checks but
 * copies nothing. Results stay byte-identical where nothing reads the surfaces.
 */
import assert from "node:assert/strict";
import * as enc from "../core/cmd/encode.ts";
import { BCS } from "../core/hw/regs.ts";
import type { GpuConfig } from "../core/hw/gpu.ts";
import { runScenario } from "../cli/run.ts";
import {
  appendRing,
  makeContext,
  mapGgtt,
  readGgtt,
  smallGpu,
  submit,
  writeGgtt,
} from "./hw_util.ts";

const SRC = 0x40000, DST = 0x50000, ZSRC = 0x60000, ZDST = 0x70000, FILL = 0x80000;

/** Runs three blits on BCS; returns the GPU, its time and the frames of each surface. */
function blits(config: Partial<GpuConfig>) {
  const { sim, gpu } = smallGpu(config);
  const ctx = makeContext(gpu, 0x10000, 0x20000);
  const [src] = mapGgtt(gpu, SRC, 1), [dst] = mapGgtt(gpu, DST, 1);
  const [zsrc] = mapGgtt(gpu, ZSRC, 1), [zdst] = mapGgtt(gpu, ZDST, 1);
  const [fill] = mapGgtt(gpu, FILL, 1);
  for (let i = 0; i < 64; i++) writeGgtt(gpu, SRC + 4 * i, [0x1000 + i]);
  const ring = new Uint32Array(64);
  let o = enc.emitXySrcCopyBlt(ring, 0, DST, 64, 0, 0, 16, 4, SRC, 64, 0, 0);
  o = enc.emitXySrcCopyBlt(ring, o, ZDST, 64, 0, 0, 16, 4, ZSRC, 64, 0, 0); // zeros onto zeros
  o = enc.emitXyColorBlt(ring, o, FILL, 64, 0, 0, 16, 4, 0); // 0 onto zeros
  appendRing(gpu, ctx, ring.slice(0, o));
  submit(gpu, BCS, [ctx.descLo, 0x22]);
  sim.run();
  return { gpu, now: sim.now, src, dst, zsrc, zdst, fill };
}

Deno.test("blits: untouched pages stay without storage; written ones are copied", () => {
  const r = blits({});
  assert.deepEqual(r.gpu.faults, []);
  for (let i = 0; i < 64; i++) assert.equal(readGgtt(r.gpu, DST + 4 * i), 0x1000 + i);
  for (const f of [r.zsrc, r.zdst, r.fill]) assert.equal(r.gpu.memory.peek(f), null, `frame ${f}`);
  assert.equal(r.gpu.counters().blitBytes, 3 * 256);
});

Deno.test("blits: blit_data off takes the same time and checks but copies nothing", () => {
  const on = blits({}), off = blits({ blitData: false });
  assert.equal(off.now, on.now, "same simulated time");
  assert.deepEqual(off.gpu.counters(), on.gpu.counters());
  assert.deepEqual(off.gpu.faults, []);
  assert.equal(off.gpu.memory.peek(off.dst), null, "the destination was never written");
  assert.equal(readGgtt(off.gpu, DST), 0);
});

Deno.test("blits: blit_data off still faults on a destination outside the VM", () => {
  for (const blitData of [true, false]) {
    const { sim, gpu } = smallGpu({ blitData });
    const ctx = makeContext(gpu, 0x10000, 0x20000);
    mapGgtt(gpu, SRC, 1);
    mapGgtt(gpu, DST, 1, 7); // a frame of VM 7: the host context may not write it
    const ring = new Uint32Array(16);
    const o = enc.emitXySrcCopyBlt(ring, 0, DST, 64, 0, 0, 16, 4, SRC, 64, 0, 0);
    appendRing(gpu, ctx, ring.slice(0, o));
    submit(gpu, BCS, [ctx.descLo, 0x22]);
    sim.run();
    assert.deepEqual(gpu.faults.map((f) => f.kind), ["isolation"], `blit_data ${blitData}`);
  }
});

Deno.test("blits: a scenario with blit_data off gives byte-identical results (gvtsim run)", async () => {
  const text = Deno.readTextFileSync("tests/fixtures/scenarios/scale7.gvt")
    .replace("run 10s", "run 300ms");
  const dir = await Deno.makeTempDir();
  const out: string[] = [];
  for (const mode of ["on", "off"]) {
    // the same file (its path is in the results) and the same lines
    await Deno.writeTextFile(
      `${dir}/s.gvt`,
      text.replace("invariants on", `invariants on; blit_data ${mode}`),
    );
    await runScenario(`${dir}/s.gvt`, {
      quiet: true,
      progress: false,
      out: () => {},
      err: () => {},
      json: `${dir}/${mode}.json`,
    });
    out.push(await Deno.readTextFile(`${dir}/${mode}.json`));
  }
  assert.ok(JSON.parse(out[0]).vms.length === 7);
  assert.equal(out[1], out[0]);
  await Deno.remove(dir, { recursive: true });
});
