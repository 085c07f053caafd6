/**
 * gScale mode through the CLI: 15 guests render on a 2 GiB GGTT / 512 MiB aperture with
 * `gscale on` and no isolation violation, where upstream partitioning refuses the fourth.
 */
import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";

const SCENARIO = "scenarios/gscale15.gvt";

Deno.test("gscale CLI: 15 guests render on a 2 GiB GGTT / 512 MiB aperture, 0 violations", async () => {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const r = await gvtsim("run", SCENARIO, "--until", "2.5s", "--json", json);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /isolation: 0 violations/);
    assert.match(r.out, /gscale: [1-9]\d* GTT slot loads, [1-9]\d* entries copied/);
    const res = JSON.parse(await Deno.readTextFile(json));
    assert.equal(res.vms.length, 15);
    for (const vm of res.vms) {
      assert.equal(vm.state, "running", vm.name);
      assert.ok(vm.frames > 0 && vm.fps >= 25, `${vm.name} renders (${vm.fps} fps)`);
      assert.ok(vm.vgpuId >= 1 && vm.vgpuId <= 15);
    }
    assert.deepEqual(res.isolation, { checked: true, violations: 0 });
    assert.ok(res.counters["invariant.checks"] > 0, "the checker ran");
    assert.ok(res.counters["gscale.copies"] > 0, "switches copied private GTTs in");
    const slotUsers = res.vms.map((v: { counters: Record<string, number> }) =>
      v.counters["gscale.slot_users"]
    );
    assert.ok(slotUsers.every((n: number) => n === 5), "3 hidden slots of 5 guests each");
  } finally {
    await Deno.remove(json);
  }
});

Deno.test("gscale CLI: off, the same host fits three and names the fourth (exit 2)", async () => {
  const r = await gvtsim("check", SCENARIO, "-D", "GSCALE=off");
  assert.equal(r.code, 2);
  assert.match(r.err + r.out, /vm 'guest4' does not fit/);
  assert.match(r.err + r.out, /V5_8: 3/);
  const three = await gvtsim("check", SCENARIO, "-D", "GSCALE=off", "-D", "N=3");
  assert.equal(three.code, 0, three.err);
});

Deno.test("gscale CLI: a bad value is a located error listing on|off", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/bad.gvt`;
    await Deno.writeTextFile(
      f,
      "host skylake { gscale maybe }\nvm a { type V5_8; run w }\n" +
        "workload w { rcs batch { draw 1 } }\n",
    );
    const r = await gvtsim("check", f);
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.gvt:1:\d+: error: .*on.*off/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gscale CLI: a checkpoint of a gScale world restores to the same results", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const common = ["-D", "N=4", "--until", "2.6s", "-q"];
    const a = await gvtsim(
      "run",
      SCENARIO,
      ...common,
      "--checkpoint-at",
      "2.3s",
      "--checkpoint",
      `${dir}/c.ckpt`,
      "--json",
      `${dir}/a.json`,
      "--trace",
      `${dir}/t.json`,
    );
    assert.equal(a.code, 0, a.err);
    const copies = JSON.parse(await Deno.readTextFile(`${dir}/t.json`)).traceEvents.filter(
      (e: { name: string }) => e.name === "gscale copy",
    );
    assert.ok(copies.length > 0 && copies[0].args.entries > 0, "copies are in the trace");
    const b = await gvtsim(
      "run",
      "--restore",
      `${dir}/c.ckpt`,
      "--until",
      "2.6s",
      "--json",
      `${dir}/b.json`,
      "-q",
    );
    assert.equal(b.code, 0, b.err);
    const ra = JSON.parse(await Deno.readTextFile(`${dir}/a.json`));
    const rb = JSON.parse(await Deno.readTextFile(`${dir}/b.json`));
    assert.ok(ra.counters["gscale.copies"] > 0);
    assert.deepEqual(rb.counters, ra.counters);
    assert.deepEqual(rb.vms, ra.vms);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gscale CLI: types SCENARIO counts the scenario's host, in gScale mode or not", async () => {
  const avail = (out: string, type: string) =>
    out.split("\n").find((l) => l.startsWith(`i915-GVTg_${type} `))?.trim().split(/\s+/).at(-1);
  const on = await gvtsim("types", SCENARIO);
  assert.equal(on.code, 0, on.err);
  assert.match(on.out, /^host skylake: GGTT 2GiB, 32 fences, gscale on$/m);
  assert.equal(avail(on.out, "V5_8"), "4095"); // only vGPU ids limit shared slices
  assert.equal(avail(on.out, "V5_1"), "0"); // 512 MiB aperture > 512 - 128 kept - 32 pool
  const off = await gvtsim("types", SCENARIO, "-D", "GSCALE=off", "-D", "N=3");
  assert.equal(off.code, 0, off.err);
  assert.match(off.out, /gscale off/);
  assert.deepEqual(["V5_8", "V5_4", "V5_2"].map((t) => avail(off.out, t)), ["3", "2", "1"]);
  const json = await gvtsim("types", SCENARIO, "--json", "--aperture", "1GiB");
  const v58 = JSON.parse(json.out).find((t: { type: string }) => t.type === "V5_8");
  assert.equal(v58.gscale, true);
  assert.deepEqual(v58.available, { [String(1024 ** 3)]: 4095 });
  const bad = await gvtsim("types", SCENARIO, "-D", "GSCALE=off"); // 15 guests do not fit
  assert.equal(bad.code, 2);
  assert.match(bad.err, /vm 'guest4' does not fit/);
});
