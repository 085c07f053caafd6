/**
 * The conformance kit against backends with the mistakes porting engineers make: each mutant
 * (tests/fixtures/mutants/) is plugins/template.ts, which passes the kit, with one mistake
 * (the iova_* ones: kvm in IOVA mode, which passes too, with one mistake in how it programs
 * the IOMMU), and the kit must reject it naming the op and the broken rule.
 */
import assert from "node:assert/strict";
import {
  type ConformanceReport,
  formatConformance,
  runConformance,
} from "../core/mpt/conformance.ts";

const MUTANTS: [string, string, RegExp, RegExp][] = [
  [
    "outlives_detach",
    "detachVgpu",
    /^nothing of the handle outlives detach/,
    /^after detachVgpu\(h\), dmaPinGuestPage\(h, 0x[0-9a-f]+\) = 0: the mapping of gfn 40 outlived detach/,
  ],
  [
    "shared_state",
    "attachVgpu",
    /^two vGPUs at once share no state$/,
    /^a write by vGPU 2 to its own gfn 60 trapped because vGPU 1 tracks its gfn 60 \(page tracking shared between vGPUs\)$/,
  ],
  [
    "huge_scattered",
    "dmaMapGuestPage",
    /^2 MiB: the device reaches exactly the guest's 512 frames/,
    /^dmaMapGuestPage\(gfn 1024, 2 MiB\) over scattered frames = 0x[0-9a-f]+: page 0 of the mapping reaches host frame \d+ .*the device would DMA into/,
  ],
  [
    "bar0_straddle",
    "guestMmioRead",
    /^accesses straddling the ends of BAR0 or config space never reach the core out of range$/,
    /^an access straddling BAR0's end reached the core at offset 0xfffffe, 4 bytes, past BAR0's 16 MiB/,
  ],
  [
    "cfg_width",
    "injectMsi",
    /^follows every enable\/disable transition, whatever the config write width$/,
    /^after the guest enabled MSI with a 1-byte config write, injectMsi returned false and 0 MSIs arrived/,
  ],
  [
    "trap_throws",
    "guestMmioRead",
    /^the trap path never throws/,
    /exceptions on the trap path .*first: guestMmioRead: RangeError: unaligned/,
  ],
  [
    "restore_forgets",
    "restore",
    /^save -> restore into a fresh backend -> save gives the same state, field by field$/,
    /^restore lost part of the state: state\.msiEnabled: true vs false/,
  ],
  [
    "cost_units",
    "costs",
    /^costs in ns: no trap or attach cheaper than a plausible floor/,
    /^a trapped 4-byte BAR0 read costs 4 ns in total; it takes at least 500 ns/,
  ],
  [
    "flr_ignored",
    "guestMmioWrite",
    /^a guest FLR \(AF control write of any width\) resets the vGPU once/,
    /^a 1-byte config write setting the FLR bit \(AF control at 0xd4\) gave 0 vgpuReset calls, expected 1/,
  ],
  [
    "iova_stale",
    "dmaUnmapGuestPage",
    /^map\/pin\/unmap balance/,
    /^after every map and pin of gfn 120 \(4 KiB\) was unmapped, device address 0x78000 still reaches host frame \d+ \(owner 1\) through vGPU 1's IOMMU domain: a stale IOMMU mapping/,
  ],
  [
    "iova_wrong_frame",
    "dmaMapGuestPage",
    /^4 KiB: stable address per gfn, distinct per gfn, the VM's own frame$/,
    /^DMA address 0x64000 of gfn 100 reaches host frame \d+ \(owner \d+\), not the frame backing gfn 100/,
  ],
  [
    "nondeterministic",
    "all ops",
    /^deterministic: the same calls give the same results, costs and MSI times$/,
    /^two runs of the same \d+ calls differ at call \d+: guestMmioRead\(0\) = 0 \(\d+ ns at 0\) vs guestMmioRead\(0\) = 0 \(\d+ ns at 0\)/,
  ],
];

const describe = (r: ConformanceReport) => formatConformance(r);

Deno.test("mutants: the template and kvm in IOVA mode they are made from pass the kit", async () => {
  const r = await runConformance("template");
  assert.equal(r.failed, 0, describe(r));
  const k = await runConformance("kvm", { params: { iommu: "gpa" } });
  assert.equal(k.failed, 0, describe(k));
  assert.ok(k.coverage.paths.includes("iommu translated"), k.coverage.paths.join(", "));
});

for (const [name, op, rule, reason] of MUTANTS) {
  Deno.test(`mutants: ${name} is rejected by rule "${op}: ${rule.source}"`, async () => {
    const r = await runConformance(`tests/fixtures/mutants/${name}.ts`);
    assert.equal(r.loaded, true, r.loadError);
    const hit = r.checks.find((c) => !c.ok && c.op === op && rule.test(c.check));
    assert.ok(hit, `${name}: no failure of ${op} / ${rule}:\n${describe(r)}`);
    assert.match(hit.reason, reason);
    assert.match(describe(r), new RegExp(`^${op.replace(/ /g, " ")} +.* FAIL +`, "m"));
  });
}
