import assert from "node:assert/strict";
import { runPluginKit, scenarioChecks } from "../cli/conformance_runs.ts";
import { MPT_OP_NAMES } from "../core/mpt/gate.ts";
import { GATED_OPS } from "../core/mpt/ops.ts";

// xen and acrn run the whole kit in their own test files
Deno.test("scenario stage: kvm (host physical and IOVA = GPA) runs the whole system and the life cycle cleanly", async () => {
  for (const iommu of ["passthrough", "gpa"]) {
    const name = `kvm iommu=${iommu}`;
    const calls: Record<string, number> = {};
    const checks = await scenarioChecks("kvm", calls, { iommu });
    assert.equal(checks.length, 15);
    for (const c of checks) assert.ok(c.ok, `${name}: ${c.check}: ${c.reason}`);
    assert.ok(checks.some((c) => c.op === "all ops" && /every op a run can call/.test(c.check)));
    // the runs call every op but the ones the core never calls during a run, and the
    // migration ones (one host: the op-by-op rules check those)
    const never = GATED_OPS.filter((o) => o.called === "never").map((o) => o.name);
    assert.deepEqual(never, ["hostExit", "gfnToMfn", "save", "restore"]);
    const migration = GATED_OPS.filter((o) => o.called === "migration").map((o) => o.name);
    assert.deepEqual(migration, ["dirtyLog", "dirtyLogSync"]);
    for (const op of MPT_OP_NAMES.filter((o) => !never.includes(o) && !migration.includes(o))) {
      assert.ok((calls[op] ?? 0) > 0, `${name}: the runs call ${op}`);
    }
    assert.ok(calls.detachVgpu >= 2, "the stress run stops VMs (detach)");
  }
});

Deno.test("scenario stage: ops the stress run never got to call are named", async () => {
  const checks = await scenarioChecks("tests/fixtures/no_display.ts");
  const c = checks.find((x) => x.op === "all ops");
  assert.ok(c && !c.ok, JSON.stringify(checks, null, 1));
  assert.equal(c.reason, "never called in the stress run: dmaPinGuestPage, putVfioDevice");
});

Deno.test("scenario stage: a restore that loses state in a live world is named", async () => {
  const checks = await scenarioChecks("tests/fixtures/mutants/restore_forgets.ts");
  const c = checks.find((x) => x.op === "restore");
  assert.ok(c && !c.ok, JSON.stringify(checks, null, 1));
  assert.equal(
    c.reason,
    "at 100 ms, restore changed the state: states.1.msiEnabled: true vs false",
  );
});

Deno.test("scenario stage: a broken backend's errors during a run are named", async () => {
  const checks = await scenarioChecks(
    new URL("./fixtures/broken_backend.ts", import.meta.url).pathname,
  );
  const failed = checks.filter((c) => !c.ok);
  assert.ok(failed.some((c) => c.check === "no plugin errors during the run"));
  assert.match(
    failed.find((c) => c.check === "no plugin errors during the run")!.reason,
    /setEdid \(render\): EDID blob not found/,
  );
});

Deno.test("scenario stage: a nondeterministic backend's runs differ, first difference named", async () => {
  const checks = await scenarioChecks("tests/fixtures/mutants/nondeterministic.ts");
  const c = checks.find((x) => x.check === "conformance.gvt: two runs with one seed are identical");
  assert.ok(c && !c.ok, JSON.stringify(checks, null, 1));
  assert.match(c.reason, /^results differ between runs, first at results\.[\w.[\]]+: .+ vs .+/);
});

Deno.test("scenario stage: a backend that cannot be loaded is one failed check", async () => {
  const checks = await scenarioChecks("/nonexistent/backend.ts");
  assert.equal(checks.length, 1);
  assert.equal(checks[0].ok, false);
  assert.match(checks[0].reason, /backend\.ts/);
});

Deno.test("runPluginKit: op-by-op rules and scenario stage in one report, with coverage", async () => {
  const r = await runPluginKit("template");
  assert.equal(r.failed, 0);
  assert.ok(r.checks.some((c) => c.check === "a world can be built on the backend"));
  assert.deepEqual(Object.keys(r.coverage.ops), [...MPT_OP_NAMES]);
});
