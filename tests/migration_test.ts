/**
 * Several hosts in one scenario and gMig-style live migration, through `gvtsim run` (a
 * subprocess, as a user runs it): results, summary, trace and report; hashing on and off; the
 * dirty log of kvm and xen and the fallback; a target that cannot take the VM.
 * (tests/hosts_test.ts: the DSL's checks and the pieces underneath.)
 */
import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import type { MigrationResult, Results } from "../core/metrics/results.ts";
import { scenario } from "./migration_util.ts";

const MiB = 1024 * 1024;

async function run(
  text: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string; r?: Results; dir: string }> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/mig.gvt`, json = `${dir}/out.json`;
  await Deno.writeTextFile(file, text);
  const abs = args.map((a) => (/\.(json|html)$/.test(a) ? `${dir}/${a}` : a));
  const p = await gvtsim("run", file, "--json", json, ...abs);
  let r: Results | undefined;
  try {
    r = JSON.parse(await Deno.readTextFile(json));
  } catch { /* no results (invalid input) */ }
  return { ...p, r, dir };
}

function only(r: Results | undefined): MigrationResult {
  assert.ok(r?.migrations, "results have a migrations table");
  assert.equal(r.migrations.length, 1);
  return r.migrations[0];
}

Deno.test("a running VM migrates to another host, keeps running, and its downtime and rounds are reported; hashing resends fewer pages", async () => {
  const on = await run(scenario(), "--trace", "t.json", "--report", "r.html");
  const off = await run(scenario(), "-D", "hashing=off");
  try {
    const { code, out, err, r, dir } = on;
    assert.equal(code, 0, out + err);
    const m = only(r);
    assert.equal(m.outcome, "done");
    assert.equal(m.from, "a");
    assert.equal(m.to, "b");
    assert.ok(m.rounds.length >= 1 && m.rounds[0].pages > 3000, JSON.stringify(m.rounds));
    assert.ok(m.downtimeNs > 0 && m.downtimeNs < 1e9, `${m.downtimeNs}`);
    assert.ok(m.stoppedAt >= m.rounds[m.rounds.length - 1].end);
    assert.equal(m.end, m.stoppedAt + m.downtimeNs);
    assert.equal(m.stalePages, 0, "the target's copy of guest RAM equals the source's");
    assert.ok(m.gpuPages >= 3000, "the texture heap is GPU-reachable");
    assert.ok(m.stateBytes > 2 * MiB, "registers, GGTT entries ... travel");
    assert.ok(m.nativeDirtyLog);
    // the VM now lives on b, next to the victim; neither isolation checker saw anything
    const x = r!.vms.find((v) => v.name === "x")!;
    assert.equal(x.host, "b");
    assert.equal(x.state, "running");
    assert.deepEqual(r!.hosts!.map((h) => [h.name, h.vms, h.violations]), [
      ["a", ["web"], 0],
      ["b", ["x", "victim"], 0],
    ]);
    assert.match(out, /^migration\n/m);
    assert.match(out, /x +a +b +done/);
    assert.match(out, /host b \(skylake, kvm\): vms x victim/);
    // the trace: pre-copy rounds and the stop-and-copy on the VM's "migration" thread
    const ev = JSON.parse(await Deno.readTextFile(`${dir}/t.json`)).traceEvents as {
      name: string;
      ph: string;
      tid: number;
      args?: Record<string, unknown>;
    }[];
    assert.ok(ev.some((e) => e.ph === "X" && e.name === "pre-copy 1"));
    const stop = ev.find((e) => e.ph === "X" && e.name === "stop-and-copy");
    assert.ok(stop && typeof stop.args?.pages === "number");
    assert.ok(
      ev.some((e) =>
        e.name === "thread_name" && e.tid === stop.tid && e.args?.name === "migration"
      ),
    );
    // the HTML report: the migration table and the hosts
    const html = await Deno.readTextFile(`${dir}/r.html`);
    assert.match(html, /<section id="migration"><h2>Migration<\/h2>/);
    assert.match(html, /<td class="l">x<\/td><td class="l">a<\/td><td class="l">b<\/td>/);
    assert.match(html, /<h3>Hosts<\/h3>/);
    // without hashing every GPU-reachable page crosses again while the VM stands still
    assert.equal(off.code, 0, off.out + off.err);
    const b = only(off.r);
    assert.ok(m.hashing && !b.hashing);
    assert.ok(m.gpuHashed > 0 && b.gpuHashed === 0);
    assert.ok(b.gpuResent + b.stopDirtyPages >= b.gpuPages, "without: all of them");
    // with hashing only the render target the GPU rewrites each frame goes again
    assert.ok(m.gpuResent > 0 && m.gpuResent < b.gpuResent / 2, `${m.gpuResent} vs ${b.gpuResent}`);
    assert.ok(m.stopPages < b.stopPages);
    assert.ok(m.downtimeNs < b.downtimeNs, `${m.downtimeNs} vs ${b.downtimeNs}`);
    assert.equal(b.stalePages, 0);
  } finally {
    await Deno.remove(on.dir, { recursive: true });
    await Deno.remove(off.dir, { recursive: true });
  }
});

Deno.test("xen logs dirty pages natively; a backend without the ops falls back to all pages dirty", async () => {
  const xen = await run(scenario(), "--hypervisor", "xen");
  const acrn = await run(scenario(), "--hypervisor", "acrn");
  try {
    assert.equal(xen.code, 0, xen.out + xen.err);
    const mx = only(xen.r);
    assert.equal(mx.outcome, "done");
    assert.ok(mx.nativeDirtyLog);
    assert.equal(mx.stalePages, 0);
    assert.ok(xen.r!.hypervisor.nativeOps.includes("dirtyLogSync"));
    const ma = only(acrn.r);
    assert.equal(ma.outcome, "done", ma.reason);
    assert.equal(ma.nativeDirtyLog, false);
    assert.ok(acrn.r!.hypervisor.fallbackOps.includes("dirtyLogSync"));
    // no log: every resident page counts as dirty at the stop
    assert.ok(ma.stopDirtyPages >= ma.rounds[0].pages, `${ma.stopDirtyPages}`);
    assert.ok(mx.stopDirtyPages < ma.stopDirtyPages / 10);
    assert.equal(ma.stalePages, 0);
  } finally {
    await Deno.remove(xen.dir, { recursive: true });
    await Deno.remove(acrn.dir, { recursive: true });
  }
});

Deno.test("a target without the VM's slices free refuses the migration and the VM runs on where it was", async () => {
  // a second V5_4 on b takes the slices x uses on a; web never migrates
  const text = scenario({
    extraVm: "vm squatter { host b; type V5_4; run game }",
    expects: "expect fps(x) >= 55\nexpect violations() == 0\nexpect downtime(x) < 1s\n" +
      "expect downtime(web) < 1s",
  });
  const { code, out, r, dir } = await run(text);
  try {
    assert.equal(code, 1, out);
    const m = only(r);
    assert.equal(m.outcome, "failed");
    assert.match(m.reason ?? "", /slices .* are not free on this host/);
    assert.equal(r!.vms.find((v) => v.name === "x")!.host, "a");
    assert.deepEqual(r!.expectations.map((e) => e.pass), [true, true, false, false]);
    assert.match(out, /x -> b: cannot create vGPU/);
    assert.match(out, /x completed no live migration/);
    assert.match(out, /web completed no live migration/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workloads queued on the vGPU at the stop move with it and run on the target", async () => {
  // back-to-back batches on two engines: at the stop (seed 1) one is still queued (with three
  // render batches a round this holds for switch costs of 100 to 200 ns per register access)
  const text = `scenario q
host a skylake { hypervisor kvm }
host b skylake { hypervisor kvm }
vm web { host a; type V5_4; run game }
vm x { host a; type V5_4; run busy }
vm victim { host b; type V5_4; run game }
workload game { at 60fps { rcs batch { draw 100; store 4 }; wait completion; flip; wait vblank } }
workload busy {
  loop {
    rcs batch { draw 300; store 2 }
    vcs batch { media 40 }
    rcs batch { draw 300 }
    rcs batch { draw 300 }
    rcs batch { draw 300 }
    wait completion
  }
}
timeline { at 1s migrate x to b; run 2500ms }
expect throughput(x, 1500ms..) > 100
expect violations() == 0
`;
  const { code, out, err, r, dir } = await run(text);
  try {
    assert.equal(code, 0, out + err);
    const m = only(r);
    assert.equal(m.outcome, "done", m.reason);
    assert.ok(m.queuedWorkloads >= 1, `${m.queuedWorkloads}`);
    assert.equal(m.reason, undefined, "every queued workload was re-created on the target");
    assert.equal(m.stalePages, 0);
    const x = r!.vms.find((v) => v.name === "x")!;
    assert.equal(x.state, "running");
    assert.ok(x.completed >= x.submitted - 4, `${x.completed} of ${x.submitted} completed`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
