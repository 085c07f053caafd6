import assert from "node:assert/strict";
import { ENGINES } from "../core/hw/engines.ts";
import { CSB_RESET_PTR } from "../core/hw/csb.ts";
import { addGuest, addVgpu, gvtRig } from "./gvt_util.ts";
import {
  DSPSURF_A,
  DSPSURFLIVE_A,
  FENCE_REG_GEN6_LO,
  FORCEWAKE_ACK_RENDER_GEN9,
  FORCEWAKE_RENDER_GEN9,
  GDRST,
  GEN6_GRDOM_RENDER,
  GEN8_MASTER_IRQ,
  GEN8_PIPE_VBLANK,
  GFX_RUN_LIST_ENABLE,
  IRQ_GROUP_BASE,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_PIPE_A,
  PIPE_FRMCOUNT_A,
  PIPECONF_A,
  PVINFO,
  RING_ACTHD,
  RING_CONTEXT_STATUS_BUF,
  RING_CONTEXT_STATUS_PTR,
  RING_ELSP,
  RING_EXECLIST_STATUS_LO,
  RING_HEAD,
  RING_MODE,
  RING_TAIL,
  RING_TIMESTAMP,
  VGT_PVINFO_PAGE,
} from "../core/hw/regs.ts";
import { MSI_FLAGS } from "../core/hw/pci.ts";
import { MS } from "../core/sim/sim.ts";

async function one() {
  const r = await gvtRig();
  const v = addVgpu(r, { vm: "a" });
  const rd = (off: number, size = 4) => r.gvt.emulateMmioRead(v.id, off, size);
  const wr = (off: number, val: number, size = 4) => r.gvt.emulateMmioWrite(v.id, off, size, val);
  const pv = () => rd(VGT_PVINFO_PAGE + PVINFO.magic);
  return { r, v, rd, wr, pv };
}

Deno.test("mmio: access checks reject > 8 bytes and misaligned accesses, counted", async () => {
  const { r, v, rd, wr } = await one();
  assert.equal(rd(0x2034, 16), 0);
  wr(0x2035, 1, 4);
  assert.equal(rd(0x2036, 4), 0);
  const c = r.gvt.counters().vgpus.a;
  assert.equal(c["mmio_error.size"], 1);
  assert.equal(c["mmio_error.align"], 2);
  assert.equal(r.gvt.mmio.lastError?.kind, "align");
  assert.equal(v.failsafe, false);
  wr(0x7000, 0x00010001); // masked, CMD_ACCESS register: default handler + mode mask
  assert.equal(rd(0x7000), 1);
  wr(0x7000, 0x00000000); // no enable bits: unchanged
  assert.equal(rd(0x7000), 1);
  wr(0x9100, 0xabcd); // untracked: plain copy
  assert.equal(rd(0x9100), 0xabcd);
  assert.equal(rd(0x9100, 2), 0xabcd);
  assert.equal(rd(0x9101, 1), 0xab);
  assert.equal(r.gvt.counters().vgpus.a["mmio.untracked"], 4);
});

Deno.test("mmio: ring registers live in the vreg only; TIMESTAMP always from hardware, ACTHD only when owning (handlers.c mmio_read_from_hw)", async () => {
  const { r, rd, wr } = await one();
  const b = ENGINES[0].mmioBase;
  wr(b + RING_TAIL, 0x40);
  wr(b + RING_HEAD, 0x20);
  assert.equal(rd(b + RING_TAIL), 0x40);
  assert.equal(r.gpu.regs[(b + RING_TAIL) >> 2], 0, "hardware untouched");
  r.sim.runFor(10 * MS);
  const hw = r.gpu.mmioRead32(b + RING_TIMESTAMP);
  assert.ok(hw > 0);
  assert.equal(rd(b + RING_TIMESTAMP), hw, "TIMESTAMP: the hardware value though not owning");
  assert.equal(rd(b + RING_ACTHD), 0, "ACTHD: the vreg while another context owns the engine");
  wr(b + RING_TIMESTAMP, 5);
  assert.equal(rd(b + RING_TIMESTAMP), r.gpu.mmioRead32(b + RING_TIMESTAMP), "read-only");
});

Deno.test("mmio: execlist run list before PVINFO -> failsafe (unsupported guest)", async () => {
  const { v, wr } = await one();
  wr(ENGINES[0].mmioBase + RING_MODE, (GFX_RUN_LIST_ENABLE << 16) | GFX_RUN_LIST_ENABLE);
  assert.equal(v.failsafe, true);
  assert.equal(v.failsafeReason, "unsupported_guest");
});

Deno.test("mmio: ELSP collects 4 dwords, CSB and status are read-only, CSB pointer masked", async () => {
  const { v, rd, wr, pv } = await one();
  pv();
  const b = ENGINES[0].mmioBase;
  wr(b + RING_MODE, (GFX_RUN_LIST_ENABLE << 16) | GFX_RUN_LIST_ENABLE);
  assert.equal(v.runList[0], 1);
  assert.equal(rd(b + RING_CONTEXT_STATUS_PTR) & 0xf, CSB_RESET_PTR);
  wr(b + RING_ELSP, 0);
  wr(b + RING_ELSP, 0);
  wr(b + RING_ELSP, 0);
  assert.equal(v.execlists[0].elspIndex, 3);
  assert.equal(rd(b + RING_ELSP), 0, "ELSP reads 0");
  wr(b + RING_ELSP, 0); // 4th write: submits (desc0 invalid -> refused, nothing queued)
  assert.equal(v.execlists[0].elspIndex, 0);
  assert.equal(v.queues[0].length, 0);
  wr(b + RING_CONTEXT_STATUS_BUF, 0x1234);
  assert.equal(rd(b + RING_CONTEXT_STATUS_BUF), 0);
  wr(b + RING_EXECLIST_STATUS_LO, 0xffff);
  assert.equal(rd(b + RING_EXECLIST_STATUS_LO), 0);
  wr(b + RING_CONTEXT_STATUS_PTR, ((0x0f0f << 16) | 0x0305) >>> 0); // guest updates the read pointer
  assert.equal(rd(b + RING_CONTEXT_STATUS_PTR) & 0xf, CSB_RESET_PTR, "write ptr RO");
  assert.equal((rd(b + RING_CONTEXT_STATUS_PTR) >> 8) & 0xf, 3);
});

Deno.test("mmio: forcewake ack mirrors the masked request", async () => {
  const { r, rd, wr } = await one();
  wr(FORCEWAKE_RENDER_GEN9, 0x00010001);
  assert.equal(rd(FORCEWAKE_ACK_RENDER_GEN9), 1);
  wr(FORCEWAKE_RENDER_GEN9, 0x00010000);
  assert.equal(rd(FORCEWAKE_ACK_RENDER_GEN9), 0);
  assert.equal(r.gvt.counters().vgpus.a["mmio.forcewake"], 4);
});

Deno.test("mmio: fences: own count only, writes reach the reserved physical fences", async () => {
  const { r, v, rd, wr, pv } = await one();
  pv();
  wr(FENCE_REG_GEN6_LO + 8, 0x1000_0001); // guest fence 1
  wr(FENCE_REG_GEN6_LO + 12, 0x2000);
  assert.equal(rd(FENCE_REG_GEN6_LO + 8), 0x1000_0001);
  const phys = v.res.fences[1];
  assert.equal(r.gpu.regs[(FENCE_REG_GEN6_LO + 8 * phys) >> 2], 0x1000_0001);
  assert.equal(r.gpu.regs[(FENCE_REG_GEN6_LO + 8 * phys + 4) >> 2], 0x2000);
  wr(FENCE_REG_GEN6_LO + 8 * 5, 7); // fence 5 of 4: out of bounds
  assert.equal(rd(FENCE_REG_GEN6_LO + 8 * 5), 0);
  for (let f = 0; f < 32; f++) {
    if (!v.res.fences.includes(f)) assert.equal(r.gpu.regs[(FENCE_REG_GEN6_LO + 8 * f) >> 2], 0);
  }
  assert.equal(r.gvt.counters().vgpus.a["mmio_error.fence_oob"], 2);
  r.gvt.resetVgpu(v.id, "dmlr");
  assert.equal(r.gpu.regs[(FENCE_REG_GEN6_LO + 8 * phys) >> 2], 0, "cleared by FLR");
});

Deno.test("mmio: a fence beyond the vGPU's count, read or written before PVINFO -> failsafe (handlers.c sanitize_fence_mmio_access)", async () => {
  const { v, rd, wr } = await one();
  wr(FENCE_REG_GEN6_LO, 1); // fence 0 of 4: in range, fine before PVINFO
  assert.equal(v.failsafe, false);
  rd(FENCE_REG_GEN6_LO + 8 * 6); // fence 6 of 4, before PVINFO
  assert.equal(v.failsafeReason, "unsupported_guest");
  const w = await one();
  w.wr(FENCE_REG_GEN6_LO + 8 * 4 + 4, 1);
  assert.equal(w.v.failsafeReason, "unsupported_guest", "an out-of-range write too");
  const p = await one();
  p.pv();
  p.rd(FENCE_REG_GEN6_LO + 8 * 6);
  assert.equal(p.v.failsafe, false, "after PVINFO an out-of-range access only reads 0");
});

Deno.test("mmio: interrupts: IMR masks, IIR W1C, IER + master enable inject the MSI", async () => {
  const { r, v, rd, wr } = await one();
  const gt0 = IRQ_GROUP_BASE[0];
  r.gvt.emulateCfgWrite(v.id, MSI_FLAGS, 2, 1); // guest enables MSI
  wr(gt0 + IRQ_IMR, ~(1 << 8) >>> 0);
  wr(gt0 + IRQ_IER, 1 << 8);
  r.gvt.irq.trigger(v, 0, 1 << 0); // masked event
  assert.equal(rd(gt0 + IRQ_IIR), 0);
  r.gvt.irq.trigger(v, 0, 1 << 8); // context switch, master disabled
  assert.equal(rd(gt0 + IRQ_IIR), 1 << 8);
  assert.equal(v.counters.msiInjected + v.counters.msiDropped, 0);
  assert.equal(rd(GEN8_MASTER_IRQ) & 1, 1, "summary bit");
  wr(GEN8_MASTER_IRQ, 0x8000_0000);
  assert.equal(v.counters.msiInjected + v.counters.msiDropped, 1, "enable with pending: MSI");
  wr(gt0 + IRQ_IIR, 1 << 8);
  assert.equal(rd(gt0 + IRQ_IIR), 0);
  assert.equal(rd(GEN8_MASTER_IRQ), 0x8000_0000, "summary cleared");
  assert.equal(v.counters.irqRaised, 2);
  assert.equal(v.counters.irqMasked, 1);
  r.gvt.emulateCfgWrite(v.id, MSI_FLAGS, 2, 0);
  r.gvt.irq.trigger(v, 0, 1 << 8);
  assert.ok(v.counters.msiDropped >= 1, "MSI disabled in config space: dropped");
});

Deno.test("mmio: GDRST resets the engine and reads back 0", async () => {
  const { v, rd, wr } = await one();
  wr(GDRST, GEN6_GRDOM_RENDER);
  assert.equal(rd(GDRST), 0);
  assert.equal(v.counters.resetsEngine, 1);
});

Deno.test("mmio: display: PIPECONF starts vblanks, SURF write flips at the next vblank", async () => {
  const { r, v, rd, wr } = await one();
  const pipe = IRQ_GROUP_BASE[IRQ_PIPE_A];
  wr(pipe + IRQ_IMR, 0);
  wr(pipe + IRQ_IER, 0xffffffff);
  wr(PIPECONF_A, 0x8000_0000);
  assert.equal(rd(PIPECONF_A) >>> 30, 3, "enable + state");
  r.sim.runFor(100 * MS);
  assert.equal(rd(PIPE_FRMCOUNT_A), 5, "60 Hz");
  assert.equal(v.counters.vblanks, 5);
  assert.equal(rd(pipe + IRQ_IIR) & GEN8_PIPE_VBLANK, GEN8_PIPE_VBLANK);
  wr(DSPSURF_A, 0x0800_0000);
  assert.equal(rd(DSPSURFLIVE_A), 0x0800_0000);
  assert.equal(v.counters.flips, 1);
  assert.equal(v.counters.flipsDone, 0);
  r.sim.runFor(17 * MS);
  assert.equal(v.counters.flipsDone, 1);
  assert.ok(rd(pipe + IRQ_IIR) & (1 << 3), "flip done");
  const before = v.counters.vblanks;
  wr(PIPECONF_A, 0);
  r.sim.runFor(100 * MS);
  assert.equal(v.counters.vblanks, before, "timer stopped");
});

Deno.test("mmio: PVINFO rsv5 write -> failsafe; failsafe makes MMIO plain copies", async () => {
  const { v, rd, wr } = await one();
  wr(VGT_PVINFO_PAGE + PVINFO.rsv5, 1);
  assert.equal(v.failsafeReason, "insufficient_resource");
  wr(GDRST, GEN6_GRDOM_RENDER);
  assert.equal(rd(GDRST), GEN6_GRDOM_RENDER, "plain copy: no reset emulated");
  assert.equal(v.counters.resetsEngine, 0);
});

Deno.test("mmio: TLB invalidation is deferred to the next switch", async () => {
  const { v, wr } = await one();
  wr(0x4260, 1);
  assert.equal(v.tlbPending, 1);
});

Deno.test("mmio: config space: BAR sizing, MSI capability, enabling MSI", async () => {
  const { r, v } = await one();
  const cr = (o: number, s = 4) => r.gvt.emulateCfgRead(v.id, o, s);
  const cw = (o: number, val: number, s = 4) => r.gvt.emulateCfgWrite(v.id, o, s, val);
  assert.equal(cr(0, 2), 0x8086);
  cw(0, 0x1234, 2);
  assert.equal(cr(0, 2), 0x8086, "vendor read-only");
  const bar0 = cr(0x10);
  cw(0x10, 0xffffffff);
  assert.equal(cr(0x10), (0xff000000 | 0x4) >>> 0, "BAR0 is 16 MiB");
  cw(0x10, bar0);
  cw(0x18, 0xffffffff);
  assert.equal(cr(0x18), (0xe0000000 | 0xc) >>> 0, "BAR2 = the 512 MiB aperture");
  const cap = cr(0x34, 1);
  assert.equal(cr(cap, 1), 0x05, "MSI capability");
  cw(cap + 4, 0xfee00000);
  cw(cap + 0xc, 0x41, 2);
  cw(cap + 2, 1, 2);
  r.gvt.irq.inject(v);
  assert.equal(v.counters.msiInjected + v.counters.msiDropped, 1);
  assert.equal(r.gvt.counters().vgpus.a["mmio.cfg"], 14);
});

Deno.test("mmio: a booted guest drives every family through the trap path", async () => {
  const r = await gvtRig();
  const { v, drv } = addGuest(r, { vm: "g" });
  drv.boot();
  assert.equal(drv.state, "running");
  r.sim.runFor(40 * MS);
  const c = r.gvt.counters().vgpus.g;
  for (const k of ["pvinfo", "forcewake", "irq", "gtt", "ring_mode", "display", "cfg"]) {
    assert.ok(c[`mmio.${k}`] > 0, k);
  }
  assert.equal(v.pvAware, true);
  assert.ok(v.counters.vblanks >= 2);
  assert.ok(v.counters.msiInjected >= 2, "vblank interrupts delivered");
});
