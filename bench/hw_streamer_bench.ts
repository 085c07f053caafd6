/**
 * Command streamer throughput: decode + execute of realistic command mixes (render, blit,
 * video) in dwords per second, beside a baseline that only sums the same dwords.
 * Run: deno bench bench/hw_streamer_bench.ts
 */

import { Sim } from "../core/sim/sim.ts";
import { Gpu } from "../core/hw/gpu.ts";
import { OWNER_HOST } from "../core/hw/memory.ts";
import { BCS, GTT_OFFSET, RCS, VCS } from "../core/hw/regs.ts";
import { PPGTT_NONE } from "../core/hw/streamer.ts";
import { type BatchOptions, buildBatch, type MixCounts } from "../core/cmd/batch.ts";
import { emitBatchBufferStart } from "../core/cmd/encode.ts";

const MiB = 1024 * 1024;
const RING = 0x10000, BB = 0x100000, DATA = 0x800000, SRC = 0x900000, DST = 0xa00000;

interface Case {
  name: string;
  engine: number;
  mix: MixCounts;
}

const CASES: Case[] = [
  {
    name: "render",
    engine: RCS,
    mix: { draw: 2000, blit: 0, media: 20, compute: 20, store: 64, lri: 32 },
  },
  {
    name: "blit",
    engine: BCS,
    mix: { draw: 0, blit: 200, media: 0, compute: 0, store: 64, lri: 16 },
  },
  {
    name: "video",
    engine: VCS,
    mix: { draw: 0, blit: 0, media: 400, compute: 0, store: 32, lri: 8 },
  },
];

/** The baseline: a bare loop summing the dwords. */
function sumDwords(words: Int32Array): number {
  let sum = 0;
  for (let i = 0; i < words.length; i++) sum = (sum + words[i]) | 0;
  return sum;
}

let sink = 0;

function setup(c: Case) {
  const sim = new Sim(1);
  const gpu = new Gpu(sim, { aperture: 64 * MiB, ggtt: 256 * MiB, hostMemoryBytes: 256 * MiB });
  const map = (gma: number, pages: number) => {
    for (let i = 0; i < pages; i++) {
      const mfn = gpu.memory.allocFrame(OWNER_HOST);
      gpu.mmioWrite(GTT_OFFSET + (gma / 4096 + i) * 8, 8, mfn * 4096 + 3);
    }
  };
  map(RING, 1);
  map(DATA, 1);
  map(SRC, 8);
  map(DST, 8);
  const opts: BatchOptions = {
    storeAddr: (i) => DATA + 4 * (i & 1023),
    storeValue: (i) => i,
    ggtt: true,
    blitSrc: SRC,
    blitDst: DST,
    blitPitch: 256,
    blitWidth: 64,
    blitHeight: 16,
  };
  const buf = new Uint32Array(1 << 20);
  const n = buildBatch(c.mix, c.engine, opts, buf, 0);
  map(BB, Math.ceil((n * 4) / 4096));
  for (let i = 0; i < n; i++) gpu.memory.write32(gpu.ggttTranslate(BB + 4 * i), buf[i]);
  const ring = new Uint32Array(4);
  const rl = emitBatchBufferStart(ring, 0, BB, false);
  for (let i = 0; i < 4; i++) {
    gpu.memory.write32(gpu.ggttTranslate(RING + 4 * i), i < rl ? ring[i] : 0);
  }
  const s = gpu.streamers[c.engine];
  s.owner = OWNER_HOST;
  s.ppgtt = PPGTT_NONE;
  s.ringStart = RING;
  s.ringSize = 4096;
  s.tail = 16;
  const dwords = n + 4;
  // The whole element, its timed effects performed back to back (no events in between).
  const run = () => {
    s.head = 0;
    s.begin();
    do if (s.advance() < 0) throw new Error(String(s.fault)); while (s.pending);
  };
  const words = new Int32Array(buf.slice(0, n).buffer); // the same dwords, as int32
  const baseline = () => sumDwords(words);
  return { run, baseline, dwords, words };
}

for (const c of CASES) {
  const b = setup(c);
  Deno.bench({
    name: `streamer ${c.name} (${b.dwords} dwords)`,
    group: c.name,
    baseline: false,
    fn: b.run,
  });
  Deno.bench({
    name: `baseline sum ${c.name}`,
    group: c.name,
    baseline: true,
    fn: () => {
      sink ^= b.baseline();
    },
  });
}

function rate(fn: () => unknown, dwords: number): number {
  let iters = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 300) {
    for (let i = 0; i < 20; i++) fn();
    iters += 20;
    t = performance.now();
  }
  return (iters * dwords) / ((t - t0) / 1000);
}

/** Dwords/s of the bare summing loop, timed inline so the JIT compiles the loop itself. */
function rateSum(words: Int32Array): number {
  const n = words.length;
  let sum = 0, iters = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 300) {
    for (let k = 0; k < 20; k++) for (let i = 0; i < n; i++) sum = (sum + words[i]) | 0;
    iters += 20;
    t = performance.now();
  }
  sink ^= sum;
  return (iters * n) / ((t - t0) / 1000);
}

// Warm every case up together first, so the JIT has seen all of them before measuring.
const measured = CASES.map((c) => ({ c, b: setup(c) }));
const w0 = performance.now();
while (performance.now() - w0 < 600) {
  for (const { b } of measured) {
    b.run();
    sink ^= b.baseline();
  }
}
for (const { c, b } of measured) {
  const s = rate(b.run, b.dwords), base = rateSum(b.words);
  const blitBytes = c.mix.blit * 64 * 16 * 4;
  const extra = blitBytes > 0
    ? ` (blits really copy ${(blitBytes / 1024).toFixed(0)} KiB per batch: ${
      ((s / b.dwords) * blitBytes / 1e9).toFixed(2)
    } GB/s)`
    : "";
  console.log(
    `streamer ${c.name}: ${(s / 1e6).toFixed(1)} M dwords/s; baseline sum ${
      (base / 1e6).toFixed(1)
    } M dwords/s; ratio ${(s / base * 100).toFixed(1)}% (target >= 50 M dwords/s: ${
      s >= 50e6 ? "met" : "NOT met"
    })${extra}`,
  );
}
