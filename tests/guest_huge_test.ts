/**
 * 2 MiB guest pages: `map N huge pages` writes page-directory entries with the PS bit, the
 * mediator maps each with one 2 MiB `dmaMapGuestPage` or splits it into 512 4 KiB mappings
 * (upstream gtt.c), and the GPU's page walk reaches exactly the guest's 512 frames either way:
 * split under kvm passthrough (the host frames behind a guest 2 MiB page are scattered), whole
 * under kvm with IOVA = GPA (the IOMMU maps the 512 pages wherever they are).
 */
import assert from "node:assert/strict";
import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { CommandStreamer, PPGTT_L4, StreamerStats } from "../core/hw/streamer.ts";

const TEXT = (iommu: string) => `
scenario huge
seed 5
host skylake { invariants on; hypervisor kvm { param iommu ${iommu} }; scheduler gvt }
vm a { type V5_4; run mapper }
vm b { type V5_8; run mapper }
workload mapper {
  repeat 3 { map 2 huge pages; rcs batch { draw 4; store 1 }; wait completion; unmap 1 huge pages }
  loop { map 4 pages; rcs batch { draw 4; store 1 }; wait completion; unmap 4 pages; think 1ms }
}
timeline { run 80ms }
`;

Deno.test("dsl: map N huge pages / unmap N huge pages", () => {
  const p = parseScenarioText(TEXT("passthrough"), "huge.gvt");
  assert.ok(p.scenario, JSON.stringify(p.diagnostics));
  const steps = JSON.stringify(p.scenario.workloads.mapper);
  assert.match(steps, /"op":"map","pages":\{[^}]*\},"huge":true/);
  assert.match(steps, /"op":"unmap","pages":\{[^}]*\},"huge":true/);
  assert.match(steps, /"op":"map","pages":\{[^}]*\},"loc"/, "a plain map has no huge flag");
  const bad = parseScenarioText(
    TEXT("passthrough").replace("map 2 huge pages", "map 4096 huge pages"),
    "huge.gvt",
  );
  assert.match(bad.diagnostics.map((d) => d.message).join("\n"), /map huge page count/);
});

async function run(iommu: string): Promise<World> {
  const p = parseScenarioText(TEXT(iommu), "huge.gvt");
  assert.ok(p.scenario, JSON.stringify(p.diagnostics));
  const w = await World.create(p.scenario);
  assert.ok(!(w instanceof WorldError), String((w as WorldError).message));
  w.run();
  return w as World;
}

/** Checks that the GPU's walk of vm's shadow PPGTT reaches each huge page's guest frames. */
function walkHugePages(w: World, vm: string): number {
  const v = w.vm(vm)!.vgpu!, mem = w.vm(vm)!.mem!, drv = w.vm(vm)!.driver!;
  const mm = v.ppgtt!.mms.find((m) => m.shadowed);
  assert.ok(mm, "the guest's PPGTT is shadowed");
  const s = new CommandStreamer(w.gpu, 0, new StreamerStats(), w.gpu.commandCosts, 1);
  s.ppgtt = PPGTT_L4;
  s.roots[0] = w.gvt.ppgtt.rootAddress(mm, 0);
  s.domain = v.id; // as the GPU runs the vGPU's shadow context
  const huge = drv.hugeMappings();
  assert.equal(huge.length, 3, "3 x (2 mapped, 1 unmapped)");
  for (const [va, gfn] of huge) {
    assert.equal(gfn % 512, 0, "a 2 MiB guest page is 512 aligned frames");
    for (const k of [0, 1, 200, 511]) {
      assert.equal(s.ppgttTranslate(va + k * 4096 + 0x18), mem.residentMfn(gfn + k) * 4096 + 0x18);
    }
  }
  return huge.length;
}

Deno.test("huge pages: split under kvm passthrough, mapped whole with IOVA = GPA; the GPU reaches the guest's frames", async () => {
  for (const [iommu, whole] of [["passthrough", false], ["gpa", true]] as const) {
    const w = await run(iommu);
    const r = collectResults(w);
    assert.equal(r.isolation.violations, 0, iommu);
    assert.equal(r.hypervisor.errors.length, 0, JSON.stringify(r.hypervisor.errors));
    for (const vm of r.vms) {
      assert.equal(vm.counters["guest.huge_pages_mapped"], 6, JSON.stringify(vm.counters));
      assert.equal(vm.counters["guest.huge_pages_unmapped"], 3);
      const [w2, s2] = [vm.counters["ppgtt.huge_whole"], vm.counters["ppgtt.huge_split"]];
      assert.deepEqual([w2 > 0, s2 > 0], [whole, !whole], `${iommu}: whole ${w2}, split ${s2}`);
      assert.ok(vm.completed > 3);
    }
    const c = r.hypervisor.counters;
    const refused = (c["dma_map_not_contiguous"] ?? 0) + (c["dma_map_not_aligned"] ?? 0);
    assert.equal(refused > 0, !whole, `${iommu}: ${JSON.stringify(c)}`);
    for (const vm of ["a", "b"]) walkHugePages(w, vm);
    assert.equal(w.gpu.iommu.faults, 0);
  }
});
