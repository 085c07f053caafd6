/**
 * The SDK's per-frame state for backends (`LazyInt32Array` with `sparseFrames` /
 * `loadSparseFrames`): a terabyte guest costs nothing until frames are touched, and a saved
 * set round-trips in the pairs format `sparseBytes` used.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  LazyInt32Array,
  loadSparseFrames,
  packNumbers,
  sparseBytes,
  sparseFrames,
  unpackNumbers,
} from "../mpt.ts";
import { LAZY_CHUNK } from "../core/hw/lazy_array.ts";

const TIB_FRAMES = 2 ** 28; // 1 TiB of 4 KiB frames

Deno.test("frame state: a terabyte of frames, a few set, saved as sorted pairs and restored", () => {
  const a = new LazyInt32Array(TIB_FRAMES, 0);
  for (const g of [TIB_FRAMES - 1, 5, 70_000]) a.set(g, 1);
  a.set(6, 0); // writing the fill allocates nothing and changes nothing
  assert.deepEqual(sparseFrames(a), [5, 1, 70_000, 1, TIB_FRAMES - 1, 1]);
  const small = new Uint8Array(8);
  small[3] = 1;
  const b = new LazyInt32Array(TIB_FRAMES, 0);
  b.set(9, 1); // restoring replaces what was there
  loadSparseFrames(b, sparseFrames(a), "tracked pages");
  assert.deepEqual(sparseFrames(b), sparseFrames(a));
  assert.equal(b.get(9), 0);
  loadSparseFrames(b, sparseBytes(small), "tracked pages"); // the older helper's format
  assert.deepEqual(sparseFrames(b), [3, 1]);
  b.clear();
  assert.deepEqual(sparseFrames(b), []);
  for (const bad of [[1], [TIB_FRAMES, 1], [-1, 1], [0.5, 1], [0, "x"], "x"]) {
    assert.throws(() => loadSparseFrames(b, bad, "tracked pages"), /^Error: bad tracked pages$/);
  }
});

Deno.test("packed numbers: whole 32-bit values take 4 bytes, others 8; anything malformed is refused", () => {
  const small = new Float64Array([0, 1, 4096, 2 ** 32 - 1, 257, 46_870_528]);
  const packed = packNumbers(small);
  assert.match(packed, /^u32:/);
  assert.equal(packed.length, 4 + Math.ceil((small.length * 4) / 3) * 4);
  assert.deepEqual([...unpackNumbers({ x: packed }, "x", 2)], [...small]);
  for (const big of [[2 ** 32], [-1], [0.5], [2 ** 52 + 8], [-0]]) {
    const p = packNumbers(new Float64Array(big));
    assert.match(p, /^f64:/);
    assert.deepEqual([...unpackNumbers({ x: p }, "x", 1)], big);
  }
  assert.deepEqual([...unpackNumbers({ x: packNumbers(new Float64Array(0)) }, "x", 3)], []);
  const bad: [unknown, number][] = [
    [5, 1], // not text
    ["x32:AAAAAA==", 1], // no known tag
    ["u32:@@@@", 1], // not base64
    [packed, 4], // 6 numbers are not groups of 4
    [packNumbers(new Float64Array([NaN])), 1],
    [packNumbers(new Float64Array([Infinity])), 1],
    [packed, 0],
  ];
  for (const [x, group] of bad) {
    assert.throws(() => unpackNumbers({ x }, "x", group), /^Error: saved x is malformed$/);
  }
});

Deno.test("LazyInt32Array.indexOf finds what a plain array's search finds (across chunks, past the last entry)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 * LAZY_CHUNK + 7 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: -3, max: 3 })), { maxLength: 40 }),
      fc.integer({ min: -3, max: 3 }),
      fc.integer({ min: -5, max: 4 * LAZY_CHUNK }),
      (length, sets, v, from) => {
        const a = new LazyInt32Array(length, -2), model = new Array(length).fill(-2);
        for (const [i, x] of sets) {
          a.set(i % length, x);
          model[i % length] = x;
        }
        assert.equal(a.indexOf(v, from), model.indexOf(v, Math.max(0, from)));
      },
    ),
    { numRuns: 300 },
  );
  // the last chunk holds entries past the end (the fill): they are not found
  const a = new LazyInt32Array(LAZY_CHUNK + 3, -2);
  for (let i = LAZY_CHUNK; i < LAZY_CHUNK + 3; i++) a.set(i, 5);
  assert.equal(a.indexOf(-2, LAZY_CHUNK), -1);
  assert.equal(a.indexOf(5, 0), LAZY_CHUNK);
});
