import assert from "node:assert/strict";
import type { EventSink } from "../core/sim/sim.ts";
import {
  DSPSURF_A,
  DSPSURFLIVE_A,
  GEN8_DE_PIPE_A_IRQ,
  GEN8_GT_BCS_IRQ,
  GEN8_GT_RCS_IRQ,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GEN8_PIPE_VBLANK,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  IRQ_GROUP_BASE,
  IRQ_GT0,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_PIPE_A,
  PIPE_FRMCOUNT_A,
  PIPECONF_A,
  PIPECONF_ENABLE,
  PIPECONF_STATE_ENABLE,
} from "../core/hw/regs.ts";
import { MSI_DATA, MSI_FLAGS } from "../core/hw/pci.ts";
import { smallGpu } from "./hw_util.ts";

class MsiLog implements EventSink {
  readonly got: number[] = [];
  constructor(private readonly now: () => number) {}
  onEvent(kind: number): void {
    this.got.push(kind, this.now());
  }
}

const G0 = IRQ_GROUP_BASE[IRQ_GT0];

Deno.test("irq: IMR masks, IER gates the summary, master enable sends one MSI per edge", () => {
  const { sim, gpu } = smallGpu();
  const log = new MsiLog(() => sim.now);
  gpu.onMsi = log;
  gpu.cfgWrite(MSI_DATA, 2, 0x41);
  gpu.cfgWrite(MSI_FLAGS, 2, 1);
  gpu.irq.raise(IRQ_GT0, 1); // masked by IMR reset value
  assert.equal(gpu.mmioRead(G0 + IRQ_IIR, 4), 0);
  gpu.mmioWrite(G0 + IRQ_IMR, 4, ~0x10001 >>> 0);
  gpu.irq.raise(IRQ_GT0, 1);
  assert.equal(gpu.mmioRead(G0 + IRQ_IIR, 4), 1);
  assert.equal(gpu.mmioRead(GEN8_MASTER_IRQ, 4), 0); // IER off: no summary
  gpu.mmioWrite(G0 + IRQ_IER, 4, 0x10001);
  assert.equal(gpu.mmioRead(GEN8_MASTER_IRQ, 4), GEN8_GT_RCS_IRQ);
  sim.run();
  assert.deepEqual(log.got, []); // master disabled
  gpu.mmioWrite(GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL);
  gpu.irq.raise(IRQ_GT0, 0x10000); // still asserted: no new edge
  sim.run();
  assert.deepEqual(log.got, [0x41, 0]);
  assert.equal(
    gpu.mmioRead(GEN8_MASTER_IRQ, 4),
    (GEN8_MASTER_IRQ_CONTROL | GEN8_GT_RCS_IRQ | GEN8_GT_BCS_IRQ) >>> 0,
  );
  gpu.mmioWrite(G0 + IRQ_IIR, 4, 0x10001); // ack: line drops
  assert.equal(gpu.mmioRead(GEN8_MASTER_IRQ, 4), GEN8_MASTER_IRQ_CONTROL >>> 0);
  gpu.irq.raise(IRQ_GT0, 1);
  sim.run();
  assert.equal(log.got.length, 4);
  assert.equal(gpu.counters().msis, 2);
});

Deno.test("irq: MSI disabled in config space is not delivered", () => {
  const { sim, gpu } = smallGpu();
  const log = new MsiLog(() => sim.now);
  gpu.onMsi = log;
  gpu.mmioWrite(G0 + IRQ_IMR, 4, 0);
  gpu.mmioWrite(G0 + IRQ_IER, 4, 1);
  gpu.mmioWrite(GEN8_MASTER_IRQ, 4, GEN8_MASTER_IRQ_CONTROL);
  gpu.irq.raise(IRQ_GT0, 1);
  sim.run();
  assert.deepEqual(log.got, []);
  assert.equal(gpu.counters().msisDisabled, 1);
});

Deno.test("display: vblank timer at the refresh rate; flips latch at vblank", () => {
  const { sim, gpu } = smallGpu({ refreshHz: 60 });
  const PA = IRQ_GROUP_BASE[IRQ_PIPE_A];
  gpu.mmioWrite(PA + IRQ_IMR, 4, 0);
  gpu.mmioWrite(PA + IRQ_IER, 4, GEN8_PIPE_VBLANK | GEN9_PIPE_PLANE1_FLIP_DONE);
  gpu.mmioWrite(PIPECONF_A, 4, PIPECONF_ENABLE);
  assert.equal(gpu.mmioRead(PIPECONF_A, 4), (PIPECONF_ENABLE | PIPECONF_STATE_ENABLE) >>> 0);
  const period = gpu.display.period;
  assert.equal(period, 16_666_667);
  sim.runUntil(60 * period);
  assert.equal(gpu.counters().vblanks[0], 60);
  assert.equal(gpu.mmioRead(PIPE_FRMCOUNT_A, 4), 60);
  assert.equal(gpu.mmioRead(PA + IRQ_IIR, 4), GEN8_PIPE_VBLANK);
  assert.equal(gpu.mmioRead(GEN8_MASTER_IRQ, 4), GEN8_DE_PIPE_A_IRQ);
  gpu.mmioWrite(DSPSURF_A, 4, 0x200000);
  assert.equal(gpu.mmioRead(DSPSURFLIVE_A, 4), 0);
  sim.runUntil(61 * period);
  assert.equal(gpu.mmioRead(DSPSURFLIVE_A, 4), 0x200000);
  assert.equal(gpu.counters().flips[0], 1);
  assert.ok(gpu.mmioRead32(PA + IRQ_IIR) & GEN9_PIPE_PLANE1_FLIP_DONE);
  gpu.mmioWrite(PIPECONF_A, 4, 0);
  sim.runUntil(200 * period);
  assert.equal(gpu.counters().vblanks[0], 61);
});
