/**
 * End to end: the guest driver on the KVMGT-like backend (loaded by name through the
 * loader) on the real mediator and physical GPU model.
 */
import assert from "node:assert/strict";
import { MS, Sim } from "../core/sim/sim.ts";
import { Gpu } from "../core/hw/gpu.ts";
import { Gvt, isCreateError } from "../core/gvt/vgpu.ts";
import { openBackend } from "../core/mpt/open.ts";
import { isLoadError } from "../core/mpt/loader.ts";
import { GuestMemory } from "../core/guest/memory.ts";
import { GuestDriver } from "../core/guest/driver.ts";
import { WorkloadRunner } from "../core/workload/runner.ts";
import { BUILTIN_TYPES } from "../core/vgpu_types.ts";
import {
  type CommandMix,
  defaultHostSpec,
  type HostSpec,
  type MisbehaviourKind,
  type WorkloadSpec,
} from "../core/scenario.ts";

const MiB = 1024 ** 2;
const HOST: HostSpec = defaultHostSpec();
const loc = { file: "e2e", line: 1, col: 1 };
const c = (value: number) => ({ kind: "const" as const, value });

async function world() {
  const sim = new Sim(11);
  const gpu = new Gpu(sim, { aperture: HOST.aperture, ggtt: HOST.ggtt, fences: HOST.fences });
  const ob = await openBackend(sim, { name: "kvm", params: {}, costs: {}, faults: [] });
  if (isLoadError(ob)) throw new Error(ob.message);
  const gvt = new Gvt(sim, gpu, ob.gate, {
    host: HOST,
    types: BUILTIN_TYPES,
    scheduler: { policy: "gvt", params: {} },
  });
  const id = gvt.nextVgpuId();
  const mem = new GuestMemory(gpu.memory, id, 512 * MiB);
  ob.ctx.setGuestMemory(id, mem);
  const v = gvt.createVgpu({ vm: "vm1", type: "V5_4", memory: 512 * MiB, vcpus: 2 });
  if (isCreateError(v)) throw new Error(v.message);
  const drv = new GuestDriver({
    sim,
    port: ob.gate,
    info: {
      id: v.id,
      vm: "vm1",
      memory: 512 * MiB,
      vcpus: 2,
      bar0: v.bar0,
      bar2: v.bar2,
      cfg: 0xd000_0000,
    },
    mem,
    rng: sim.streams.stream("guest:vm1"),
  });
  ob.ctx.setMsiReceiver(v.id, drv);
  return { sim, gpu, ob, gvt, drv, mem };
}

Deno.test("e2e: frame-paced rendering on kvm + mediator + GPU", async () => {
  const w = await world();
  const draw: CommandMix = {
    draw: c(20),
    blit: c(0),
    media: c(0),
    compute: c(0),
    store: c(2),
    lri: c(1),
  };
  const blit: CommandMix = { ...draw, draw: c(0), blit: c(4), lri: c(0) };
  const spec: WorkloadSpec = {
    name: "game",
    loc,
    body: [{
      op: "repeat",
      count: "forever",
      loc,
      body: [
        { op: "batch", engine: "rcs", mix: draw, loc },
        { op: "batch", engine: "bcs", mix: blit, loc },
        { op: "flip", loc },
        { op: "map", pages: c(2), loc },
        { op: "pte_rewrite", count: c(2), loc },
        { op: "wait", what: "completion", loc },
        { op: "wait", what: "vblank", loc },
      ],
    }],
  };
  const runner = new WorkloadRunner(w.sim, spec, w.drv, w.sim.streams.stream("wl"));
  runner.spawn();
  w.sim.runUntil(1000 * MS);
  const m = w.drv.metrics;
  assert.equal(w.drv.state, "running");
  assert.ok(m.frames >= 55 && m.frames <= 61, `~60 fps at 60 Hz: ${m.frames}`);
  assert.ok(m.completed[0] >= 55 && m.completed[0] >= m.submitted[0] - 1);
  assert.ok(m.completed[1] >= 55);
  assert.ok(m.latencyAll.mean > 0);
  assert.equal(w.ob.gate.errors.length, 0);
  assert.deepEqual(w.gvt.failsafeLog, []);
  assert.equal(w.gvt.invariants.violations.length, 0);
  assert.ok(w.ob.ctx.counter("page_track_faults") > 100, "PTE writes trapped");
  assert.equal(w.ob.ctx.counter("eventfd_installed"), 1);
});

for (
  const kind of [
    "ggtt_out_of_slice",
    "priv_reg_write",
    "bad_address",
    "ring_garbage",
    "rejected_command",
    "insufficient_resources",
  ] as MisbehaviourKind[]
) {
  Deno.test(`e2e: misbehaviour ${kind} ends in failsafe`, async () => {
    const w = await world();
    w.drv.boot();
    w.sim.runUntil(50 * MS);
    w.drv.submitBatch(0, { draw: 2, blit: 0, media: 0, compute: 0, store: 1, lri: 0 });
    w.sim.runUntil(100 * MS);
    assert.equal(w.drv.metrics.completed[0], 1);
    assert.deepEqual(w.gvt.failsafeLog, []);
    w.drv.misbehave(kind, 4);
    w.sim.runUntil(200 * MS);
    assert.equal(w.gvt.failsafeLog.length, 1, `${kind}: ${JSON.stringify(w.gvt.failsafeLog)}`);
    assert.equal(w.gvt.invariants.violations.length, 0);
    assert.equal(w.ob.gate.errors.length, 0);
  });
}

Deno.test("e2e: misbehaviour random_mmio never harms the host; failsafe only where a write breaks a rule", async () => {
  const w = await world();
  w.drv.boot();
  w.sim.runUntil(50 * MS);
  w.drv.misbehave("random_mmio", 50);
  w.sim.runUntil(200 * MS);
  assert.ok(w.gvt.failsafeLog.length <= 1);
  assert.equal(w.gvt.invariants.violations.length, 0);
  assert.equal(w.ob.gate.errors.length, 0);
});
