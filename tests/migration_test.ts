/**
 * Several hosts in one scenario and gMig-style live migration, through `gvtsim run` (a
 * subprocess, as a user runs it): results, summary, trace and report; hashing on and off; the
 * dirty log of kvm and xen and the fallback. (tests/migration_edge_test.ts: failures and edges;
 * tests/hosts_test.ts: the DSL's checks and the pieces underneath.)
 */
import assert from "node:assert/strict";
import { only, run, scenario } from "./migration_util.ts";

const MiB = 1024 * 1024;

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
