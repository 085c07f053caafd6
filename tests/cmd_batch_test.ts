import assert from "node:assert/strict";
import {
  batchLength,
  type BatchOptions,
  buildBatch,
  emitRingRequest,
  type MixCounts,
  ringRequestLength,
} from "../core/cmd/batch.ts";
import { cmdId, cmdLength, COMMANDS, decode, ID } from "../core/cmd/table.ts";
import { Rng } from "../core/sim/rng.ts";

const opts: BatchOptions = {
  storeAddr: (i) => 0x10000 + 4 * i,
  storeValue: (i) => i * 3,
  ggtt: true,
  blitSrc: 0x20000,
  blitDst: 0x40000,
  blitPitch: 1024,
  blitWidth: 256,
  blitHeight: 8,
};

/** Walks a command stream; returns command names in order. */
function walk(buf: Uint32Array, n: number, engine: number): string[] {
  const names: string[] = [];
  for (let o = 0; o < n;) {
    const id = decode(buf[o], engine);
    assert.ok(id >= 0, `undecodable dword 0x${buf[o].toString(16)} at ${o}`);
    names.push(COMMANDS[id].name);
    o += cmdLength(id, buf[o]);
    assert.ok(o <= n, "command overruns the stream");
  }
  return names;
}

Deno.test("batch: length prediction is exact and every dword decodes, for random mixes", () => {
  const rng = new Rng(7, "mix");
  const buf = new Uint32Array(1 << 16);
  for (let t = 0; t < 200; t++) {
    const engine = t & 3;
    const mix: MixCounts = {
      draw: rng.int(0, 40),
      blit: rng.int(0, 5),
      media: rng.int(0, 5),
      compute: rng.int(0, 5),
      store: rng.int(0, 20),
      lri: rng.int(0, 10),
    };
    const n = buildBatch(mix, engine, opts, buf, 3);
    assert.equal(n, batchLength(mix, engine));
    assert.equal(n % 2, 0);
    const names = walk(buf.subarray(3), n, engine);
    const count = (x: string) => names.filter((y) => y === x).length;
    assert.equal(count("MI_STORE_DATA_IMM"), mix.store);
    assert.equal(count("MI_LOAD_REGISTER_IMM"), mix.lri);
    assert.ok(names.includes("MI_BATCH_BUFFER_END"));
    if (engine === 0) {
      assert.equal(count("3DPRIMITIVE"), mix.draw);
      assert.equal(count("MEDIA_OBJECT_WALKER"), mix.media);
      assert.equal(count("GPGPU_WALKER"), mix.compute);
    }
    if (engine === 1) assert.equal(count("XY_SRC_COPY_BLT"), mix.blit);
    if (engine === 2) assert.equal(count("MFD_AVC_BSD_OBJECT"), mix.media);
    if (engine === 3) assert.equal(count("VEB_DI_IECP"), mix.media);
  }
});

Deno.test("batch: stores carry the requested addresses and values", () => {
  const buf = new Uint32Array(256);
  const mix = { draw: 0, blit: 0, media: 0, compute: 0, store: 3, lri: 0 };
  const n = buildBatch(mix, 2, opts, buf, 0);
  assert.equal(n, 14);
  for (let i = 0; i < 3; i++) {
    assert.equal(decode(buf[4 * i], 2), ID.MI_STORE_DATA_IMM);
    assert.equal(buf[4 * i + 1], 0x10000 + 4 * i);
    assert.equal(buf[4 * i + 3], i * 3);
  }
  assert.equal(decode(buf[12], 2), ID.MI_BATCH_BUFFER_END);
});

Deno.test("batch: ring request = ARB on, batch start, breadcrumb, user interrupt", () => {
  for (let e = 0; e < 4; e++) {
    const buf = new Uint32Array(32);
    const n = emitRingRequest(buf, 0, e, 0x5000, true, 0x9000, 42);
    assert.equal(n, ringRequestLength(e));
    const names = walk(buf, n, e);
    assert.deepEqual(names, [
      "MI_ARB_ON_OFF",
      "MI_BATCH_BUFFER_START",
      e === 0 ? "PIPE_CONTROL" : "MI_FLUSH_DW",
      "MI_USER_INTERRUPT",
      "MI_NOOP",
    ]);
  }
});

Deno.test("batch: fill N clears render targets 0..N-1 with this batch's colour (XY_COLOR_BLT)", () => {
  const targets = [0x100000, 0x900000].map((gma) => ({ gma, width: 1920, height: 1200, color: 7 }));
  const o: BatchOptions = { ...opts, fillTarget: (i) => targets[i] };
  const mix: MixCounts = { draw: 0, blit: 1, media: 0, compute: 0, store: 0, lri: 0, fill: 2 };
  const buf = new Uint32Array(256);
  const n = buildBatch(mix, 1, o, buf, 0);
  assert.equal(n, batchLength(mix, 1));
  const names = walk(buf, n, 1);
  assert.deepEqual(names.filter((c) => c === "XY_COLOR_BLT").length, 2);
  const at = (k: number) => {
    let seen = 0;
    for (let p = 0; p < n;) {
      const id = decode(buf[p], 1);
      if (COMMANDS[id].name === "XY_COLOR_BLT" && seen++ === k) return p;
      p += cmdLength(id, buf[p]);
    }
    return -1;
  };
  assert.equal(buf[at(0) + 4], 0x100000);
  assert.equal(buf[at(1) + 4], 0x900000);
  assert.equal(buf[at(1) + 6], 7);
  assert.throws(() => buildBatch(mix, 1, opts, buf, 0), /needs BatchOptions.fillTarget/);
});

Deno.test("batch: draws past the 64-draw template keep their vertex counts, in any buffer state", () => {
  for (const draws of [1, 63, 64, 65, 130, 300]) {
    const mix = { draw: draws, blit: 0, media: 0, compute: 0, store: 0, lri: 0 };
    const buf = new Uint32Array(4096).fill(0xffffffff); // stale contents must not show through
    const n = buildBatch(mix, 0, opts, buf, 5);
    assert.equal(n, batchLength(mix, 0));
    const names = walk(buf.subarray(5), n, 0);
    assert.deepEqual(names.slice(0, 2), ["PIPELINE_SELECT", "STATE_BASE_ADDRESS"]);
    assert.equal(names[names.length - 2 - ((names.length + 1) & 1)], "PIPE_CONTROL");
    const vertices: number[] = [];
    for (let o = 5; o < 5 + n;) {
      const id = decode(buf[o], 0);
      if (id === ID["3DPRIMITIVE"]) vertices.push(buf[o + 2]);
      else if (id === cmdId("STATE_BASE_ADDRESS")) {
        assert.equal(buf[o + 1], 0, "state payload zeroed");
      }
      o += cmdLength(id, buf[o]);
    }
    assert.deepEqual(vertices, Array.from({ length: draws }, (_, i) => 3 * (1 + (i % 64))));
  }
});
