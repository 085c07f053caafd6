/**
 * Fault injection from a scenario, end to end: each kind of injected backend fault is
 * contained by the mediator and reported, and the other VMs run on.
 */
import assert from "node:assert/strict";
import { runScenario } from "../cli/run.ts";
import type { Results } from "../core/metrics/results.ts";

async function run(hypervisor: string, faults: string, timeline = ""): Promise<Results> {
  const text = `
scenario faults
host skylake { invariants on; scheduler gvt { startup 0s }
  hypervisor ${hypervisor} {
    ${faults}
  }
}
vm victim { type V5_4; run busy }
vm target { type V5_8; run busy }
workload busy { every 5ms { rcs batch { draw 20; store 2 }; bcs batch { blit 1 }; wait completion; flip } }
timeline { ${timeline} run 600ms }
`;
  const path = await Deno.makeTempFile({ suffix: ".gvt" });
  await Deno.writeTextFile(path, text);
  let log = "";
  const r = await runScenario(path, {
    out: (s) => void (log += s),
    err: (s) => void (log += s),
    progress: false,
  });
  await Deno.remove(path);
  assert.equal(r.code, 0, log);
  return r.results!;
}

const vm = (r: Results, name: string) => r.vms.find((v) => v.name === name)!;

Deno.test("error: a failed DMA map points the GGTT entry at the scratch page; the VM runs on", async () => {
  const r = await run("kvm", "fault dmaMapGuestPage error after 20 calls for 10 calls vm target");
  assert.equal(r.hypervisor.faultsInjected, 10);
  assert.ok(
    (vm(r, "target").counters["ggtt.scratch"] ?? 0) >= 1,
    JSON.stringify(vm(r, "target").counters),
  );
  assert.ok(vm(r, "victim").completed > 50);
  assert.equal(r.isolation.violations, 0);
});

Deno.test("throw: a throwing backend op is reported by plugin, op and VM; the run goes on", async () => {
  const r = await run("kvm", "fault injectMsi throw after 50 calls for 5 calls vm target");
  const errs = r.hypervisor.errors.filter((e) => e.op === "injectMsi");
  assert.equal(errs.length, 5);
  assert.deepEqual([errs[0].plugin, errs[0].vm], ["plugins/kvm.ts (kvm)", "target"]);
  assert.match(errs[0].message, /injectMsi/);
  assert.ok(vm(r, "victim").completed > 50, "the other VM is untouched");
  assert.ok((vm(r, "target").counters["msi.dropped"] ?? 0) >= 5, "the lost interrupts are counted");
});

Deno.test("error on readGpa while creating a workload: the submission fails, no failsafe (scheduler.c intel_vgpu_create_workload: -EINVAL); the other runs on", async () => {
  const r = await run("kvm", "", "at 200ms fault readGpa error vm target;");
  assert.equal(vm(r, "target").state, "running");
  assert.ok((vm(r, "target").counters["scan.violation.context_read"] ?? 0) >= 1);
  assert.equal(vm(r, "victim").state, "running");
  assert.ok(vm(r, "victim").completed > 50);
});

Deno.test("delay: a slow op makes the VM slower, not wrong", async () => {
  const base = await run("kvm", "");
  const slow = await run("kvm", "fault guestMmioWrite delay 50us vm target");
  const writes = vm(slow, "target").counters["hv.calls.guestMmioWrite"];
  const extra = vm(slow, "target").counters["guest.trap_time_ns"] -
    vm(base, "target").counters["guest.trap_time_ns"];
  assert.ok(extra >= writes * 50_000 * 0.9, `${extra} ns extra for ${writes} writes`);
  assert.equal(slow.hypervisor.faultsInjected, writes);
  assert.equal(vm(slow, "target").state, "running");
  assert.equal(slow.isolation.violations, 0);
});

Deno.test("xen: an emulation error on the trap path crashes that domain only", async () => {
  const r = await run("xen", "", "at 200ms fault guestMmioRead error vm target;");
  assert.equal(vm(r, "target").state, "crashed");
  assert.equal(vm(r, "victim").state, "running");
  assert.ok((r.hypervisor.counters["domain_crashed"] ?? 0) === 1);
  assert.ok(vm(r, "victim").completed > 50);
});
