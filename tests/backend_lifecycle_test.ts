/**
 * The life cycle a backend drives through GvtOps, as kvmgt and xengt do through
 * `intel_gvt_ops`: vGPU create/destroy (xen's `on_crash` toolstack policy), and the display
 * path (kvm's console: plane query, dma-buf export with pinned framebuffer pages, VFIO device
 * references), tested through the built-in plugins in whole runs.
 */
import assert from "node:assert/strict";
import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { MPT_EBUSY, MPT_EINVAL, MPT_ENOSPC } from "../core/mpt/types.ts";
import { unpackNumbers } from "../core/mpt/saved_state.ts";

async function world(text: string): Promise<World> {
  const p = parseScenarioText(text, "lifecycle.gvt");
  assert.ok(p.scenario, JSON.stringify(p.diagnostics));
  const w = await World.create(p.scenario);
  assert.ok(!(w instanceof WorldError), String((w as WorldError).message));
  return w as World;
}

const CRASH = (onCrash: string) => `
scenario crash
host skylake { invariants on; hypervisor xen { param on_crash ${onCrash}; param crash_teardown 30ms }; scheduler gvt }
vm a { type V5_4; run busy }
vm b { type V5_8; run busy }
workload busy { every 5ms { rcs batch { draw 8; store 1 }; wait completion } }
timeline { at 100ms fault guestMmioRead error for 1 calls vm b; run 400ms }
`;

Deno.test("xen on_crash: preserve keeps the domain crashed, destroy stops it, restart boots it again with a new vGPU", async () => {
  const out: Record<string, { state: string; c: Record<string, number>; done: number }> = {};
  for (const policy of ["preserve", "destroy", "restart"]) {
    const w = await world(CRASH(policy));
    w.run(99e6);
    const before = w.vm("b")!.driver!.metrics.completed[0];
    w.run();
    const r = collectResults(w);
    assert.equal(r.isolation.violations, 0);
    assert.equal(w.stateOf(w.vm("a")!), "running", "the other VM runs on");
    const b = w.vm("b")!;
    out[policy] = {
      state: w.stateOf(b),
      c: r.hypervisor.counters,
      done: b.driver!.metrics.completed[0] - before,
    };
  }
  assert.equal(out.preserve.state, "crashed");
  assert.equal(out.preserve.c["domain_destroyed"] ?? 0, 0);
  assert.equal(out.destroy.state, "stopped");
  assert.equal(out.destroy.c["domain_destroyed"], 1);
  assert.equal(out.restart.state, "running");
  assert.equal(out.restart.c["domain_restarted"], 1);
  assert.ok(
    out.restart.done > out.destroy.done + 10,
    `the restarted guest works again (${out.restart.done} vs ${out.destroy.done} batches)`,
  );
});

Deno.test("GvtOps.vgpuCreate / vgpuDestroy: the errors, and a VM created and destroyed by the backend", async () => {
  const w = await world(`
scenario ops
host skylake { hypervisor kvm; scheduler gvt }
vm a { type V5_4; run busy }
vm b { type V5_8; run busy }
workload busy { every 5ms { rcs batch { draw 8; store 1 }; wait completion } }
timeline { at 199ms start b; run 200ms }
`);
  w.run(20e6);
  const g = w.gvt;
  assert.equal(g.vgpuCreate("nope", "V5_8"), MPT_EINVAL, "unknown VM");
  assert.equal(g.vgpuCreate("b", "V9_9"), MPT_EINVAL, "unknown type");
  assert.equal(g.vgpuCreate("a", "V5_8"), MPT_EBUSY, "a runs with a vGPU");
  assert.equal(g.vgpuDestroy(6), MPT_EINVAL, "no such vGPU");
  const id = g.vgpuCreate("b", "V5_4"); // as a toolstack creating b's domain early
  assert.ok(id > 0, String(id));
  assert.equal(w.vm("b")!.vgpu!.type.name, "V5_4", "the toolstack's type");
  assert.equal(g.gate.infoOf(id)!.type, "V5_4", "attachVgpu was told the type");
  w.run(120e6);
  assert.ok(w.vm("b")!.driver!.metrics.completed[0] > 5);
  assert.equal(g.vgpuDestroy(id), 0);
  assert.equal(w.stateOf(w.vm("b")!), "stopped");
  assert.equal(g.gate.isAttached(id), false, "detached");
  assert.equal(g.vgpuCreate("b", "V5_1"), MPT_ENOSPC, "a V5_1 needs the whole GPU, a holds part");
  assert.equal(w.vm("b")!.state, "rejected");
  let last = 0;
  for (let i = 0; i < 8 && last >= 0; i++) {
    last = g.vgpuCreate("b", "V5_8");
    if (last > 0) g.vgpuDestroy(last);
  }
  assert.ok(last > 0, "create/destroy cycles free what they take");
  w.run();
  assert.equal(collectResults(w).hypervisor.errors.length, 0);
});

const DISPLAY = `
scenario console
host skylake { invariants on; hypervisor kvm { param display 25ms }; scheduler gvt }
vm game { type V5_4; run game }
workload game { at 60fps { rcs batch { draw 20; store 1 }; wait completion; flip; wait vblank } }
timeline { run 400ms }
`;

Deno.test("kvm display: plane queries export dma-bufs that pin the framebuffer; closing and destroying release pins and VFIO references", async () => {
  const w = await world(DISPLAY);
  w.run();
  const g = w.gate, v = w.vm("game")!.vgpu!;
  const c = collectResults(w).hypervisor.counters;
  assert.ok(c["dmabuf_exported"] >= 2 && c["dmabuf_closed"] >= 1, JSON.stringify(c));
  assert.ok(v.counters.dmabufObjects >= 2, "both framebuffers were shown");
  const live = [...v.dmabufs.exports.values()];
  assert.equal(live.length, 1, "the console keeps only the buffer it shows");
  const fbPages = Math.ceil((v.type.width * v.type.height * 4) / 4096);
  assert.equal(live[0].pinned.length, fbPages);
  // each shown page is referenced by its GGTT entry and by the export's pin
  // kvm's saved DMA cache: (gfn, dma, size, ref) per mapping, packed
  const rows = unpackNumbers(g.save(v.id) as Record<string, unknown>, "byGfn", 4);
  const refs = new Map<number, number>();
  for (let i = 0; i < rows.length; i += 4) refs.set(rows[i + 1], rows[i + 3]);
  assert.ok(live[0].pinned.every((dma) => (refs.get(dma) ?? 0) >= 2));
  assert.ok(g.opCount("dmaPinGuestPage") >= fbPages * 2);
  assert.ok(g.opCount("getVfioDevice") > g.opCount("putVfioDevice"), "an object is alive");
  w.stopVm(w.vm("game")!);
  assert.equal(g.opCount("getVfioDevice"), g.opCount("putVfioDevice"), "all references put");
  assert.equal(
    g.opCount("dmaPinGuestPage") + g.opCount("dmaMapGuestPage"),
    g.opCount("dmaUnmapGuestPage"),
  );
  assert.equal(collectResults(w).hypervisor.errors.length, 0);
});

Deno.test("OpRegion: xen maps its host pages at the guest's ASLS address (fromVirtToMfn + mapGfnToMfn); kvm exposes it otherwise", async () => {
  for (const hv of ["xen", "kvm"]) {
    const w = await world(
      DISPLAY.replace("hypervisor kvm { param display 25ms }", `hypervisor ${hv}`),
    );
    w.run(50e6);
    const v = w.vm("game")!.vgpu!;
    // xen: one per page; kvm: the first answer is -1 (no such mapping: a VFIO region instead)
    assert.equal(w.gate.opCount("fromVirtToMfn"), hv === "xen" ? 2 : 1, hv);
    assert.equal(v.vcfg[0xfd], 0xe0, "the guest's firmware wrote ASLS = 0xfe000");
    assert.equal(v.opregion.gfn, hv === "xen" ? 0xfe : -1);
    const mem = w.gpu.memory;
    assert.equal(mem.ownerOf(v.opregion.mfns[0]), v.owner);
    assert.equal(mem.read32(v.opregion.mfns[0] * 4096), 0x65746e49, "'Inte': the signature");
    const frames = mem.allocated;
    w.stopVm(w.vm("game")!);
    assert.equal(v.opregion.gfn, -1, "unmapped with the vGPU");
    assert.ok(mem.allocated < frames - 1, "pages freed");
  }
});
