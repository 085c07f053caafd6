/** The CLI as a user runs it: a subprocess with the task's permissions; exit codes 0 / 1 / 2. */
import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";

Deno.test("cli: run prints the per-VM table and passing expectations (exit 0)", async () => {
  const r = await gvtsim("run", "scenarios/misbehave.gvt");
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /state/);
  assert.match(r.out, /failsafe/);
  assert.match(r.out, /expectations passed/);
  assert.doesNotMatch(r.err, /at .*\.ts:\d+/, "no stack trace");
});

Deno.test("cli: a failed expectation exits 1 and names its line", async () => {
  const r = await gvtsim(
    "run",
    "scenarios/kvm_vs_xen.gvt",
    "--hypervisor",
    "xen",
    "--until",
    "1s",
    "--fault",
    "guestMmioRead error after 300 calls vm desktop",
  );
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.out, /FAIL scenarios\/kvm_vs_xen_common\.gvt:\d+: expect fps\(desktop\)/);
  assert.match(r.out, /crashed/);
});

Deno.test("cli: DSL errors and bad --fault specs exit 2 with located diagnostics", async () => {
  const r = await gvtsim("run", "scenarios/demo.gvt", "--fault", "dmaMap error vm nobody");
  assert.equal(r.code, 2);
  assert.match(r.err, /\(--fault\):1:24: error: unknown MPT op 'dmaMap'/);
  assert.match(r.err, /unknown vm 'nobody'/);
  assert.match(r.err, /\^~~~~~/);
});

Deno.test("cli: usage errors exit 2; --help and completions work", async () => {
  assert.equal((await gvtsim("run", "scenarios/demo.gvt", "--until", "soon")).code, 2);
  assert.equal((await gvtsim("frobnicate")).code, 2);
  const help = await gvtsim("run", "--help");
  assert.equal(help.code, 0);
  assert.match(help.out, /--checkpoint-at/);
  const comp = await gvtsim("completions", "bash");
  assert.equal(comp.code, 0);
  assert.match(comp.out, /gvtsim/);
});

Deno.test("cli: a plugin that cannot be loaded is named, exit 2", async () => {
  const r = await gvtsim(
    "run",
    "scenarios/demo.gvt",
    "--hypervisor",
    "./tests/fixtures/plugin_missing_op.ts",
    "--until",
    "100ms",
  );
  assert.equal(r.code, 2);
  assert.match(r.err, /plugin_missing_op\.ts/);
  assert.match(r.err, /injectMsi|missing/);
});

Deno.test("cli: types lists instances for the asked apertures", async () => {
  const r = await gvtsim("types", "--aperture", "512MiB", "--aperture", "1GiB");
  assert.equal(r.code, 0);
  const row = r.out.split("\n").find((l) => l.startsWith("i915-GVTg_V5_4"))!;
  assert.deepEqual(row.trim().split(/\s+/).slice(-2), ["3", "5"]);
});

Deno.test("cli: types SCENARIO prints one table per host of a multi-host scenario", async () => {
  const r = await gvtsim("types", "scenarios/migration.gvt");
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.split("\n").filter((l) => l.startsWith("host ")), [
    "host a skylake: GGTT 4GiB, 32 fences, gscale off",
    "host b skylake: GGTT 4GiB, 32 fences, gscale off",
  ]);
  const json = JSON.parse((await gvtsim("types", "scenarios/migration.gvt", "--json")).out);
  assert.deepEqual(
    json.map((t: { host: string; type: string }) => `${t.host}:${t.type}`).slice(3, 5),
    [
      "a:V5_1",
      "b:V5_8",
    ],
  );
});
