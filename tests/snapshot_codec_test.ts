/**
 * The checkpoint's buffer codec and digest (core/snapshot_state.ts, core/snapshot.ts):
 * buffers round-trip through their segments, fills of one 32-bit word or one 64-bit pattern
 * are folded (a GGTT DMA table is mostly -1), malformed segments are refused, and the digest
 * changes with any one word.
 */
import assert from "node:assert/strict";
import {
  type BufferSegment,
  decodeBuffer,
  encodeBuffer,
  validateHeap,
} from "../core/snapshot_state.ts";
import { encodeSnapshot, Fnv1a64, SnapshotError, type SnapshotFile } from "../core/snapshot.ts";
import { CHECKPOINT_LIMITS, decodeSnapshot } from "../core/snapshot_decode.ts";
import { baseCheckpoint } from "../fuzz/checkpoint.ts";

function roundTrip(buf: ArrayBuffer): BufferSegment[] {
  const segs = encodeBuffer(buf);
  const back = new ArrayBuffer(buf.byteLength);
  assert.equal(decodeBuffer(back, JSON.parse(JSON.stringify(segs))), true);
  assert.deepEqual(new Uint8Array(back), new Uint8Array(buf));
  // decoding over a buffer holding other data zeroes what no segment covers
  const dirty = new Uint8Array(buf.byteLength).fill(0x5a);
  assert.equal(decodeBuffer(dirty.buffer, segs), true);
  assert.deepEqual(dirty, new Uint8Array(buf));
  return segs;
}

Deno.test("snapshot codec: a DMA table of -1 with mapped runs folds to 64-bit fills", () => {
  const dma = new Float64Array(114_688).fill(-1);
  for (let i = 0; i < 300; i++) dma[5000 + i] = 0x10_0000_0000 + i * 4096;
  const segs = roundTrip(dma.buffer);
  const fills = segs.filter((s) => s.length === 4);
  assert.equal(fills.length, 2, "one fill before the mapped run, one after");
  assert.deepEqual(fills[0].slice(2), [0, 0xbff00000], "-1 as low word, high word");
  const raw = segs.filter((s) => s.length === 2).reduce((n, s) => n + String(s[1]).length, 0);
  assert.ok(raw < 6000, `only the mapped run is base64 (${raw} chars)`);
  assert.ok(JSON.stringify(segs).length < dma.byteLength / 100);
});

Deno.test("snapshot codec: zeros, 32-bit fills, raw bytes and odd sizes round-trip", () => {
  assert.deepEqual(roundTrip(new ArrayBuffer(8192)), [], "zeros are left out");
  const words = new Uint32Array(4096).fill(0xdeadbeef);
  words.fill(0, 1024, 2048);
  assert.deepEqual(roundTrip(words.buffer), [[0, 4096, 0xdeadbeef], [8192, 8192, 0xdeadbeef]]);
  const bytes = new Uint8Array(3001);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
  const segs = roundTrip(bytes.buffer);
  assert.equal(segs.length, 1);
  assert.equal(typeof segs[0][1], "string");
  roundTrip(new Uint8Array([0, 0, 0, 1, 0]).buffer);
});

Deno.test("snapshot codec: zero 256-byte sub-blocks of a raw block are left out of its base64", () => {
  // 2 KiB: words in the first and last 256 bytes of each 1 KiB block, zeros between
  const words = new Uint32Array(512);
  for (const at of [0, 63, 192, 255, 256, 300, 448, 511]) words[at] = 0x1000 + at;
  const segs = roundTrip(words.buffer);
  assert.deepEqual(
    segs.map((s) => [s[0], (s as [number, string])[1].length]),
    [[0, 344], [768, 684], [1792, 344]],
    "raw runs: [0, 256), [768, 1280), [1792, 2048)",
  );
  // an odd-sized buffer (no word view) is split the same way
  const odd = new Uint8Array(1027);
  odd[0] = 1;
  odd[1026] = 2;
  assert.deepEqual(roundTrip(odd.buffer).map((s) => s[0]), [0, 1024]);
});

Deno.test("snapshot codec: malformed segments are refused", () => {
  const buf = new ArrayBuffer(64);
  const good = encodeBuffer(new Uint8Array(64).fill(3).buffer);
  assert.equal(decodeBuffer(buf, good), true);
  const b64 = new Uint8Array([1, 2, 3, 4, 5, 6]).toBase64();
  for (
    const bad of [
      [[0, ` ${b64.slice(1)}`]], // whitespace
      [[0, `${b64}\n`]],
      [[0, "AQ=A"]], // padding inside
      [[0, "AR=="]], // stray bits in the last group
      [[62, b64]], // past the end
      [[0, 12, 1, 2]], // a 64-bit fill of 12 bytes
      [[0, 16, 1.5]],
      [[0]],
      "nope",
    ]
  ) {
    assert.equal(decodeBuffer(buf, bad), false, JSON.stringify(bad));
  }
  const heap = (d: unknown[]) => ({
    objects: [{ k: "o", p: "w", c: "World", f: { b: 0 }, r: ["b", 1] }, {
      k: "b",
      p: "w.b",
      n: 64,
      d,
    }],
  });
  assert.equal(
    typeof validateHeap(heap([[0, 64, 1, 0xbff00000]]), CHECKPOINT_LIMITS.heap),
    "object",
  );
  for (const d of [[[0, 64, 1, -1]], [[0, 60, 1, 2]], [[8, 64, 1, 2]], [[0, 64, 1, 2, 3]]]) {
    assert.match(
      String(validateHeap(heap(d), CHECKPOINT_LIMITS.heap)),
      /bad buffer segment/,
      JSON.stringify(d),
    );
  }
});

Deno.test("snapshot digest: changing any one word, or any one bit of it, changes the digest", () => {
  const words = new Uint32Array(4096);
  for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 0x9e3779b1) >>> 0;
  const digest = (w: Uint32Array) => {
    const h = new Fnv1a64();
    h.view(w);
    return h.hex();
  };
  const base = digest(words);
  const seen = new Set([base]);
  for (const at of [0, 1, 2047, 4095]) {
    for (const bit of [0, 7, 15, 16, 24, 31]) {
      const w = words.slice();
      w[at] ^= 1 << bit;
      const d = digest(w);
      assert.ok(!seen.has(d), `word ${at} bit ${bit}`);
      seen.add(d);
    }
  }
  // swapping two words changes it too (order matters)
  const w = words.slice();
  [w[10], w[11]] = [w[11], w[10]];
  assert.notEqual(digest(w), base);
});

Deno.test("snapshot digest: zero and repeated blocks are digested by kind, and still any bit counts", () => {
  // 1 MiB: zeros, a run of one repeated 64-bit pattern (a DMA table of -1), a little data
  const f = new Float64Array(131_072);
  f.fill(-1, 40_000, 100_000);
  f[120_000] = 12345;
  const words = new Uint32Array(f.buffer);
  const digest = (w: Uint32Array) => {
    const h = new Fnv1a64();
    h.view(w);
    return h.hex();
  };
  const seen = new Set([digest(words)]);
  for (const at of [0, 1023, 1024, 70_000, 80_001, 199_999, 200_000, 240_000, 262_143]) {
    for (const bit of [0, 31]) {
      const w = words.slice();
      w[at] ^= 1 << bit;
      const d = digest(w);
      assert.ok(!seen.has(d), `word ${at} bit ${bit}`);
      seen.add(d);
    }
  }
  // where the pattern starts and ends counts, not only which blocks hold it
  const shifted = new Float64Array(131_072);
  shifted.fill(-1, 40_512, 100_512);
  shifted[120_000] = 12345;
  assert.ok(!seen.has(digest(new Uint32Array(shifted.buffer))));
});

Deno.test("snapshot digest: digests taken at the same time, their data interleaved, are each what they are alone", () => {
  const words = (n: number, seed: number) => {
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.imul(i + seed, 0x9e3779b1) >>> 0;
    return a;
  };
  // small arrays (gathered before hashing), large ones (hashed at once), across the gathering size
  const a = [words(1000, 1), words(20_000, 2), words(17_000, 3)];
  const b = [words(5, 4), words(1024, 5), words(30_000, 6)];
  const alone = (xs: Uint32Array[]) => {
    const h = new Fnv1a64();
    for (const x of xs) h.view(x);
    return h.hex();
  };
  const ha = new Fnv1a64(), hb = new Fnv1a64();
  for (let i = 0; i < 3; i++) {
    ha.view(a[i]);
    hb.view(b[i]);
  }
  assert.equal(ha.hex(), alone(a));
  assert.equal(hb.hex(), alone(b));
});

Deno.test("snapshot heap: a field named __proto__, or a static part not registered, is refused", () => {
  const heap = JSON.parse(
    '{"objects": [{"k": "o", "p": "w", "c": "World", "f": {"__proto__": 1}}]}',
  );
  assert.equal(
    validateHeap(heap, CHECKPOINT_LIMITS.heap),
    "heap record 0: a field is named __proto__",
  );
  // only the registered static parts may be taken from the rebuilt world as they are
  const world = { k: "o", p: "w", c: "World", f: {} };
  assert.equal(
    validateHeap({ objects: [world, { k: "z", p: "w.sim" }] }, CHECKPOINT_LIMITS.heap),
    "heap record 1: not a static part of a world",
  );
  assert.equal(
    typeof validateHeap(
      { objects: [world, { k: "z", p: "w.gpu.registerDefs" }] },
      CHECKPOINT_LIMITS.heap,
    ),
    "object",
  );
});

Deno.test("snapshot heap: a record at or under a static part must be `z`; paths beside one are data", () => {
  const world = { k: "o", p: "w", c: "World", f: {} };
  const check = (p: string, k = "f") =>
    validateHeap({ objects: [world, { k, p }] }, CHECKPOINT_LIMITS.heap);
  const refused = "heap record 1: a static part of a world is recorded as present only";
  for (const p of ["w.gpu.ro", "w.gpu.ro.buffer", "w.gvt.mmio.table.handlers.0.x"]) {
    assert.equal(check(p), refused, p);
  }
  for (
    const p of ["w.gpu.rox", "w.gpu.r", "w.gpu.ro-1", "w.gvt.mmio.table.handlers.01", "xw.gpu.ro"]
  ) {
    assert.equal(typeof check(p), "object", p);
  }
});

Deno.test("snapshot decode: a backend state may nest 32 levels, not 33", async () => {
  const base = await baseCheckpoint();
  const nested = (levels: number) => {
    const x = structuredClone(base) as unknown as SnapshotFile;
    let deep: unknown = 1;
    for (let i = 0; i < levels; i++) deep = i % 2 ? [deep] : { d: deep };
    (x.backend.states["1"] as Record<string, unknown>).extra = deep; // one level below the state
    return decodeSnapshot(encodeSnapshot(x));
  };
  assert.ok(!(nested(31) instanceof SnapshotError));
  assert.equal(
    (nested(32) as SnapshotError).message,
    "checkpoint backend state of vGPU 1 nests too deeply",
  );
  // empty containers are no level; a huge flat array is one
  const wide = structuredClone(base) as unknown as SnapshotFile;
  (wide.backend.states["1"] as Record<string, unknown>).extra = [[], {}, new Array(1e5).fill(0)];
  assert.ok(!(decodeSnapshot(encodeSnapshot(wide)) instanceof SnapshotError));
});
