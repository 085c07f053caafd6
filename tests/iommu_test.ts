/**
 * IOMMU domains: DMA addresses that are not host frames. The IOMMU itself, the GPU
 * translating a vGPU's GGTT and PPGTT addresses in its domain, kvm handing out IOVA = GPA
 * (`iommu: "gpa"`) in a whole run, and the isolation checker resolving IOVAs as the GPU does.
 */
import assert from "node:assert/strict";
import { DMA_LIMIT, Iommu, SCRATCH_IOVA } from "../core/hw/iommu.ts";
import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { pteFrame } from "../core/hw/pte.ts";

Deno.test("iommu: passthrough until attached, then exactly the mapped pages; scratch in every domain", () => {
  const io = new Iommu(1000, 0);
  assert.equal(io.translate(1, 0x5123), 0x5123, "passthrough");
  io.attach(1);
  assert.equal(io.translate(1, 0x5123), -1, "attached, nothing mapped: a fault");
  assert.equal(io.faults, 1);
  assert.equal(io.map(1, 0x5000, 77), "ok");
  assert.equal(io.map(1, 0x5000, 77), "ok", "the same frame again is harmless");
  assert.equal(io.map(1, 0x5000, 78), "busy", "another frame is refused");
  assert.equal(io.map(1, SCRATCH_IOVA, 5), "bad_iova", "the scratch page is reserved");
  assert.equal(io.map(1, -4096, 5), "bad_iova");
  assert.equal(io.map(1, 0x6000, 1000), "bad_frame", "outside host memory");
  assert.equal(io.map(0, 0x6000, 5), "bad_iova", "the host's domain is never remapped");
  assert.equal(io.translate(1, 0x5123), 77 * 4096 + 0x123);
  assert.equal(io.translate(2, 0x5123), 0x5123, "another domain is untouched");
  assert.equal(io.translate(1, SCRATCH_IOVA + 8), 8, "scratch (frame 0) in a translating domain");
  assert.equal(io.translate(0, SCRATCH_IOVA + 8), 8, "and in the host's");
  assert.equal(io.translate(1, DMA_LIMIT), -1);
  assert.equal(io.map(1, 0x40_0000_0000, 9), "ok", "a high IOVA (the BAR2 range)");
  assert.deepEqual(io.mappings(1), [[0x5000, 77], [0x40_0000_0000, 9]]);
  assert.equal(io.mapped[1], 2);
  io.unmap(1, 0x5000);
  io.unmap(1, 0x5000);
  assert.equal(io.mapped[1], 1);
  assert.equal(io.resolve(1, 0x5000), -1);
  assert.equal(io.faults, 2, "resolve counts no fault (the second was past the 39 bits)");
  assert.equal(io.reset(1), 1, "reset reports what was left");
  assert.equal(io.translate(1, 0x5123), 0x5123, "passthrough again");
});

const TEXT = (mode: string, hv = "kvm") => `
scenario iova
seed 3
host skylake { invariants on; hypervisor ${hv} { param iommu ${mode} }; scheduler gvt }
vm a { type V5_4; run render }
vm b { type V5_8; run churn }
workload render { every 3ms { rcs batch { draw 20; store 2 }; bcs batch { blit 1 }; wait completion } }
workload churn { every 4ms { map 8 pages; pte_rewrite 16; unmap 8 pages; rcs batch { draw 4; store 1 }; wait completion } }
timeline { at 150ms stop b; at 160ms start b; run 300ms }
`;

async function run(mode: string, hv = "kvm"): Promise<World> {
  const p = parseScenarioText(TEXT(mode), "iova.gvt");
  assert.ok(p.scenario, JSON.stringify(p.diagnostics));
  const w = await World.create(p.scenario, { hypervisor: hv });
  assert.ok(!(w instanceof WorldError), String((w as WorldError).message));
  w.run();
  return w as World;
}

Deno.test("iommu: kvm with IOVA = GPA runs like passthrough; the GPU reaches guest frames through the domains", async () => {
  const pt = await run("passthrough"), io = await run("gpa");
  for (const w of [pt, io]) {
    const r = collectResults(w);
    assert.equal(r.isolation.violations, 0);
    assert.equal(r.hypervisor.errors.length, 0, JSON.stringify(r.hypervisor.errors));
    assert.ok(r.vms.every((v) => v.completed > 10), r.vms.map((v) => v.completed).join(","));
  }
  assert.equal(io.gpu.iommu.faults, 0, "every address the GPU used was mapped");
  const [rp, ri] = [collectResults(pt), collectResults(io)];
  assert.deepEqual(ri.vms.map((v) => v.completed), rp.vms.map((v) => v.completed));
  // a GGTT entry of a vGPU holds the guest-physical address with IOVA = GPA, the host
  // physical one in passthrough
  for (const [w, iova] of [[io, true], [pt, false]] as const) {
    const v = w.vm("a")!.vgpu!, g = v.ggtt, mem = w.vm("a")!.mem!;
    let seen = 0;
    for (let s = 0; s < g.guest.length; s++) {
      if (g.dma[s] < 0) continue;
      const gfn = pteFrame(g.guest[s]);
      const idx = g.indexOf(s);
      const addr = (w.gpu.ggttLo[idx] & 0xfffff000) >>> 0;
      assert.equal(addr, (iova ? gfn : mem.residentMfn(gfn)) * 4096);
      assert.equal(w.gpu.ggttTranslate(idx * 4096), mem.residentMfn(gfn) * 4096);
      assert.equal(w.gpu.ggttDomain[idx], v.id);
      seen++;
    }
    assert.ok(seen > 10);
    assert.equal(w.gpu.iommu.translating[v.id], iova ? 1 : 0);
  }
  // b was stopped and started again: its old domain was reset, the new one is in use
  assert.ok(io.gpu.iommu.mapped[io.vm("b")!.vgpu!.id] > 0);
});

Deno.test("iommu: the isolation checker resolves IOVAs: a domain mapping the wrong frames is caught", async () => {
  const w = await run("gpa", "tests/fixtures/mutants/iova_wrong_frame.ts");
  const r = collectResults(w);
  assert.ok(r.isolation.violations > 0, "the frame after a guest's is often another VM's");
  const kinds = new Set(w.gvt.invariants.violations.map((x) => x.where));
  assert.ok(kinds.has("ggtt") || kinds.has("ppgtt"), [...kinds].join(","));
});
