/**
 * The checkpoint's state digest covers the bookkeeping that steers a run (scheduler and
 * dispatcher flags, a vGPU's workloads in flight and queued, the workload runner's and guest
 * driver's state, engine constants): a heap snapshot with one such field changed, and the content digest
 * recomputed as anyone can, is refused by `run --restore`, naming the part. Each of these
 * changes used to restore "digest verified" and give other results (fuzz/digest_coverage.ts).
 */

import assert from "node:assert/strict";
import { heapCheckpoint } from "./snapshot_util.ts";

const SCENARIO = `scenario digest_gaps
seed 3
host skylake { engines rcs bcs }
vm a { type V5_4; run w }
vm b { type V5_4; run w }
workload w {
  map 8 pages
  loop { rcs batch { draw 20; store 1 }; bcs batch { blit 2 }; wait completion }
}
timeline { run 30ms }
`;

type HeapRecord = { p: string; f?: Record<string, unknown> };

/** Each case: heap record path, field, the digest part expected to differ. */
const CASES: [string, string, string][] = [
  ["w.gvt.sched", "running", "mediator"],
  ["w.gvt.dispatcher", "kickPending", "mediator"],
  ["w.gvt.sched.policy", "tickNs", "mediator"],
  ["w.vms.0.vgpu", "inFlight", "vgpus"],
  ["w.vms.0.vgpu.queues.1.0", "tail", "vgpus"],
  ["w.gvt.dispatcher.running.0", "ringStart", "mediator"],
  ["w.vms.0.runner", "done", "vgpus"],
  ["w.vms.1.driver", "msiPending", "vgpus"],
  ["w.gpu.execlists", "contextSwitchNs", "gpu"],
  ["w.gpu.streamers.1", "engine", "gpu"],
];

Deno.test("snapshot: scheduler, vGPU, runner and driver fields altered in a heap checkpoint are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { good, restore } = await heapCheckpoint(dir, SCENARIO, "25ms");
    for (const [p, field, part] of CASES) {
      const x = structuredClone(good);
      const r = (x.heap!.objects as unknown as HeapRecord[]).find((o) => o.p === p);
      assert.ok(r?.f && Object.hasOwn(r.f, field), `the checkpoint has ${p}.${field}`);
      const v = r.f[field];
      r.f[field] = typeof v === "boolean" ? !v : (v as number) + 1;
      const res = await restore(x, field);
      assert.equal(res.code, 2, `${p}.${field}: ${res.err}`);
      assert.match(
        res.err,
        new RegExp(
          "^.*: error: checkpoint digest mismatch at 25000000 ns: stored fnv1a64:[0-9a-f]{16}, " +
            `the restored state gives fnv1a64:[0-9a-f]{16} \\(differs in: ${part}\\)\\n$`,
        ),
        `${p}.${field}: ${res.err}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
