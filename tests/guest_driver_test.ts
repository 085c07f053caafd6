import assert from "node:assert/strict";
import { Sim } from "../core/sim/sim.ts";
import { HostMemory } from "../core/hw/memory.ts";
import { GuestMemory } from "../core/guest/memory.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import { isLoadError, loadBackend } from "../core/mpt/loader.ts";
import { MptGate } from "../core/mpt/gate.ts";
import { GuestDriver } from "../core/guest/driver.ts";
import { WorkloadRunner } from "../core/workload/runner.ts";
import { ID } from "../core/cmd/table.ts";
import {
  DSPSURF_A,
  GDRST,
  GTT_OFFSET,
  PVINFO,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE,
  VGT_PVINFO_PAGE,
} from "../core/hw/regs.ts";
import {
  CTX_RING_BUFFER_START,
  CTX_RING_TAIL,
  ctxValueOffset,
  LRC_STATE_PN,
} from "../core/hw/context.ts";
import type { CommandMix, WorkloadOp, WorkloadSpec } from "../core/scenario.ts";
import type { MixCounts } from "../core/cmd/batch.ts";
import { FakeMediator } from "./fixtures/fake_mediator.ts";

const MiB = 1024 * 1024;
const BAR0 = 0xf000_0000, CFG = 0xd000_0000;
const loc = { file: "t.gvt", line: 1, col: 1 };

async function setup(opts: { ppgttBatches?: boolean } = {}) {
  const sim = new Sim(3);
  const host = new HostMemory(512 * MiB);
  const mem = new GuestMemory(host, 1, 256 * MiB);
  const ctx = new SimBackendContext(sim);
  ctx.setGuestMemory(1, mem);
  const loaded = await loadBackend("kvm", ctx);
  if (isLoadError(loaded)) throw new Error(loaded.message);
  const gate = new MptGate(sim, loaded.backend, loaded.label, [], { charged: ctx });
  const med = new FakeMediator(sim, 1, mem);
  med.gate = gate;
  gate.hostInit(med);
  gate.attachVgpu({ id: 1, vm: "vm1", memory: 256 * MiB, vcpus: 2, bar0: BAR0, bar2: 0, cfg: CFG });
  const drv = new GuestDriver({
    sim,
    port: gate,
    info: { id: 1, vm: "vm1", memory: 256 * MiB, vcpus: 2, bar0: BAR0, bar2: 0, cfg: CFG },
    mem,
    rng: sim.streams.stream("guest:vm1"),
    ppgttBatches: opts.ppgttBatches,
  });
  ctx.setMsiReceiver(1, drv);
  return { sim, host, mem, ctx, gate, med, drv };
}

const mix = (m: Partial<MixCounts>): MixCounts => ({
  draw: 0,
  blit: 0,
  media: 0,
  compute: 0,
  store: 0,
  lri: 0,
  ...m,
});

Deno.test("guest boot: PVINFO detection, balloon, MSI, GGTT only in slices, PPGTT notify", async () => {
  const r = await setup();
  const t = r.drv.boot();
  assert.equal(r.drv.state, "running", r.drv.bootError);
  assert.ok(t > 100_000, `boot takes trap time: ${t}`);
  assert.equal(r.drv.pvinfo.apertureBase, r.med.apBase);
  assert.equal(r.drv.pvinfo.hiddenSize, r.med.hidSize);
  assert.equal(r.drv.pvinfo.fences, 4);
  assert.ok(r.med.reads.some((a) => a.off === VGT_PVINFO_PAGE + PVINFO.magic));
  assert.equal(r.ctx.counter("eventfd_installed"), 1, "MSI enabled in config space");
  assert.equal(r.med.ggttOutside.length, 0, "ballooned: no GGTT write outside the slices");
  assert.ok(r.med.ggtt.size > 1500, "framebuffers, contexts, rings, status pages mapped");
  for (const pte of r.med.ggtt.values()) {
    assert.equal(r.mem.isBacked(Math.floor(pte / 4096)), true);
  }
  const notify = r.med.pvWrites.find((w) => w.off === PVINFO.g2vNotify);
  assert.equal(notify?.value, VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE);
  assert.equal(r.med.pml4 * 4096, r.drv.pml4Gpa);
  assert.ok(r.med.tracked.size >= 4, "PML4, PDP, PD, PT tracked");
  // context image: real reg-state layout
  const rs = r.med.gpaOfGma(r.drv.contextGma(0) + LRC_STATE_PN * 4096);
  const ringStart = r.mem.read32(rs + ctxValueOffset(CTX_RING_BUFFER_START));
  assert.ok(ringStart >= r.med.hidBase && ringStart < r.med.hidBase + r.med.hidSize);
  assert.equal(r.mem.read32(rs + ctxValueOffset(CTX_RING_TAIL)), 0);
  assert.equal(r.drv.boot(), 0, "idempotent");
});

Deno.test("guest submit: real dwords in PPGTT batch, ELSP, MSI, IIR/CSB, retire", async () => {
  const r = await setup();
  r.drv.boot();
  r.sim.runFor(20_000_000);
  const d = r.drv.submitBatch(0, mix({ draw: 3, store: 2, lri: 1 }));
  assert.ok(d > 0);
  assert.equal(r.med.workloads.length, 1);
  const w = r.med.workloads[0];
  assert.equal(w.garbage, 0);
  assert.deepEqual(w.batches.map((b) => b.ppgtt), [true]);
  const cmds = w.batchCmds[0];
  assert.equal(cmds.at(-1), ID.MI_BATCH_BUFFER_END);
  assert.equal(cmds.filter((c) => c === ID.MI_STORE_DATA_IMM).length, 2);
  assert.equal(cmds.filter((c) => c === ID.MI_LOAD_REGISTER_IMM).length, 1);
  assert.ok(!cmds.includes(-1));
  assert.equal(r.drv.inFlight(0), 1);
  r.sim.runFor(20_000_000);
  assert.equal(r.drv.metrics.completed[0], 1);
  assert.equal(r.drv.inFlight(0), 0);
  assert.equal(r.drv.metrics.latencyAll.count, 1);
  assert.ok(r.drv.metrics.latencyAll.max >= r.med.completeDelay);
  assert.equal(r.drv.metrics.csbEvents, 1);
  assert.ok(r.drv.metrics.irqs >= 1);
  const iirClears = r.med.writes.filter((a) => a.off === 0x44308);
  assert.ok(iirClears.length >= 1, "GT0 IIR cleared (W1C)");
});

Deno.test("guest runs a workload through the runner; batches wait for completion", async () => {
  const r = await setup();
  const m: CommandMix = {
    draw: { kind: "const", value: 2 },
    blit: { kind: "const", value: 1 },
    media: { kind: "const", value: 0 },
    compute: { kind: "const", value: 0 },
    store: { kind: "const", value: 1 },
    lri: { kind: "const", value: 0 },
  };
  const body: WorkloadOp[] = [{
    op: "repeat",
    count: 5,
    loc,
    body: [
      { op: "batch", engine: "rcs", mix: m, loc },
      { op: "batch", engine: "bcs", mix: m, loc },
      { op: "wait", what: "completion", loc },
    ],
  }];
  const spec: WorkloadSpec = { name: "w", body, loc };
  const runner = new WorkloadRunner(r.sim, spec, r.drv, r.sim.streams.stream("wl"));
  runner.spawn();
  r.sim.runFor(200_000_000);
  assert.ok(runner.finished);
  assert.equal(r.drv.metrics.submitted[0], 5);
  assert.equal(r.drv.metrics.completed[0], 5);
  assert.equal(r.drv.metrics.completed[1], 5);
  const blitCmds = r.med.workloads.filter((w) => w.engine === 1).flatMap((w) => w.batchCmds[0]);
  assert.ok(blitCmds.includes(ID.XY_SRC_COPY_BLT));
});

Deno.test("guest page-table churn: PTE writes trap only on tracked pages", async () => {
  const r = await setup();
  r.drv.boot();
  const before = r.med.wp.length;
  r.drv.mapPages(10);
  assert.ok(r.med.wp.length - before >= 10, "each PTE write into a tracked PT traps");
  const afterMap = r.med.wp.length;
  r.drv.pteRewrite(7);
  assert.equal(r.med.wp.length - afterMap, 7);
  const va = 0; // not mapped: walking fails
  assert.equal(r.med.gpaOfVa(va), -1);
  r.drv.unmapPages(3);
  assert.equal(r.drv.metrics.pagesUnmapped, 3);
  assert.equal(r.med.wp.at(-1)?.value, 0, "unmap clears the PTE");
  assert.equal(r.ctx.counter("page_track_faults"), r.med.wp.length);
});

Deno.test("guest flip completes at vblank; waitVblank wakes on the vblank interrupt", async () => {
  const r = await setup();
  r.drv.boot();
  r.sim.runFor(20_000_000);
  r.drv.flip();
  assert.ok(
    r.med.writes.some((w) => w.off === DSPSURF_A && w.value === r.med.writes.at(-1)!.value),
  );
  let woke = 0;
  r.drv.bind({ wake: () => woke++ });
  assert.equal(r.drv.waitVblank(), -1);
  r.med.vblank();
  r.sim.runFor(20_000_000);
  assert.equal(woke, 1);
  assert.equal(r.drv.metrics.frames, 1);
  assert.equal(r.drv.metrics.vblanks, 1);
});

Deno.test("guest misbehaviour: each kind does what it says", async () => {
  const r = await setup();
  r.drv.boot();
  r.sim.runFor(20_000_000);
  r.drv.misbehave("ggtt_out_of_slice", 3);
  assert.equal(r.med.ggttOutside.length, 3);
  const use = r.med.workloads.at(-1)!;
  assert.equal(use.batches[0].ppgtt, false);
  const ugpa = r.med.gpaOfGma(use.batches[0].gma);
  assert.equal(r.mem.read32(ugpa + 4), r.med.ggttOutside[0] * 4096, "stores into the range");
  r.sim.runFor(20_000_000);
  r.drv.misbehave("insufficient_resources", 1);
  assert.ok(r.med.pvWrites.some((w) => w.off === PVINFO.rsv5));
  const n0 = r.med.writes.length;
  r.drv.misbehave("random_mmio", 5);
  assert.equal(r.med.writes.length - n0, 5 + 4);
  assert.ok(r.med.writes.slice(n0).every((w) => w.off < 2 * MiB && w.off % 4 === 0));
  assert.equal(r.med.writes.at(-1)!.off, 0x2230, "random descriptor into the ELSP");
  assert.equal(r.med.writes.at(-1)!.value & 1, 1);
  r.drv.misbehave("priv_reg_write", 2);
  let w = r.med.workloads.at(-1)!;
  assert.equal(w.batches[0].ppgtt, false, "privileged GGTT batch");
  assert.equal(w.batchCmds[0].filter((c) => c === ID.MI_LOAD_REGISTER_IMM).length, 2);
  const bgpa = r.med.gpaOfGma(w.batches[0].gma);
  assert.equal(r.mem.read32(bgpa + 4), GDRST);
  r.sim.runFor(20_000_000);
  r.drv.misbehave("bad_address", 1);
  w = r.med.workloads.at(-1)!;
  const sgpa = r.med.gpaOfGma(w.batches[0].gma);
  const storeAddr = r.mem.read32(sgpa + 4);
  const inAp = storeAddr >= r.med.apBase && storeAddr < r.med.apBase + r.med.apSize;
  const inHid = storeAddr >= r.med.hidBase && storeAddr < r.med.hidBase + r.med.hidSize;
  assert.ok(!inAp && !inHid, `store address ${storeAddr.toString(16)} outside the slices`);
  r.sim.runFor(20_000_000);
  r.drv.misbehave("rejected_command", 1);
  assert.ok(r.med.workloads.at(-1)!.batchCmds[0].includes(ID.MI_UPDATE_GTT));
  r.sim.runFor(20_000_000);
  r.drv.misbehave("ring_garbage", 4);
  assert.equal(r.med.workloads.at(-1)!.garbage, 4);
  assert.equal(r.drv.metrics.misbehaviours, 3 + 1 + 5 + 2 + 1 + 1 + 4);
});

Deno.test("guest with GGTT batches and without a vGPU", async () => {
  const r = await setup({ ppgttBatches: false });
  r.drv.boot();
  r.drv.submitBatch(2, mix({ media: 2, store: 1 }));
  const w = r.med.workloads[0];
  assert.equal(w.batches[0].ppgtt, false);
  const gma = w.batches[0].gma;
  assert.ok(gma >= r.med.hidBase && gma < r.med.hidBase + r.med.hidSize);
  // a VM whose device has no PVINFO: boot fails cleanly
  const s = await setup();
  s.med.emulateMmioRead = () => 0;
  s.drv.boot();
  assert.equal(s.drv.state, "failed");
  assert.match(s.drv.bootError, /PVINFO magic/);
  assert.equal(s.drv.submitBatch(0, mix({ store: 1 })), 1_000_000);
  assert.equal(s.med.workloads.length, 0);
  assert.ok(GTT_OFFSET > 0);
});

Deno.test("guest reset: pages returned, requests dropped, next op boots again", async () => {
  const r = await setup();
  r.drv.boot();
  const used = r.mem.pagesInUse;
  assert.ok(used > 1000);
  r.med.autoComplete = false;
  r.drv.submitBatch(0, mix({ store: 1 }));
  assert.equal(r.drv.inFlight(0), 1);
  r.drv.reset();
  assert.equal(r.mem.pagesInUse, 0);
  assert.equal(r.drv.state, "off");
  assert.equal(r.drv.inFlight(0), 0);
  r.med.autoComplete = true;
  assert.ok(r.drv.submitBatch(0, mix({ store: 1 })) > 100_000, "boots again, then submits");
  assert.equal(r.drv.state, "running");
  assert.equal(r.mem.pagesInUse, used + 1, "same footprint plus one batch");
  assert.equal(r.drv.metrics.resets, 1);
});
