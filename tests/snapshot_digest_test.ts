/**
 * The checkpoint's state digest covers the bookkeeping that steers a run (scheduler and
 * dispatcher flags, a vGPU's workloads in flight, the workload runner's and guest driver's
 * state, engine constants): a heap snapshot with one such field changed, and the content digest
 * recomputed as anyone can, is refused by `run --restore`, naming the part. Each of these
 * changes used to restore "digest verified" and give other results (fuzz/digest_coverage.ts).
 */

import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import { encodeSnapshot, type SnapshotFile } from "../core/snapshot.ts";

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
  ["w.vms.0.runner", "done", "vgpus"],
  ["w.vms.1.driver", "msiPending", "vgpus"],
  ["w.gpu.execlists", "contextSwitchNs", "gpu"],
  ["w.gpu.streamers.1", "engine", "gpu"],
];

Deno.test("snapshot: scheduler, vGPU, runner and driver fields altered in a heap checkpoint are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const scenario = `${dir}/gaps.gvt`, ck = `${dir}/ok.ckpt`;
    await Deno.writeTextFile(scenario, SCENARIO);
    const full = await gvtsim("run", "-q", "--json", `${dir}/full.json`, scenario);
    assert.equal(full.code, 0, full.err);
    const saved = await gvtsim(
      "run",
      "-q",
      "--checkpoint-at",
      "12ms",
      "--checkpoint",
      ck,
      scenario,
    );
    assert.equal(saved.code, 0, saved.err);
    const good = JSON.parse(await Deno.readTextFile(ck)) as SnapshotFile;
    assert.ok(good.heap, "a heap snapshot");

    // the untouched checkpoint restores to the uninterrupted run's results
    const ok = await gvtsim("run", "-q", "--restore", ck, "--json", `${dir}/restored.json`);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(
      await Deno.readTextFile(`${dir}/restored.json`),
      await Deno.readTextFile(`${dir}/full.json`),
    );

    for (const [p, field, part] of CASES) {
      const x = structuredClone(good);
      const r = (x.heap!.objects as unknown as HeapRecord[]).find((o) => o.p === p);
      assert.ok(r?.f && Object.hasOwn(r.f, field), `the checkpoint has ${p}.${field}`);
      const v = r.f[field];
      r.f[field] = typeof v === "boolean" ? !v : (v as number) + 1;
      const path = `${dir}/${field}.ckpt`;
      await Deno.writeTextFile(path, encodeSnapshot(x)); // sha256 recomputed
      const res = await gvtsim("run", "-q", "--restore", path);
      assert.equal(res.code, 2, `${p}.${field}: ${res.err}`);
      assert.match(
        res.err,
        new RegExp(
          "^.*: error: checkpoint digest mismatch at 12000000 ns: stored fnv1a64:[0-9a-f]{16}, " +
            `the restored state gives fnv1a64:[0-9a-f]{16} \\(differs in: ${part}\\)\\n$`,
        ),
        `${p}.${field}: ${res.err}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
