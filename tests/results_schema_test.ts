/**
 * docs/results.schema.json is what the generator makes of core/metrics/results.ts, and ajv
 * accepts what `gvtsim run --json` writes and rejects what breaks the schema. (Every shipped
 * scenario's results are validated in scenarios_run_test.ts.)
 */
import assert from "node:assert/strict";
import { RESULTS_SCHEMA_PATH, resultsJsonSchemaText } from "../core/metrics/results_schema_gen.ts";
import { schemaErrors } from "./results_schema.ts";
import { gvtsimTask } from "./task_util.ts";

const root = new URL("..", import.meta.url);

Deno.test("results schema: the shipped file is generated from the TypeScript types", () => {
  const onDisk = Deno.readTextFileSync(new URL(RESULTS_SCHEMA_PATH, root));
  assert.equal(onDisk, resultsJsonSchemaText(), "run `deno task schema` and commit the result");
});

Deno.test("results schema: `gvtsim run --json -` output validates; broken results do not", async () => {
  const r = await gvtsimTask(["run", "scenarios/faults.gvt", "--json", "-", "--until", "500ms"]);
  const json = JSON.parse(r.out);
  assert.deepEqual(schemaErrors(json), []);
  assert.deepEqual(schemaErrors({ ...json, schema: "gvtsim.results/0" }), [
    "/schema must be equal to constant",
  ]);
  const extra = structuredClone(json);
  extra.vms[0].surprise = 1;
  assert.match(schemaErrors(extra).join("\n"), /\/vms\/0 must NOT have additional properties/);
  const missing = structuredClone(json);
  delete missing.vms[0].latency.p99;
  assert.match(
    schemaErrors(missing).join("\n"),
    /\/vms\/0\/latency must have required property 'p99'/,
  );
  const wrongType = structuredClone(json);
  wrongType.simulatedNs = "5s";
  assert.match(schemaErrors(wrongType).join("\n"), /\/simulatedNs must be number/);
});
