import assert from "node:assert/strict";
import { HostMemory, OWNER_FREE } from "../core/hw/memory.ts";
import { GuestMemory } from "../core/guest/memory.ts";

const MiB = 1024 * 1024;

Deno.test("guest memory: frames allocated lazily with the VM's owner tag", () => {
  const host = new HostMemory(16 * MiB);
  const g = new GuestMemory(host, 3, 4 * MiB);
  assert.equal(g.frames, 1024);
  assert.equal(g.totalFrames, 1024);
  assert.equal(g.resident, 0);
  const before = host.allocated;
  const m = g.mfnOf(10);
  assert.ok(m >= 0);
  assert.equal(host.ownerOf(m), 3);
  assert.equal(g.mfnOf(10), m, "stable");
  assert.equal(g.resident, 1);
  assert.equal(host.allocated, before + 1);
  assert.equal(g.residentMfn(11), -1, "untouched frame not allocated");
});

Deno.test("guest memory: read/write across pages, sized accesses", () => {
  const host = new HostMemory(16 * MiB);
  const g = new GuestMemory(host, 1, 4 * MiB);
  const buf = new Uint8Array(10000).map((_, i) => i & 0xff);
  assert.ok(g.write(4096 * 5 + 100, buf));
  const out = new Uint8Array(10000);
  assert.ok(g.read(4096 * 5 + 100, out));
  assert.deepEqual(out, buf);
  assert.ok(g.write64(0x2000, 2 ** 40 + 5));
  assert.equal(g.read64(0x2000), 2 ** 40 + 5);
  assert.ok(g.writeSized(0x3001, 2, 0xbeef));
  assert.equal(g.readSized(0x3001, 2), 0xbeef);
  assert.equal(g.read32(0x3000), 0x00beef00);
  assert.ok(g.writeSized(0x3ffe, 4, 0x11223344), "crosses a page");
  assert.equal(g.readSized(0x3ffe, 4), 0x11223344);
  const fresh = new Uint8Array(8).fill(9);
  assert.ok(g.read(0x100000, fresh));
  assert.deepEqual(fresh, new Uint8Array(8), "untouched memory reads as zero");
  assert.equal(g.resident, 6, "pages 2..7 only: reading untouched memory allocates nothing");
});

Deno.test("guest memory: holes and out-of-range are not backed", () => {
  const host = new HostMemory(16 * MiB);
  const g = new GuestMemory(host, 1, 4 * MiB, { holes: [[100, 200]] });
  assert.equal(g.isBacked(99), true);
  assert.equal(g.isBacked(100), false);
  assert.equal(g.isBacked(199), false);
  assert.equal(g.isBacked(200), true);
  assert.equal(g.isBacked(1024), false);
  assert.equal(g.isBacked(1.5), false);
  assert.equal(g.mfnOf(150), -1);
  assert.equal(g.write(99 * 4096 + 4090, new Uint8Array(10)), false, "runs into the hole");
  assert.equal(g.read32(99 * 4096 + 4092), 0);
  assert.equal(g.read(4 * MiB - 2, new Uint8Array(4)), false);
  assert.ok(g.faults >= 2);
});

Deno.test("guest memory: page allocator skips reserved and holes, zeroes reused pages", () => {
  const host = new HostMemory(16 * MiB);
  const g = new GuestMemory(host, 1, 2 * MiB, { holes: [[256, 258]], reservedLow: 256 });
  const a = g.allocPage();
  assert.equal(a, 258);
  g.write32(a * 4096, 0xdead);
  g.freePage(a);
  assert.equal(g.allocPage(), a);
  assert.equal(g.read32(a * 4096), 0, "zeroed on reuse");
  let n = 1;
  while (g.allocPage() >= 0) n++;
  assert.equal(n, 512 - 258);
  assert.equal(g.pagesInUse, n);
});

Deno.test("guest memory: release frees every frame; host exhaustion gives -1", () => {
  const host = new HostMemory(8 * 4096);
  const g = new GuestMemory(host, 2, 64 * 4096);
  const mfns = [];
  for (let i = 0; i < 7; i++) mfns.push(g.mfnOf(i));
  assert.ok(mfns.every((m) => m >= 0));
  assert.equal(g.mfnOf(7), -1, "host memory exhausted (one frame is scratch)");
  assert.equal(g.write32(7 * 4096, 1), false);
  g.release();
  assert.ok(mfns.every((m) => host.ownerOf(m) === OWNER_FREE));
  assert.equal(g.mfnOf(0), -1);
  assert.equal(g.read(0, new Uint8Array(4)), false);
});

Deno.test("latency stats: histogram, percentiles, flat guest record", async () => {
  const { LatencyStats, GuestMetrics, guestMetricsRecord } = await import(
    "../core/guest/metrics.ts"
  );
  const s = new LatencyStats();
  for (let i = 1; i <= 100; i++) s.record(i * 1000);
  assert.equal(s.count, 100);
  assert.equal(s.percentile(50), 50_000);
  assert.equal(s.percentile(99), 99_000);
  assert.equal(s.min, 1000);
  assert.equal(s.mean, 50_500);
  assert.equal(s.histogram.count, 100);
  const m = new GuestMetrics();
  m.submitted[1] = 3;
  m.completed[1] = 2;
  m.latency[1].record(5000);
  m.latencyAll.record(5000);
  const r = guestMetricsRecord(m);
  assert.equal(r["batches.bcs"], 3);
  assert.equal(r["batches.rcs"], undefined);
  assert.equal(r["latency.p99_ns"], 5000);
});
