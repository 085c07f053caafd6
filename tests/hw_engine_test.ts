import assert from "node:assert/strict";
import { ENGINES } from "../core/hw/engines.ts";
import * as enc from "../core/cmd/encode.ts";
import { COMMANDS, ID } from "../core/cmd/table.ts";
import { CommandFault } from "../core/hw/fault.ts";
import {
  BCS,
  csGpr,
  GDRST,
  GEN6_GRDOM_RENDER,
  GEN8_CTX_STATUS_ACTIVE_IDLE,
  GEN8_CTX_STATUS_COMPLETE,
  GEN8_CTX_STATUS_ELEMENT_SWITCH,
  GEN8_CTX_STATUS_IDLE_ACTIVE,
  GT_CONTEXT_SWITCH_INTERRUPT,
  GT_CS_MASTER_ERROR_INTERRUPT,
  GT_RENDER_PIPECTL_NOTIFY_INTERRUPT,
  GT_RENDER_USER_INTERRUPT,
  GTT_OFFSET,
  IRQ_GROUP_BASE,
  IRQ_IIR,
  IRQ_IMR,
  RCS,
  RING_CONTEXT_STATUS_BUF,
  RING_CONTEXT_STATUS_PTR,
  RING_EXECLIST_STATUS_HI,
} from "../core/hw/regs.ts";
import { CTX_RING_HEAD, ctxValueOffset } from "../core/hw/context.ts";
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

const LRCA = 0x10000, RING = 0x20000, BB = 0x30000, BB2 = 0x38000, DATA = 0x40000;

function stream(build: (out: Uint32Array, o: number) => number): Uint32Array {
  const out = new Uint32Array(4096);
  return out.slice(0, build(out, 0));
}

function csb(gpu: ReturnType<typeof smallGpu>["gpu"], e: number, i: number): [number, number] {
  const b = ENGINES[e].mmioBase + RING_CONTEXT_STATUS_BUF + 8 * i;
  return [gpu.mmioRead32(b), gpu.mmioRead32(b + 4)];
}

Deno.test("engine: ring + GGTT batch executes stores, LRI/SRM, PIPE_CONTROL, blits; CSB and IRQs", () => {
  const { sim, gpu } = smallGpu();
  gpu.mmioWrite(IRQ_GROUP_BASE[0] + IRQ_IMR, 4, 0);
  const ctx = makeContext(gpu, LRCA, RING);
  mapGgtt(gpu, BB, 2);
  mapGgtt(gpu, DATA, 4);
  // Source pattern for the blit: 16x4 pixels at DATA+0x1000, pitch 64.
  for (let i = 0; i < 64; i++) writeGgtt(gpu, DATA + 0x1000 + 4 * i, [0x1000 + i]);
  const bb = stream((b, o) => {
    o = enc.emitStoreDataImm(b, o, DATA, 0xabcd, true);
    o = enc.emitLri(b, o, csGpr(RCS, 1), 0x5555);
    o = enc.emitStoreRegisterMem(b, o, csGpr(RCS, 1), DATA + 8, true);
    o = enc.emitPipeControl(b, o, 0, DATA + 16, 0x77, true, true);
    o = enc.emitPipeControlRegWrite(b, o, csGpr(RCS, 2), 0x99);
    o = enc.emitStoreRegisterMem(b, o, csGpr(RCS, 2), DATA + 24, true);
    o = enc.emit3dPrimitive(b, o, 3, 1);
    return enc.emitBatchBufferEnd(b, o);
  });
  writeGgtt(gpu, BB, bb);
  appendRing(
    gpu,
    ctx,
    stream((b, o) => {
      o = enc.emitBatchBufferStart(b, o, BB, false);
      o = enc.emitUserInterrupt(b, o);
      return enc.emitNoop(b, o);
    }),
  );
  submit(gpu, RCS, [ctx.descLo, 0x11]);
  assert.ok(gpu.engineBusy(RCS));
  assert.equal(gpu.mmioRead32(ENGINES[RCS].mmioBase + RING_EXECLIST_STATUS_HI), 0x11);
  // Nothing is visible at submission: effects come at their commands' completion instants.
  assert.equal(readGgtt(gpu, DATA), 0);
  assert.equal(csb(gpu, RCS, 0)[0], GEN8_CTX_STATUS_IDLE_ACTIVE);
  const names = [
    "MI_BATCH_BUFFER_START",
    "MI_STORE_DATA_IMM",
    "MI_LOAD_REGISTER_IMM",
    "MI_STORE_REGISTER_MEM",
    "PIPE_CONTROL",
    "PIPE_CONTROL",
    "MI_STORE_REGISTER_MEM",
    "3DPRIMITIVE",
    "MI_BATCH_BUFFER_END",
    "MI_USER_INTERRUPT",
    "MI_NOOP",
  ];
  const expected = gpu.config.contextSwitchNs +
    names.reduce((a, n) => a + COMMANDS[ID[n as keyof typeof ID]]?.cost, 0);
  sim.run();
  assert.equal(sim.now, expected);
  assert.equal(readGgtt(gpu, DATA), 0xabcd);
  assert.equal(readGgtt(gpu, DATA + 8), 0x5555);
  assert.equal(readGgtt(gpu, DATA + 16), 0x77);
  assert.equal(readGgtt(gpu, DATA + 24), 0x99);
  assert.equal(gpu.engineBusy(RCS), false);
  assert.deepEqual(csb(gpu, RCS, 1), [
    GEN8_CTX_STATUS_ACTIVE_IDLE | GEN8_CTX_STATUS_COMPLETE,
    0x11,
  ]);
  assert.equal(gpu.mmioRead32(ENGINES[RCS].mmioBase + RING_CONTEXT_STATUS_PTR) & 0xf, 1);
  const iir = gpu.mmioRead32(IRQ_GROUP_BASE[0] + IRQ_IIR);
  assert.equal(
    iir,
    GT_RENDER_USER_INTERRUPT | GT_RENDER_PIPECTL_NOTIFY_INTERRUPT | GT_CONTEXT_SWITCH_INTERRUPT,
  );
  assert.equal(readGgtt(gpu, LRCA + 4096 + ctxValueOffset(CTX_RING_HEAD)), ctx.tail);
  const c = gpu.counters();
  assert.equal(c.byCommand["3DPRIMITIVE"], 1);
  assert.equal(c.commands[RCS].draw, 1);
  assert.equal(c.busyNs[RCS], expected);
  assert.equal(c.batches[RCS], 1);

  // Blits on BCS really copy and fill bytes.
  const bctx = makeContext(gpu, 0x50000, 0x60000);
  appendRing(
    gpu,
    bctx,
    stream((b, o) => {
      o = enc.emitXySrcCopyBlt(b, o, DATA + 0x2000, 64, 0, 0, 16, 4, DATA + 0x1000, 64, 0, 0);
      o = enc.emitXyColorBlt(b, o, DATA + 0x3000, 64, 2, 1, 6, 2, 0xfeedf00d);
      return enc.emitFlushDw(b, o, DATA + 32, 9, true, true);
    }),
  );
  submit(gpu, BCS, [bctx.descLo, 0x22]);
  assert.equal(readGgtt(gpu, DATA + 0x2000), 0);
  sim.run();
  for (let i = 0; i < 64; i++) assert.equal(readGgtt(gpu, DATA + 0x2000 + 4 * i), 0x1000 + i);
  assert.equal(readGgtt(gpu, DATA + 0x3000 + 64 + 8), 0xfeedf00d);
  assert.equal(readGgtt(gpu, DATA + 0x3000 + 64 + 4), 0);
  assert.equal(readGgtt(gpu, DATA + 0x3000 + 64 + 24), 0);
  assert.equal(readGgtt(gpu, DATA + 32), 9);
  assert.equal(gpu.counters().blitBytes, 256 + 16);
});

Deno.test("engine: PPGTT batches (4-level and 3-level) fetch and store through the context's tables", () => {
  for (const levels of [4, 3] as const) {
    const { sim, gpu } = smallGpu();
    const pt = new TestPpgtt(gpu, levels);
    const ctx = makeContext(gpu, LRCA, RING, 1, levels === 4 ? 3 : 1, pt.roots);
    const va = levels === 4 ? 0x12_3456_7000 : 0xc000_0000;
    const bbFrame = gpu.memory.allocFrame(0), dataFrame = gpu.memory.allocFrame(0);
    pt.map(va, bbFrame);
    pt.map(va + 0x5000, dataFrame);
    const bb = stream((b, o) => {
      o = enc.emitStoreDataImm(b, o, va + 0x5000 + 12, 0x4242, false);
      return enc.emitBatchBufferEnd(b, o);
    });
    bb.forEach((v, i) => gpu.memory.write32(bbFrame * 4096 + 4 * i, v));
    appendRing(gpu, ctx, stream((b, o) => enc.emitBatchBufferStart(b, o, va, true)));
    submit(gpu, RCS, [ctx.descLo, 1]);
    sim.run();
    assert.deepEqual(gpu.faults, [], `levels ${levels}`);
    assert.equal(gpu.memory.read32(dataFrame * 4096 + 12), 0x4242, `levels ${levels}`);
  }
});

Deno.test("engine: second-level batches return to the first level; nesting rules are enforced", () => {
  const { sim, gpu } = smallGpu();
  const ctx = makeContext(gpu, LRCA, RING);
  mapGgtt(gpu, BB, 1);
  mapGgtt(gpu, BB2, 1);
  mapGgtt(gpu, DATA, 1);
  writeGgtt(
    gpu,
    BB2,
    stream((b, o) => {
      o = enc.emitStoreDataImm(b, o, DATA, 2, true);
      return enc.emitBatchBufferEnd(b, o);
    }),
  );
  writeGgtt(
    gpu,
    BB,
    stream((b, o) => {
      o = enc.emitBatchBufferStart(b, o, BB2, false, true);
      o = enc.emitStoreDataImm(b, o, DATA + 4, 1, true);
      return enc.emitBatchBufferEnd(b, o);
    }),
  );
  appendRing(
    gpu,
    ctx,
    stream((b, o) => {
      o = enc.emitBatchBufferStart(b, o, BB, false);
      o = enc.emitStoreDataImm(b, o, DATA + 8, 3, true);
      return o;
    }),
  );
  submit(gpu, RCS, [ctx.descLo, 1]);
  sim.run();
  assert.deepEqual([readGgtt(gpu, DATA), readGgtt(gpu, DATA + 4), readGgtt(gpu, DATA + 8)], [
    2,
    1,
    3,
  ]);
  assert.equal(gpu.counters().batches[RCS], 2);
  // A second-level start from the ring is a fault.
  appendRing(gpu, ctx, stream((b, o) => enc.emitBatchBufferStart(b, o, BB2, false, true)));
  submit(gpu, RCS, [ctx.descLo, 1]);
  sim.run();
  assert.equal(gpu.faults.length, 1);
  assert.equal(gpu.faults[0].kind, "bb_nesting");
});

Deno.test("engine: two elements give element-switch events; CSB wraps modulo 6", () => {
  const { sim, gpu } = smallGpu();
  const a = makeContext(gpu, LRCA, RING), b = makeContext(gpu, 0x50000, 0x60000);
  for (let round = 0; round < 4; round++) {
    appendRing(gpu, a, [0, 0]);
    appendRing(gpu, b, [0, 0]);
    submit(gpu, RCS, [a.descLo, 0xa], [b.descLo, 0xb]);
    sim.run();
  }
  // 3 events per submission: 12 events, the write pointer went 0..5,0..5 -> 5.
  assert.equal(gpu.mmioRead32(ENGINES[RCS].mmioBase + RING_CONTEXT_STATUS_PTR) & 0xf, 5);
  assert.deepEqual(csb(gpu, RCS, 3), [GEN8_CTX_STATUS_IDLE_ACTIVE, 0xa]);
  assert.deepEqual(csb(gpu, RCS, 4), [
    GEN8_CTX_STATUS_ELEMENT_SWITCH | GEN8_CTX_STATUS_COMPLETE,
    0xa,
  ]);
  assert.deepEqual(csb(gpu, RCS, 5), [GEN8_CTX_STATUS_ACTIVE_IDLE | GEN8_CTX_STATUS_COMPLETE, 0xb]);
  assert.equal(gpu.counters().elements[RCS], 8);
});

Deno.test("engine: a submission while busy is held and run after the current one", () => {
  const { sim, gpu } = smallGpu();
  const ctx = makeContext(gpu, LRCA, RING);
  mapGgtt(gpu, DATA, 1);
  appendRing(gpu, ctx, stream((b, o) => enc.emit3dPrimitive(b, o, 3, 1)));
  submit(gpu, RCS, [ctx.descLo, 1]);
  appendRing(gpu, ctx, stream((b, o) => enc.emitStoreDataImm(b, o, DATA, 5, true)));
  submit(gpu, RCS, [ctx.descLo, 1]);
  assert.equal(readGgtt(gpu, DATA), 0); // not yet: held
  sim.run();
  assert.equal(readGgtt(gpu, DATA), 5);
  assert.equal(gpu.counters().elements[RCS], 2);
});

Deno.test("engine: an undecodable command hangs the context until GDRST; faults are typed", () => {
  const { sim, gpu } = smallGpu();
  gpu.mmioWrite(IRQ_GROUP_BASE[0] + IRQ_IMR, 4, 0);
  const ctx = makeContext(gpu, LRCA, RING);
  appendRing(gpu, ctx, [0, 0xffffffff, 0, 0]);
  submit(gpu, RCS, [ctx.descLo, 7]);
  sim.run();
  assert.equal(gpu.faults.length, 1);
  const f = gpu.faults[0];
  assert.ok(f instanceof CommandFault);
  assert.equal(f.kind, "unknown_command");
  assert.equal(f.engine, RCS);
  assert.equal(f.contextId, 7);
  assert.equal(f.dw0, 0xffffffff);
  assert.equal(f.gma, RING + 4);
  assert.ok(gpu.engineHung(RCS));
  assert.ok(gpu.mmioRead32(IRQ_GROUP_BASE[0] + IRQ_IIR) & GT_CS_MASTER_ERROR_INTERRUPT);
  assert.deepEqual(csb(gpu, RCS, 1), [GEN8_CTX_STATUS_ACTIVE_IDLE, 7]);
  submit(gpu, RCS, [ctx.descLo, 7]);
  assert.equal(gpu.execlists.ignored[RCS], 1);
  gpu.mmioWrite(GDRST, 4, GEN6_GRDOM_RENDER);
  assert.equal(gpu.engineHung(RCS), false);
  assert.equal(gpu.mmioRead32(ENGINES[RCS].mmioBase + RING_CONTEXT_STATUS_PTR), 0x707);
});

Deno.test("engine: isolation, scratch, bad address and privilege faults", () => {
  const { sim, gpu } = smallGpu();
  const VM = 3;
  const hostData = 0x70000, vmData = 0x78000, scratch = 0x7c000;
  mapGgtt(gpu, hostData, 1, 0);
  mapGgtt(gpu, vmData, 1, VM);
  gpu.ggttWrite(scratch / 4096, gpu.memory.scratchMfn * 4096 + 3);
  const ctx = makeContext(gpu, LRCA, RING, 1, 3, [0, 0, 0, 0], VM);
  assert.equal(gpu.contextOwner(LRCA), VM);
  const run = (cmds: Uint32Array) => {
    appendRing(gpu, ctx, cmds);
    submit(gpu, RCS, [ctx.descLo, 9]);
    sim.run();
  };
  run(stream((b, o) => {
    o = enc.emitStoreDataImm(b, o, vmData, 1, true);
    return enc.emitStoreDataImm(b, o, scratch, 2, true);
  }));
  assert.equal(readGgtt(gpu, vmData), 1);
  assert.equal(gpu.counters().scratchWrites, 1);
  assert.equal(gpu.memory.read32(gpu.memory.scratchMfn * 4096), 0);
  run(stream((b, o) => enc.emitStoreDataImm(b, o, hostData, 0xbad, true)));
  assert.equal(gpu.faults.at(-1)?.kind, "isolation");
  assert.equal(gpu.faults.at(-1)?.owner, VM);
  assert.equal(readGgtt(gpu, hostData), 0);
  const recover = () => {
    gpu.resetEngine(RCS);
    writeGgtt(gpu, LRCA + 4096 + ctxValueOffset(CTX_RING_HEAD), [ctx.tail]); // skip the bad request
  };
  recover();
  run(stream((b, o) => enc.emitStoreDataImm(b, o, 0x3f0000, 1, true)));
  assert.equal(gpu.faults.at(-1)?.kind, "bad_address");
  recover();
  // MI_UPDATE_GTT from the (privileged) ring writes the GGTT; tag the host ctx.
  gpu.setContextOwner(LRCA, 0);
  run(stream((b, o) => enc.emitUpdateGtt(b, o, 0x7e * 8, gpu.memory.scratchMfn * 4096 + 3, 1)));
  assert.equal(gpu.ggttRead(0x7e), gpu.memory.scratchMfn * 4096 + 3);
  assert.equal(gpu.faults.length, 2);
});

Deno.test("engine: MI_UPDATE_GTT in a non-privileged (PPGTT) batch is a privilege fault", () => {
  const { sim, gpu } = smallGpu();
  const pt = new TestPpgtt(gpu, 4);
  const ctx = makeContext(gpu, LRCA, RING, 1, 3, pt.roots);
  const bbFrame = gpu.memory.allocFrame(0);
  pt.map(0x100000, bbFrame);
  const bb = stream((b, o) => enc.emitUpdateGtt(b, o, 0x300 * 8, 3, 1));
  bb.forEach((v, i) => gpu.memory.write32(bbFrame * 4096 + 4 * i, v));
  appendRing(gpu, ctx, stream((b, o) => enc.emitBatchBufferStart(b, o, 0x100000, true)));
  submit(gpu, RCS, [ctx.descLo, 1]);
  sim.run();
  assert.equal(gpu.faults[0]?.kind, "privilege");
  assert.equal(gpu.ggttRead(0x300), 0);
  assert.ok(gpu.engineHung(RCS));
});

Deno.test("engine: a command across a page boundary of a batch is read from both frames", () => {
  const { sim, gpu } = smallGpu();
  const ctx = makeContext(gpu, LRCA, RING);
  const [, second] = mapGgtt(gpu, BB, 2);
  gpu.memory.allocFrame(0); // the batch's two frames are not adjacent once remapped
  const far = gpu.memory.allocFrame(0);
  gpu.mmioWrite(GTT_OFFSET + (BB / 4096 + 1) * 8, 8, far * 4096 + 3);
  mapGgtt(gpu, DATA, 1);
  // no-ops up to 2 dwords before the page end, then a 4-dword store that straddles it
  const bb = stream((b, o) => {
    while (o < 1022) o = enc.emitNoop(b, o);
    o = enc.emitStoreDataImm(b, o, DATA + 4, 0x5eed, true);
    return enc.emitBatchBufferEnd(b, o);
  });
  writeGgtt(gpu, BB, bb);
  appendRing(
    gpu,
    ctx,
    stream((b, o) => enc.emitNoop(b, enc.emitBatchBufferStart(b, o, BB, false))),
  );
  submit(gpu, RCS, [ctx.descLo, 0x11]);
  sim.run();
  assert.deepEqual(gpu.faults, []);
  assert.equal(readGgtt(gpu, DATA + 4), 0x5eed);
  assert.equal(gpu.memory.read32(second * 4096), 0, "the old second frame was not read");
});
