import assert from "node:assert/strict";
import { MS, Sim } from "../core/sim/sim.ts";
import { Gpu, gpuConfigFromHost } from "../core/hw/gpu.ts";
import { cmdId, cmdLength, COMMANDS, decode } from "../core/cmd/table.ts";
import { buildBatch, type MixCounts } from "../core/cmd/batch.ts";
import { runNative, startNative } from "../core/native/driver.ts";
import type { Dist, WorkloadOp, WorkloadSpec } from "../core/scenario.ts";
import { BCS, RCS, VCS, VECS } from "../core/hw/regs.ts";

const MiB = 1024 * 1024;
const loc = { file: "native_test", line: 1, col: 1 };
const c = (v: number): Dist => ({ kind: "const", value: v });
const mix = (
  o: Partial<Record<"draw" | "blit" | "media" | "compute" | "store" | "lri", number>>,
) => ({
  draw: c(o.draw ?? 0),
  blit: c(o.blit ?? 0),
  media: c(o.media ?? 0),
  compute: c(o.compute ?? 0),
  store: c(o.store ?? 0),
  lri: c(o.lri ?? 0),
});

function gpu(seed = 1): { sim: Sim; gpu: Gpu } {
  const sim = new Sim(seed);
  return {
    sim,
    gpu: new Gpu(sim, { aperture: 64 * MiB, ggtt: 256 * MiB, hostMemoryBytes: 256 * MiB }),
  };
}

const golden: WorkloadSpec = {
  name: "golden",
  loc,
  body: [{
    op: "repeat",
    count: 5,
    loc,
    body: [
      {
        op: "batch",
        engine: "rcs",
        mix: mix({ draw: 10, store: 3, lri: 2, media: 1, compute: 1 }),
        loc,
      },
      { op: "batch", engine: "bcs", mix: mix({ blit: 2, store: 1 }), loc },
      { op: "batch", engine: "vcs", mix: mix({ media: 2 }), loc },
      { op: "batch", engine: "vecs", mix: mix({ media: 1, store: 1 }), loc },
      { op: "wait", what: "completion", loc },
      { op: "flip", loc },
      { op: "wait", what: "vblank", loc },
    ],
  }],
};

Deno.test("native golden: exact counts, stores landed, blits copied, interrupts raised", () => {
  const { sim, gpu: g } = gpu();
  const run = startNative(sim, g, [golden]);
  sim.runUntil(200 * MS);
  const r = run.result();
  const client = run.driver.clients[0];
  assert.equal(run.runners[0].finished, true);
  assert.deepEqual(r.workloads, [{ name: "golden", batches: 20, flips: 5, finished: true }]);
  const by = g.counters().byCommand;
  assert.equal(by["3DPRIMITIVE"], 50);
  assert.equal(by["XY_SRC_COPY_BLT"], 10);
  assert.equal(by["MFD_AVC_BSD_OBJECT"], 10);
  assert.equal(by["VEB_DI_IECP"], 5);
  assert.equal(by["MEDIA_OBJECT_WALKER"], 5);
  assert.equal(by["GPGPU_WALKER"], 5);
  assert.equal(by["MI_STORE_DATA_IMM"], 25);
  assert.equal(by["MI_LOAD_REGISTER_IMM"], 10);
  assert.equal(by["MI_USER_INTERRUPT"], 20);
  assert.equal(by["MI_BATCH_BUFFER_START"], 20);
  assert.equal(by["MI_BATCH_BUFFER_END"], 20);
  assert.equal(r.faults, 0);
  // Store values: (seqno << 16 | i); the last batch on each engine is seqno 5.
  for (let i = 0; i < 3; i++) {
    assert.equal(client.readData(client.storeAddress(RCS, i)), (5 << 16) | i);
  }
  assert.equal(client.readData(client.storeAddress(BCS, 0)), 5 << 16);
  assert.equal(client.readData(client.storeAddress(VECS, 0)), 5 << 16);
  assert.equal(client.readData(client.storeAddress(VCS, 0)), 0);
  for (let e = 0; e < 4; e++) assert.equal(client.completedSeqno(e), 5);
  // The blit destination holds the source's bytes.
  const s = client.blitSurfaces();
  for (let off = 0; off < s.bytes; off += 4) {
    assert.equal(client.readData(s.dst + off), client.readData(s.src + off), `blit byte ${off}`);
  }
  assert.notEqual(client.readData(s.src + 4), 0);
  // Interrupts: one user interrupt per request, frames from flip-done.
  assert.deepEqual(Array.from(run.driver.userInterrupts), [5, 5, 5, 5]);
  assert.equal(r.frames, 5);
  assert.ok(r.interrupts >= 20);
  assert.ok(r.vblanks >= 5);
  for (const e of r.engines) assert.ok(e.utilization > 0 && e.utilization < 1, e.name);
  assert.equal(r.commands, Object.values(by).reduce((a, b) => a + b, 0));
});

/** Summed default cost (ns) of the commands in `dwords` on `engine`. */
function streamCost(dwords: Uint32Array, engine: number): number {
  let ns = 0;
  for (let i = 0; i < dwords.length;) {
    const id = decode(dwords[i], engine);
    ns += COMMANDS[id].cost;
    i += cmdLength(id, dwords[i]);
  }
  return ns;
}

Deno.test("native golden: a breadcrumb is visible when its command completes, flips after it", () => {
  const { sim, gpu: g } = gpu();
  const run = startNative(sim, g, [golden]);
  const client = run.driver.clients[0];
  // The first request on RCS: ARB_ON_OFF, BATCH_BUFFER_START, the batch, then the breadcrumb
  // PIPE_CONTROL; it runs from t = 0 after the context restore.
  const m: MixCounts = { draw: 10, store: 3, lri: 2, media: 1, compute: 1, blit: 0 };
  const opts = { storeAddr: () => 0, storeValue: () => 0, ggtt: false, blitSrc: 0, blitDst: 0 };
  const bb = new Uint32Array(4096);
  const n = buildBatch(m, RCS, { ...opts, blitPitch: 0, blitWidth: 0, blitHeight: 0 }, bb, 0);
  const ring = ["MI_ARB_ON_OFF", "MI_BATCH_BUFFER_START", "PIPE_CONTROL"];
  const seen = g.config.contextSwitchNs + streamCost(bb.subarray(0, n), RCS) +
    ring.reduce((a, name) => a + COMMANDS[cmdId(name)].cost, 0);
  sim.runUntil(seen - 1);
  assert.equal(client.completedSeqno(RCS), 0, "not before the breadcrumb completes");
  sim.runUntil(seen);
  assert.equal(client.completedSeqno(RCS), 1);
  // Every flip is written only once all four engines finished the frame's batches.
  let flips = 0;
  while (sim.step() && !run.runners[0].finished) {
    if (run.driver.flipsRequested > flips) {
      flips = run.driver.flipsRequested;
      for (let e = 0; e < 4; e++) assert.equal(client.completedSeqno(e), flips, `engine ${e}`);
    }
  }
  assert.equal(flips, 5);
});

Deno.test("native: a flip right after a batch waits for the batch's completion", () => {
  const { sim, gpu: g } = gpu();
  const w: WorkloadSpec = {
    name: "f",
    loc,
    body: [{ op: "batch", engine: "rcs", mix: mix({ draw: 20 }), loc }, { op: "flip", loc }],
  };
  const run = startNative(sim, g, [w]);
  const client = run.driver.clients[0];
  while (client.completedSeqno(RCS) === 0 && sim.step()) {
    assert.equal(run.driver.flipsRequested, 0, `flip written at ${sim.now} before completion`);
  }
  sim.runUntil(sim.now + 20 * MS);
  assert.equal(run.driver.flipsRequested, 1);
  assert.equal(run.result().frames, 1);
});

function randomWorkload(): WorkloadSpec {
  const body: WorkloadOp[] = [{
    op: "every",
    period: 16 * MS,
    loc,
    body: [
      {
        op: "choose",
        loc,
        options: [
          {
            weight: 3,
            body: [{
              op: "batch",
              engine: "rcs",
              mix: { ...mix({ store: 2 }), draw: { kind: "uniform", lo: 5, hi: 50 } },
              loc,
            }],
          },
          { weight: 1, body: [{ op: "batch", engine: "bcs", mix: mix({ blit: 1 }), loc }] },
        ],
      },
      { op: "think", duration: { kind: "exp", mean: 1 * MS }, loc },
      { op: "map", pages: { kind: "uniform", lo: 1, hi: 8 }, loc },
      { op: "pte_rewrite", count: c(16), loc },
      { op: "unmap", pages: c(2), loc },
      { op: "wait", what: "completion", loc },
      { op: "flip", loc },
    ],
  }];
  return { name: "rand", loc, body };
}

Deno.test("native: two runs with one seed are identical; another seed differs", () => {
  const once = (seed: number) => {
    const { sim, gpu: g } = gpu(seed);
    const r = runNative(sim, g, [randomWorkload(), { ...golden, name: "g2" }], 300 * MS);
    return JSON.stringify({ r, c: g.counters() });
  };
  const a = once(7), b = once(7), d = once(8);
  assert.equal(a, b);
  assert.notEqual(a, d);
});

Deno.test("native: GGTT-only mode and a full blocking queue still complete everything", () => {
  const { sim, gpu: g } = gpu();
  const w: WorkloadSpec = {
    name: "burst",
    loc,
    body: [
      {
        op: "repeat",
        count: 40,
        loc,
        body: [{ op: "batch", engine: "rcs", mix: mix({ draw: 200, store: 1 }), loc }],
      },
      { op: "wait", what: "completion", loc },
    ],
  };
  const run = startNative(sim, g, [w], { ppgtt: false, maxInflight: 4 });
  sim.runUntil(1000 * MS);
  const r = run.result();
  assert.equal(run.runners[0].finished, true);
  assert.equal(run.driver.clients[0].completedSeqno(RCS), 40);
  assert.equal(g.counters().byCommand["3DPRIMITIVE"], 8000);
  assert.ok(r.engines[0].utilization > 0.1);
  assert.equal(r.faults, 0);
});

Deno.test("native: ring garbage really hangs the render engine; the driver recovers with GDRST", () => {
  const { sim, gpu: g } = gpu();
  const w: WorkloadSpec = {
    name: "bad",
    loc,
    body: [
      { op: "batch", engine: "rcs", mix: mix({ draw: 5, store: 1 }), loc },
      { op: "wait", what: "completion", loc },
      { op: "misbehave", kind: "ring_garbage", count: 1, loc },
      { op: "think", duration: c(1 * MS), loc },
      { op: "misbehave", kind: "bad_address", count: 3, loc },
      { op: "batch", engine: "rcs", mix: mix({ draw: 5, store: 1 }), loc },
      { op: "wait", what: "completion", loc },
    ],
  };
  const run = startNative(sim, g, [w]);
  sim.runUntil(100 * MS);
  const r = run.result();
  assert.equal(run.runners[0].finished, true);
  assert.equal(r.hangs, 1);
  assert.equal(r.faults, 1);
  assert.equal(g.faults[0].kind, "unknown_command");
  assert.equal(g.counters().engineResets, 1);
  assert.equal(run.driver.misbehavioursInjected, 1);
  assert.equal(run.driver.misbehavioursIgnored, 3);
  const client = run.driver.clients[0];
  assert.equal(client.completedSeqno(RCS), 2);
  assert.equal(client.readData(client.storeAddress(RCS, 0)), 2 << 16);
  assert.equal(g.counters().byCommand["3DPRIMITIVE"], 10);
});

Deno.test("native: gpuConfigFromHost carries the scenario's host section", () => {
  const cfg = gpuConfigFromHost({
    gpu: "skylake",
    aperture: 256 * MiB,
    ggtt: 2048 * MiB,
    fences: 16,
    engines: ["rcs", "bcs"],
    hostAperture: 64 * MiB,
    hostHidden: 128 * MiB,
    hostFences: 4,
    refreshHz: 30,
    outOfSync: false,
    invariants: true,
    scanPpgttBatches: false,
    commandCosts: { "3DPRIMITIVE": 5000 },
  });
  const g = new Gpu(new Sim(1), { ...cfg, hostMemoryBytes: 64 * MiB });
  assert.equal(g.apertureSize, 256 * MiB);
  assert.equal(g.hiddenSize, 1792 * MiB);
  assert.equal(g.fenceCount, 16);
  assert.equal(g.display.period, 33_333_333);
  assert.equal(g.execlists.present, 0b11);
  assert.equal(g.commandCosts[cmdId("3DPRIMITIVE")], 5000);
});
