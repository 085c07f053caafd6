// Effect timing of the command streamer: every command kind with a visible effect performs
// it at the simulated instant the command completes under the cost model (context restore +
// the costs of every command up to and including it), never at submission; the element's
// context save, CSB entry and context-switch interrupt come after the last command.
import { ENGINES } from "../core/hw/engines.ts";
import assert from "node:assert/strict";
import * as enc from "../core/cmd/encode.ts";
import { cmdId, COMMANDS } from "../core/cmd/table.ts";
import type { Gpu } from "../core/hw/gpu.ts";
import {
  BCS,
  csGpr,
  DSPSURF_A,
  GEN8_CTX_STATUS_ACTIVE_IDLE,
  GEN8_CTX_STATUS_COMPLETE,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_CS_MASTER_ERROR_INTERRUPT,
  GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  IRQ_GROUP_BASE,
  IRQ_IIR,
  IRQ_IMR,
  RCS,
  RING_CONTEXT_STATUS_BUF,
  RING_CONTEXT_STATUS_PTR,
  RING_HWS_PGA,
} from "../core/hw/regs.ts";
import { CTX_RING_HEAD, ctxValueOffset } from "../core/hw/context.ts";
import {
  appendRing,
  makeContext,
  mapGgtt,
  readGgtt,
  smallGpu,
  submit,
  writeGgtt,
} from "./hw_util.ts";

const LRCA = 0x10000, RING = 0x20000, DATA = 0x40000, SRC = 0x50000, DST = 0x60000;
const HWS = 0x70000, FREE_GMA = 0x80000;

type Emit = (b: Uint32Array, o: number) => number;

/** Cost (ns) of a command by name. */
function cost(name: string): number {
  return COMMANDS[cmdId(name)].cost;
}

/** A GPU with a context on `engine` whose ring holds `cmds`; interrupts unmasked. */
function setup(
  engine: number,
  cmds: Emit[],
  before?: (gpu: Gpu) => void,
): { sim: ReturnType<typeof smallGpu>["sim"]; gpu: Gpu } {
  const { sim, gpu } = smallGpu();
  gpu.mmioWrite(IRQ_GROUP_BASE[0] + IRQ_IMR, 4, 0);
  const ctx = makeContext(gpu, LRCA, RING);
  mapGgtt(gpu, DATA, 2);
  mapGgtt(gpu, SRC, 1);
  mapGgtt(gpu, DST, 1);
  mapGgtt(gpu, HWS, 1);
  for (let i = 0; i < 1024; i++) writeGgtt(gpu, SRC + 4 * i, [0x5000 + i]);
  const out = new Uint32Array(4096);
  let o = 0;
  for (const c of cmds) o = c(out, o);
  if (o & 1) o = enc.emitNoop(out, o);
  appendRing(gpu, ctx, out.subarray(0, o));
  gpu.mmioWrite(ENGINES[engine].mmioBase + RING_HWS_PGA, 4, HWS);
  before?.(gpu);
  submit(gpu, engine, [ctx.descLo, 0x42]);
  return { sim, gpu };
}

/** The instant the `n`-th command of `names` completes (the element starts at 0). */
function instant(gpu: Gpu, names: string[]): number {
  return gpu.config.contextSwitchNs + names.reduce((a, n) => a + cost(n), 0);
}

const iir = (gpu: Gpu) => gpu.mmioRead32(IRQ_GROUP_BASE[0] + IRQ_IIR);
const PRIM: Emit = (b, o) => enc.emit3dPrimitive(b, o, 3, 1);

interface Case {
  name: string;
  engine: number;
  cmds: Emit[];
  /** Names of the commands up to and including the one whose effect is probed. */
  upTo: string[];
  /** Extra time of the command itself (blit transfer). */
  extra?: number;
  probe: (gpu: Gpu) => number;
  before: number;
  after: number;
  prepare?: (gpu: Gpu) => void;
}

const CASES: Case[] = [
  {
    name: "MI_STORE_DATA_IMM",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitStoreDataImm(b, o, DATA, 0xabcd, true)],
    upTo: ["3DPRIMITIVE", "MI_STORE_DATA_IMM"],
    probe: (g) => readGgtt(g, DATA),
    before: 0,
    after: 0xabcd,
  },
  {
    name: "PIPE_CONTROL post-sync write",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitPipeControl(b, o, 0, DATA + 8, 0x77, true, false)],
    upTo: ["3DPRIMITIVE", "PIPE_CONTROL"],
    probe: (g) => readGgtt(g, DATA + 8),
    before: 0,
    after: 0x77,
  },
  {
    name: "PIPE_CONTROL register write",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitPipeControlRegWrite(b, o, csGpr(RCS, 2), 0x99)],
    upTo: ["3DPRIMITIVE", "PIPE_CONTROL"],
    probe: (g) => g.mmioRead32(csGpr(RCS, 2)),
    before: 0,
    after: 0x99,
  },
  {
    name: "PIPE_CONTROL notify interrupt",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitPipeControl(b, o, 0, -1, 0, false, true)],
    upTo: ["3DPRIMITIVE", "PIPE_CONTROL"],
    probe: (g) => iir(g) & GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
    before: 0,
    after: GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
  },
  {
    name: "MI_FLUSH_DW post-sync write",
    engine: BCS,
    cmds: [(b, o) => enc.emitFlushDw(b, o, DATA + 16, 9, true, false)],
    upTo: ["MI_FLUSH_DW"],
    probe: (g) => readGgtt(g, DATA + 16),
    before: 0,
    after: 9,
  },
  {
    name: "MI_FLUSH_DW notify interrupt",
    engine: BCS,
    cmds: [(b, o) => enc.emitFlushDw(b, o, -1, 0, false, true)],
    upTo: ["MI_FLUSH_DW"],
    probe: (g) => (iir(g) >>> 16) & GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
    before: 0,
    after: GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
  },
  {
    name: "MI_USER_INTERRUPT",
    engine: RCS,
    cmds: [PRIM, enc.emitUserInterrupt],
    upTo: ["3DPRIMITIVE", "MI_USER_INTERRUPT"],
    probe: (g) => iir(g) & GT_RENDER_USER_INTERRUPT,
    before: 0,
    after: GT_RENDER_USER_INTERRUPT,
  },
  {
    name: "MI_LOAD_REGISTER_IMM",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitLri(b, o, csGpr(RCS, 1), 0x5555)],
    upTo: ["3DPRIMITIVE", "MI_LOAD_REGISTER_IMM"],
    probe: (g) => g.mmioRead32(csGpr(RCS, 1)),
    before: 0,
    after: 0x5555,
  },
  {
    name: "MI_LOAD_REGISTER_MEM",
    engine: RCS,
    cmds: [PRIM, (b, o) => {
      b[o] = ((COMMANDS[cmdId("MI_LOAD_REGISTER_MEM")].opcode << 23) | (1 << 22) | 2) >>> 0;
      b[o + 1] = csGpr(RCS, 3);
      b[o + 2] = DATA + 32;
      b[o + 3] = 0;
      return o + 4;
    }],
    upTo: ["3DPRIMITIVE", "MI_LOAD_REGISTER_MEM"],
    prepare: (g) => writeGgtt(g, DATA + 32, [0x1234]),
    probe: (g) => g.mmioRead32(csGpr(RCS, 3)),
    before: 0,
    after: 0x1234,
  },
  {
    name: "MI_STORE_REGISTER_MEM",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitStoreRegisterMem(b, o, csGpr(RCS, 4), DATA + 24, true)],
    upTo: ["3DPRIMITIVE", "MI_STORE_REGISTER_MEM"],
    prepare: (g) => g.mmioWrite(csGpr(RCS, 4), 4, 0xfeed),
    probe: (g) => readGgtt(g, DATA + 24),
    before: 0,
    after: 0xfeed,
  },
  {
    name: "MI_STORE_DATA_INDEX (status page)",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitStoreDataIndex(b, o, 0x30, 7)],
    upTo: ["3DPRIMITIVE", "MI_STORE_DATA_INDEX"],
    probe: (g) => readGgtt(g, HWS + 0x30 * 4),
    before: 0,
    after: 7,
  },
  {
    name: "MI_REPORT_PERF_COUNT",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitReportPerfCount(b, o, DATA + 0x40, 0x33)],
    upTo: ["3DPRIMITIVE", "MI_REPORT_PERF_COUNT"],
    probe: (g) => readGgtt(g, DATA + 0x40),
    before: 0,
    after: 0x33,
  },
  {
    name: "MI_UPDATE_GTT",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitUpdateGtt(b, o, (FREE_GMA / 4096) * 8, 0x123000 + 1, 1)],
    upTo: ["3DPRIMITIVE", "MI_UPDATE_GTT"],
    probe: (g) => g.ggttLo[FREE_GMA / 4096],
    before: 0,
    after: 0x123001,
  },
  {
    name: "MI_DISPLAY_FLIP",
    engine: RCS,
    cmds: [PRIM, (b, o) => enc.emitDisplayFlip(b, o, 0, 4096, DST)],
    upTo: ["3DPRIMITIVE", "MI_DISPLAY_FLIP"],
    probe: (g) => g.mmioRead32(DSPSURF_A),
    before: 0,
    after: DST,
  },
  {
    name: "XY_SRC_COPY_BLT (copy time included)",
    engine: BCS,
    cmds: [(b, o) => enc.emitXySrcCopyBlt(b, o, DST, 256, 0, 0, 64, 4, SRC, 256, 0, 0)],
    upTo: ["XY_SRC_COPY_BLT"],
    extra: (64 * 4 * 4) / 8,
    probe: (g) => readGgtt(g, DST + 256 * 3 + 4 * 63),
    before: 0,
    after: 0x5000 + 64 * 3 + 63,
  },
  {
    name: "XY_COLOR_BLT (fill time included)",
    engine: BCS,
    cmds: [(b, o) => enc.emitXyColorBlt(b, o, DST, 256, 0, 0, 16, 2, 0xfeedf00d)],
    upTo: ["XY_COLOR_BLT"],
    extra: (16 * 2 * 4) / 8,
    probe: (g) => readGgtt(g, DST + 256 + 4 * 15),
    before: 0,
    after: 0xfeedf00d,
  },
];

for (const c of CASES) {
  Deno.test(`timing: ${c.name} is visible exactly when it completes`, () => {
    const { sim, gpu } = setup(c.engine, c.cmds);
    c.prepare?.(gpu);
    const t = instant(gpu, c.upTo) + (c.extra ?? 0);
    assert.equal(c.probe(gpu), c.before, "at submission");
    sim.runUntil(t - 1);
    assert.equal(c.probe(gpu), c.before, `1 ns before ${t}`);
    sim.runUntil(t);
    assert.equal(c.probe(gpu), c.after, `at ${t}`);
  });
}

Deno.test("timing: context save, CSB entry and context-switch interrupt come after the last command", () => {
  const cmds: Emit[] = [
    PRIM,
    (b, o) => enc.emitStoreDataImm(b, o, DATA, 1, true),
    enc.emitUserInterrupt,
    enc.emitNoop,
  ];
  const { sim, gpu } = setup(RCS, cmds);
  const tUser = instant(gpu, ["3DPRIMITIVE", "MI_STORE_DATA_IMM", "MI_USER_INTERRUPT"]);
  const tEnd = tUser + 2 * cost("MI_NOOP"); // the NOOP and the padding to a qword
  const head = () => readGgtt(gpu, LRCA + 4096 + ctxValueOffset(CTX_RING_HEAD));
  const csbWp = () => gpu.mmioRead32(ENGINES[RCS].mmioBase + RING_CONTEXT_STATUS_PTR) & 0xf;
  sim.runUntil(tUser);
  assert.equal(iir(gpu) & GT_RENDER_USER_INTERRUPT, GT_RENDER_USER_INTERRUPT);
  assert.equal(iir(gpu) & GT_CONTEXT_SWITCH_INTERRUPT, GT_CONTEXT_SWITCH_INTERRUPT); // idle->active
  gpu.mmioWrite(IRQ_GROUP_BASE[0] + IRQ_IIR, 4, GT_CONTEXT_SWITCH_INTERRUPT);
  sim.runUntil(tEnd - 1);
  assert.equal(head(), 0, "context image head before the save");
  assert.equal(csbWp(), 0, "only the idle-to-active entry so far");
  assert.ok(gpu.engineBusy(RCS));
  assert.equal(iir(gpu) & GT_CONTEXT_SWITCH_INTERRUPT, 0);
  sim.runUntil(tEnd);
  assert.equal(head(), (7 + 4 + 1 + 2) * 4);
  assert.equal(csbWp(), 1);
  const b = ENGINES[RCS].mmioBase + RING_CONTEXT_STATUS_BUF + 8;
  assert.equal(gpu.mmioRead32(b), GEN8_CTX_STATUS_ACTIVE_IDLE | GEN8_CTX_STATUS_COMPLETE);
  assert.equal(iir(gpu) & GT_CONTEXT_SWITCH_INTERRUPT, GT_CONTEXT_SWITCH_INTERRUPT);
  assert.equal(gpu.engineBusy(RCS), false);
  assert.equal(gpu.counters().busyNs[RCS], tEnd);
});

Deno.test("timing: a read decides control flow at its own instant (conditional batch end)", () => {
  // The ring: a 20 us draw, then "end if DATA <= 5", then a store. The CPU changes DATA
  // while the draw runs: the command sees the new value.
  const run = (cpuValue: number | null) => {
    const bb = new Uint32Array(64);
    let o = enc.emit3dPrimitive(bb, 0, 3, 1);
    o = enc.emitConditionalBatchBufferEnd(bb, o, DATA, 5);
    o = enc.emitStoreDataImm(bb, o, DATA + 4, 0x99, true);
    o = enc.emitBatchBufferEnd(bb, o);
    const { sim, gpu } = setup(RCS, [
      (b, o) => enc.emitBatchBufferStart(b, o, DATA + 0x800, false),
      enc.emitUserInterrupt,
    ], (g) => {
      writeGgtt(g, DATA + 0x800, bb.subarray(0, o));
      writeGgtt(g, DATA, [100]);
    });
    if (cpuValue !== null) {
      sim.runUntil(10_000);
      writeGgtt(gpu, DATA, [cpuValue]);
    }
    sim.run();
    return readGgtt(gpu, DATA + 4);
  };
  assert.equal(run(null), 0x99, "100 > 5: the batch goes on and stores");
  assert.equal(run(3), 0, "changed to 3 during the draw: the batch ends before the store");
});

Deno.test("timing: a fault is found at its command's instant and hangs the context then", () => {
  const { sim, gpu } = setup(RCS, [
    PRIM,
    (b, o) => enc.emitStoreDataImm(b, o, 0x3f0000, 1, true), // not mapped
  ]);
  const t = instant(gpu, ["3DPRIMITIVE", "MI_STORE_DATA_IMM"]);
  sim.runUntil(t - 1);
  assert.equal(gpu.faults.length, 0);
  assert.ok(gpu.engineBusy(RCS));
  sim.run();
  assert.equal(gpu.faults.length, 1);
  assert.equal(gpu.faults[0].kind, "bad_address");
  assert.equal(gpu.faults[0].time, t);
  assert.ok(gpu.engineHung(RCS));
  assert.equal(iir(gpu) & GT_CS_MASTER_ERROR_INTERRUPT, GT_CS_MASTER_ERROR_INTERRUPT);
});

Deno.test("timing: commands without effects only take time (one event for a long draw-only ring)", () => {
  const draws: Emit[] = Array.from({ length: 100 }, () => PRIM);
  const { sim, gpu } = setup(RCS, draws);
  const before = sim.dispatched;
  sim.run();
  assert.equal(sim.now, instant(gpu, draws.map(() => "3DPRIMITIVE")));
  assert.ok(sim.dispatched - before <= 2, `${sim.dispatched - before} events`);
});
