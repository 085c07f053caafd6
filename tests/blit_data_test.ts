/**
 * Blits and their data (core/hw/streamer.ts): a page nobody has written has no storage and
 * reads as zeros, so a blit of such a page onto another such page (or a fill with 0) creates
 * neither; `blit_data off` (host setting) keeps every blit's time, page walk and checks but
 * copies nothing. Results stay byte-identical where nothing reads the surfaces. A blit's
 * PPGTT walks are cached for its duration only where it cannot write the tables walked.
 */
import assert from "node:assert/strict";
import * as enc from "../core/cmd/encode.ts";
import { BCS, GTT_OFFSET } from "../core/hw/regs.ts";
import type { GpuConfig } from "../core/hw/gpu.ts";
import { runScenario } from "../cli/run.ts";
import {
  appendRing,
  makeContext,
  mapGgtt,
  readGgtt,
  smallGpu,
  submit,
  TestPpgtt,
  writeGgtt,
} from "./hw_util.ts";
import { OWNER_HOST } from "../core/hw/memory.ts";

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

Deno.test("blits: rows onto the scratch page are dropped one chunk a row, page after page", () => {
  for (const blitData of [true, false]) {
    const { sim, gpu } = smallGpu({ blitData });
    const ctx = makeContext(gpu, 0x10000, 0x20000);
    mapGgtt(gpu, SRC, 2);
    for (let i = 0; i < 2; i++) {
      gpu.mmioWrite(GTT_OFFSET + (DST / 4096 + i) * 8, 8, gpu.memory.scratchMfn * 4096 + 3);
    }
    writeGgtt(gpu, SRC, [1, 2, 3]);
    const ring = new Uint32Array(16);
    // 40 rows of 48 bytes, 120 apart: 34 in the first page, one across, 5 in the second
    const o = enc.emitXySrcCopyBlt(ring, 0, DST, 120, 0, 0, 12, 40, SRC, 120, 0, 0);
    appendRing(gpu, ctx, ring.slice(0, o));
    submit(gpu, BCS, [ctx.descLo, 0x22]);
    sim.run();
    assert.deepEqual(gpu.faults, []);
    assert.equal(gpu.counters().scratchWrites, 41, `blit_data ${blitData}`);
    assert.equal(gpu.memory.read32(gpu.memory.scratchMfn * 4096), 0);
  }
});

/** Virtual addresses of the PPGTT blit below: a batch, four source and four target pages. */
const VA_BB = 0x100000, VA_SRC = 0x200000, VA_DST = 0x300000;

/**
 * A 4-level PPGTT context of `owner` blits four one-page rows from VA_SRC to VA_DST. With
 * `hitTable`, target page 1 is the page directory above their leaf table, and source page 1
 * holds that directory pointing at another leaf table, where target page 2 is another
 * frame: the blit rewrites its own page tables midway.
 */
function ppgttBlit(owner: number, hitTable: boolean) {
  const { sim, gpu } = smallGpu();
  const mem = gpu.memory;
  const pt = new TestPpgtt(gpu, 4); // tables are the host's
  const frame = () => mem.allocFrame(owner);
  const bb = frame(), src = [0, 1, 2, 3].map(frame), dst = [0, 1, 2, 3].map(frame);
  const moved = frame();
  pt.map(VA_BB, bb);
  for (let i = 0; i < 4; i++) {
    pt.map(VA_SRC + 4096 * i, src[i]);
    pt.map(VA_DST + 4096 * i, dst[i]);
  }
  for (let i = 0; i < 4; i++) {
    for (let k = 0; k < 1024; k++) mem.write32(src[i] * 4096 + 4 * k, (i << 16) + k + 1);
  }
  if (hitTable) {
    // the directory whose entry points at the leaf table of the source and target pages
    let pd = pt.roots[0];
    for (const shift of [39, 30]) {
      pd = mem.read32(pd + 8 * ((VA_DST / 2 ** shift) & 0x1ff)) & ~0xfff;
    }
    const pde = 8 * ((VA_DST / 2 ** 21) & 0x1ff), leaf = mem.read32(pd + pde) & ~0xfff;
    // a second leaf table: the first with target page 2 moved
    const leaf2 = mem.allocFrame(OWNER_HOST) * 4096;
    for (let k = 0; k < 1024; k++) mem.write32(leaf2 + 4 * k, mem.read32(leaf + 4 * k));
    mem.write32(leaf2 + 8 * (((VA_DST + 2 * 4096) / 4096) & 0x1ff), moved * 4096 + 3);
    // target page 1 is the directory; source page 1 holds it with the second leaf table
    pt.map(VA_DST + 4096, pd / 4096);
    for (let k = 0; k < 1024; k++) mem.write32(src[1] * 4096 + 4 * k, mem.read32(pd + 4 * k));
    mem.write32(src[1] * 4096 + pde, leaf2 + 3);
  }
  const b = new Uint32Array(32);
  const n = enc.emitBatchBufferEnd(
    b,
    enc.emitXySrcCopyBlt(b, 0, VA_DST, 4096, 0, 0, 1024, 4, VA_SRC, 4096, 0, 0),
  );
  for (let i = 0; i < n; i++) mem.write32(bb * 4096 + 4 * i, b[i]);
  const ctx = makeContext(gpu, 0x10000, 0x20000, 1, 3, pt.roots, owner);
  const ring = new Uint32Array(4);
  appendRing(
    gpu,
    ctx,
    ring.subarray(0, enc.emitNoop(ring, enc.emitBatchBufferStart(ring, 0, VA_BB, true))),
  );
  submit(gpu, BCS, [ctx.descLo, 0x22]);
  sim.run();
  const word = (f: number, k: number) => mem.read32(f * 4096 + 4 * k);
  return { gpu, src, dst, moved, word };
}

Deno.test("blits: a PPGTT blit of a VM copies every page through its own walks", () => {
  const r = ppgttBlit(5, false);
  assert.deepEqual(r.gpu.faults, []);
  for (const i of [0, 1, 2, 3]) {
    for (const k of [0, 511, 1023]) assert.equal(r.word(r.dst[i], k), (i << 16) + k + 1);
  }
  assert.equal(r.gpu.counters().blitBytes, 4 * 4096);
});

Deno.test("blits: a blit that rewrites its own page table goes where the new entry points", () => {
  const r = ppgttBlit(OWNER_HOST, true);
  assert.deepEqual(r.gpu.faults, []);
  assert.equal(r.word(r.dst[0], 7), 8, "page 0 before the table changed");
  assert.equal(r.word(r.moved, 7), (2 << 16) + 8, "page 2 through the rewritten entry");
  assert.equal(r.word(r.dst[2], 7), 0, "not through the old one");
  assert.equal(r.word(r.dst[3], 7), (3 << 16) + 8, "page 3 as mapped before");
});
