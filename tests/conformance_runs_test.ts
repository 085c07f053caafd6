import assert from "node:assert/strict";
import { scenarioChecks } from "../cli/conformance_runs.ts";

Deno.test("scenario stage: the built-in backends run the whole system cleanly", async () => {
  for (const name of ["kvm", "xen", "acrn"]) {
    const checks = await scenarioChecks(name);
    assert.equal(checks.length, 8);
    for (const c of checks) assert.ok(c.ok, `${name}: ${c.check}: ${c.reason}`);
  }
});

Deno.test("scenario stage: a broken backend's errors during a run are named", async () => {
  const checks = await scenarioChecks(
    new URL("./fixtures/broken_backend.ts", import.meta.url).pathname,
  );
  const failed = checks.filter((c) => !c.ok);
  assert.deepEqual(failed.map((c) => c.check), ["no plugin errors during the run"]);
  assert.match(failed[0].reason, /setEdid \(render\): EDID blob not found/);
});

Deno.test("scenario stage: a backend that cannot be loaded is one failed check", async () => {
  const checks = await scenarioChecks("/nonexistent/backend.ts");
  assert.equal(checks.length, 1);
  assert.equal(checks[0].ok, false);
  assert.match(checks[0].reason, /backend\.ts/);
});
