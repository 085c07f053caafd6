/**
 * The backend drives the vGPU's life cycle (GvtOps.vgpuReset on a guest FLR, vgpuDeactivate
 * when a domain crashes), attach and detach take simulated time, and hypervisor parameters no
 * backend reads are reported.
 */
import assert from "node:assert/strict";
import { parseScenarioText } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import { MS } from "../core/sim/sim.ts";
import { compareHypervisors } from "../cli/compare.ts";
import { fault, rig } from "./fixtures/mpt_setup.ts";

const FLR = `
scenario flr
seed 3
host skylake { aperture 512MiB; hypervisor kvm; scheduler gvt { startup 0s } }
vm evil { type V5_8; run w }
workload w { loop { rcs batch { draw 4 }; wait completion } }
timeline { at 20ms misbehave evil ring_garbage; at 40ms reset evil; run 80ms }
`;

async function world(text: string, hypervisor?: string): Promise<World> {
  const p = parseScenarioText(text, "t.gvt");
  assert.ok(p.scenario, JSON.stringify(p.diagnostics));
  const w = await World.create(p.scenario, { hypervisor });
  assert.ok(w instanceof World, String(w));
  return w;
}

for (const hv of ["kvm", "xen", "acrn", "template"]) {
  Deno.test(`life cycle (${hv}): the guest's FLR reaches the mediator through the backend`, async () => {
    const w = await world(FLR, hv);
    w.run(39 * MS);
    const v = w.vm("evil")!.vgpu!;
    assert.equal(v.failsafe, true, "the misbehaving guest is in failsafe before its reset");
    w.run(80 * MS);
    assert.equal(v.counters.resetsDmlr, 1, "one device-model-level reset");
    assert.equal(v.failsafe, false, "the FLR cleared failsafe");
    assert.equal(w.stateOf(w.vm("evil")!), "running");
  });
}

Deno.test("life cycle: a backend that drops the guest's FLR leaves the vGPU unreset", async () => {
  const w = await world(FLR, "tests/fixtures/mutants/flr_ignored.ts");
  w.run(80 * MS);
  const v = w.vm("evil")!.vgpu!;
  assert.equal(v.counters.resetsDmlr, 0);
  assert.equal(v.failsafe, true);
});

Deno.test("life cycle: xen deactivates the vGPU of a domain it crashed", async () => {
  const r = await rig("xen", 2, {
    faults: [fault({ op: "guestMmioRead", action: "error", vm: "vm1" })],
  });
  r.gate.setTrapArea(1, 0xf000_0000, 0xf100_0000, true);
  r.gate.guestMmioRead(1, 0xf000_0000 + 0x2000, 4);
  assert.deepEqual(r.gvt.lifecycle, [["vgpuDeactivate", 1]]);
});

const ATTACH = (cost: string) => `
scenario attach
seed 5
host skylake { aperture 512MiB; hypervisor kvm { ${cost} }; scheduler gvt }
vm a { type V5_8; run w }
vm b { type V5_8; run w }
workload w { every 2ms { rcs batch { draw 4 }; wait completion } }
timeline { run 100ms }
`;

Deno.test("attach takes simulated time: guests start after their (serialised) attach", async () => {
  const fast = await world(ATTACH("mdev_open 50us"));
  const slow = await world(ATTACH("mdev_open 30ms"));
  for (const w of [fast, slow]) w.run(45 * MS);
  const done = (w: World, vm: string) => w.vm(vm)!.vgpu!.counters.workloadsCompleted;
  assert.ok(done(fast, "a") > 0 && done(fast, "b") > 0);
  assert.ok(done(slow, "a") > 0, "a starts at 30 ms");
  assert.equal(done(slow, "b"), 0, "b's attach waits for a's: it starts at 60 ms");
  assert.ok(slow.mgmtFreeAt >= 60 * MS && slow.mgmtFreeAt < 61 * MS, `${slow.mgmtFreeAt}`);
  slow.run(100 * MS);
  assert.ok(done(slow, "b") > 0, "b runs once attached");
});

Deno.test("compare warns about hypervisor parameters a backend never reads", async () => {
  const errs: string[] = [];
  const code = await compareHypervisors("scenarios/demo.gvt", ["kvm", "xen"], {
    until: 20 * MS,
    out: () => {},
    err: (s) => void errs.push(s),
  });
  assert.equal(code, 0, errs.join(""));
  const text = errs.join("");
  assert.match(
    text,
    /scenarios\/demo\.gvt: warning: hypervisor parameter 'mmio_exit' is not read by backend plugins\/xen\.ts \(xen\): a typo, or a parameter of another backend/,
  );
  assert.doesNotMatch(text, /backend plugins\/kvm\.ts/, "kvm reads mmio_exit");
});
