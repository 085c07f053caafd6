/**
 * The checkpoint's state digest covers the IOMMU: a heap snapshot whose IOMMU was edited (a
 * vGPU given a DMA mapping it never had, its domain switched to passthrough, or the IOMMU
 * claiming more domains than it has tables for), with
 * the content digest recomputed as anyone can, is refused by `run --restore`, naming the part.
 */

import assert from "node:assert/strict";
import type { SnapshotFile } from "../core/snapshot.ts";
import { heapCheckpoint } from "./snapshot_util.ts";

/** kvm with `iommu "gpa"`: the vGPU's domain translates, and the guest's pages are mapped. */
const SCENARIO = `scenario iommu_digest
seed 5
host skylake {
  engines rcs bcs
  hypervisor kvm { param iommu "gpa" }
}
vm a { type V5_4; run w }
workload w {
  map 16 pages
  loop { rcs batch { draw 10; store 1 }; bcs batch { blit 2 }; wait completion }
}
timeline { run 40ms }
`;

type Segment = [number, ...(number | string)[]];
type HeapRecord = { p: string; d?: Segment[]; f?: Record<string, unknown> };

/** The heap record at path `p`. */
function record(x: SnapshotFile, p: string): HeapRecord {
  const r = (x.heap!.objects as unknown as HeapRecord[]).find((o) => o.p === p);
  assert.ok(r, `the checkpoint has a heap record ${p}`);
  return r;
}

/** Rewrites the bytes of a buffer record's first base64 segment. */
function editBytes(r: HeapRecord, f: (b: Uint8Array) => void): void {
  const seg = r.d!.find((s) => typeof s[1] === "string")!;
  const bytes = Uint8Array.from(atob(seg[1] as string), (c) => c.charCodeAt(0));
  f(bytes);
  seg[1] = btoa(String.fromCharCode(...bytes));
}

Deno.test("snapshot: an IOMMU altered in a heap checkpoint (content digest fixed up) is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { good, restore } = await heapCheckpoint(dir, SCENARIO, "20ms");
    assert.ok(good.parts.iommu, "the digest has an iommu part");

    const cases: [string, (x: SnapshotFile) => void][] = [
      [
        // an unmapped IOVA page of vGPU 1 now reaches host frame 7 (the host's, not the guest's)
        "mapping",
        (x) =>
          editBytes(record(x, "w.gpu.iommu.dirs.1.0.buffer"), (b) => {
            const v = new DataView(b.buffer);
            assert.equal(v.getInt32(0, true), -1, "that IOVA page is not mapped");
            v.setInt32(0, 7, true);
          }),
      ],
      [
        // vGPU 1's domain no longer translates: its device addresses reach host frames directly
        "passthrough",
        (x) =>
          editBytes(record(x, "w.gpu.iommu.translating.buffer"), (b) => {
            assert.equal(b[1], 1, "domain 1 translates");
            b[1] = 0;
          }),
      ],
      [
        // one domain more than the IOMMU holds tables for
        "domains",
        (x) => {
          const io = record(x, "w.gpu.iommu") as unknown as { f: { domains: number } };
          io.f.domains += 1;
        },
      ],
    ];
    for (const [name, edit] of cases) {
      const x = structuredClone(good);
      edit(x);
      const r = await restore(x, name); // sha256 recomputed
      assert.equal(r.code, 2, `${name}: ${r.err}`);
      assert.match(
        r.err,
        /^.*: error: checkpoint digest mismatch at 20000000 ns: stored fnv1a64:[0-9a-f]{16}, the restored state gives fnv1a64:[0-9a-f]{16} \(differs in: iommu\)\n$/,
        `${name}: ${r.err}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
