import assert from "node:assert/strict";
import {
  HostMemory,
  OWNER_FREE,
  OWNER_HOST,
  OWNER_SCRATCH,
  ZERO_RUN_PAGES,
  zeroPages,
} from "../core/hw/memory.ts";

Deno.test("memory: scratch frame allocated at construction", () => {
  const m = new HostMemory(16 * 4096);
  assert.equal(m.frames, 16);
  assert.equal(m.scratchMfn, 0);
  assert.equal(m.ownerOf(0), OWNER_SCRATCH);
  assert.equal(m.ownerOf(1), OWNER_FREE);
  assert.equal(m.allocated, 1);
});

Deno.test("memory: lowest-free allocation order, reuse after free, exhaustion", () => {
  const m = new HostMemory(4 * 4096);
  assert.deepEqual([m.allocFrame(OWNER_HOST), m.allocFrame(1), m.allocFrame(2)], [1, 2, 3]);
  assert.equal(m.allocFrame(3), -1);
  m.freeFrame(2);
  assert.equal(m.ownerOf(2), OWNER_FREE);
  assert.equal(m.allocFrame(5), 2);
  assert.equal(m.ownerOf(2), 5);
  m.freeFrame(99); // no-op
  assert.equal(m.ownerOf(99), -3);
});

Deno.test("memory: freed frames come back zeroed", () => {
  const m = new HostMemory(4 * 4096);
  const f = m.allocFrame(1);
  m.write32(f * 4096 + 8, 0xdeadbeef);
  m.freeFrame(f);
  assert.equal(m.allocFrame(1), f);
  assert.equal(m.read32(f * 4096 + 8), 0);
});

Deno.test("memory: 32/64-bit and byte accesses across a page boundary", () => {
  const m = new HostMemory(8 * 4096);
  m.write32(4096 + 4, 0x89abcdef);
  assert.equal(m.read32(4096 + 4), 0x89abcdef);
  m.write64(2 * 4096 - 8, 2 ** 40 + 5);
  assert.equal(m.read64(2 * 4096 - 8), 2 ** 40 + 5);
  const buf = new Uint8Array(10).map((_, i) => i + 1);
  m.writeBytes(3 * 4096 - 5, buf);
  const out = new Uint8Array(10);
  m.readBytes(3 * 4096 - 5, out);
  assert.deepEqual(out, buf);
  assert.equal(m.read32(3 * 4096 - 4) & 0xff, 2);
});

Deno.test("memory: out-of-range accesses read 0, drop writes and are counted", () => {
  const m = new HostMemory(2 * 4096);
  m.write32(2 * 4096, 1);
  assert.equal(m.read32(2 * 4096), 0);
  assert.equal(m.read32(-4), 0);
  assert.equal(m.badAccesses, 3);
  assert.equal(m.valid(4096), true);
  assert.equal(m.valid(8192), false);
});

Deno.test("memory: span copies match a byte-by-byte model at any alignment, through reused buffers", () => {
  const m = new HostMemory(8 * 4096);
  const model = new Uint8Array(8 * 4096);
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  // one backing buffer seen through views at word and byte offsets, reused between copies as
  // the mediator reuses its staging page (the word view kept for it must follow its contents)
  const backing = new Uint8Array(3 * 4096 + 8);
  const views = [backing.subarray(0, 4096), backing.subarray(4, 3 * 4096 + 4), backing.subarray(1)];
  for (let round = 0; round < 400; round++) {
    const buf = views[rnd(views.length)];
    const at = rnd(2) ? 0 : rnd(buf.length), n = rnd(2) ? 4096 : rnd(buf.length - at + 1);
    const pa = rnd(4) === 0 ? 4096 * rnd(6) : rnd(7 * 4096);
    if (rnd(2)) {
      for (let i = 0; i < n; i++) buf[at + i] = rnd(256);
      m.writeFrom(pa, buf, at, n);
      for (let i = 0; i < n && pa + i < model.length; i++) model[pa + i] = buf[at + i];
    } else {
      buf.fill(0xaa);
      m.readInto(pa, buf, at, n);
      for (let i = 0; i < n; i++) {
        assert.equal(buf[at + i], pa + i < model.length ? model[pa + i] : 0, `round ${round}`);
      }
      assert.ok(at === 0 || buf[at - 1] === 0xaa, "nothing before the span is touched");
    }
  }
  const whole = new Uint8Array(model.length);
  m.readBytes(0, whole);
  assert.deepEqual(whole, model);
  const bad = m.badAccesses;
  m.readInto(8 * 4096 - 4, new Uint8Array(8), 0, 8); // the second half is outside
  m.writeFrom(-8, new Uint8Array(8), 0, 8);
  assert.equal(m.badAccesses, bad + 2);
});

Deno.test("memory: zeroPages() writes zeros without storage for frames that have none, and cannot be read into", () => {
  const m = new HostMemory(8 * 4096);
  const a = m.allocFrame(1), b = m.allocFrame(1);
  m.write32(b * 4096 + 12, 0xdead);
  m.write32(b * 4096 + 4092, 0xbeef);
  m.writeBytes(a * 4096, zeroPages(2)); // frames a and b (consecutive)
  assert.equal(m.peek(a), null, "a frame without storage keeps none");
  assert.equal(m.read32(b * 4096 + 12), 0);
  assert.equal(m.read32(b * 4096 + 4092), 0);
  m.write32(b * 4096 + 100, 7);
  m.writeFrom(b * 4096 + 98, zeroPages(1), 0, 3); // unaligned: bytes 98..100
  assert.equal(m.read32(b * 4096 + 100), 0x0, "byte 100 zeroed, 101.. were 0");
  m.write32(b * 4096 + 100, 0x07070707);
  m.writeFrom(b * 4096 + 101, zeroPages(1), 0, 2);
  assert.equal(m.read32(b * 4096 + 100), 0x07000007);
  m.writeBytes(7 * 4096, zeroPages(2)); // the second page is past the end
  assert.equal(m.badAccesses, 1);
  assert.equal(zeroPages(ZERO_RUN_PAGES).length, ZERO_RUN_PAGES * 4096);
  assert.throws(() => m.readBytes(a * 4096, zeroPages(1)), TypeError);
  assert.ok(zeroPages(ZERO_RUN_PAGES).every((x) => x === 0));
});
