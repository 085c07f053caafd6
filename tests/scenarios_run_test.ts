/**
 * Every scenario in scenarios/ runs end to end through `gvtsim run`'s entry point and all
 * its expectations pass, its results match docs/results.schema.json, and its trace passes the
 * timing guards (tests/timing_guard.ts: no latency shorter than its own execution, no flip
 * before its work completed); one of them twice, to show runs are byte-identical.
 */
import assert from "node:assert/strict";
import { runScenario } from "../cli/run.ts";
import type { TraceEvent } from "../cli/trace.ts";
import { schemaErrors } from "./results_schema.ts";
import { checkTiming } from "./timing_guard.ts";

const dir = new URL("../scenarios/", import.meta.url);
const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".gvt")).map((e) => e.name)
  .sort();

for (const name of files) {
  Deno.test(`scenario ${name} runs and its expectations pass`, async () => {
    let text = "";
    const trace = await Deno.makeTempFile({ suffix: ".trace.json" });
    try {
      const r = await runScenario(new URL(name, dir).pathname, {
        out: (s) => void (text += s),
        err: (s) => void (text += s),
        progress: false,
        trace,
      });
      assert.equal(r.code, 0, text);
      assert.ok(r.results && r.results.vms.length > 0);
      assert.deepEqual(schemaErrors(r.results), [], "results match docs/results.schema.json");
      for (const e of r.results!.expectations) {
        assert.ok(e.pass, `${e.file}:${e.line} ${e.text}: ${e.actual}`);
      }
      const events = JSON.parse(await Deno.readTextFile(trace)).traceEvents as TraceEvent[];
      assert.ok(checkTiming(events, r.results!).latencies > 0, "the run completed work");
    } finally {
      await Deno.remove(trace);
    }
  });
}

Deno.test("the same scenario and seed give byte-identical results", async () => {
  const path = new URL("demo.gvt", dir).pathname;
  const once = async () => {
    let json = "";
    await runScenario(path, {
      json: "-",
      quiet: true,
      out: (s) => void (json += s),
      err: () => {},
      until: 1e9,
    });
    return json;
  };
  const a = await once(), b = await once();
  assert.ok(a.length > 1000);
  assert.equal(a, b);
});

Deno.test("a different seed changes the results", async () => {
  const path = new URL("demo.gvt", dir).pathname;
  const run = async (seed: number) => {
    let json = "";
    await runScenario(path, {
      json: "-",
      quiet: true,
      seed,
      out: (s) => void (json += s),
      err: () => {},
      until: 1e9,
    });
    return JSON.parse(json);
  };
  const a = await run(1), b = await run(2);
  assert.notDeepEqual(
    a.vms.map((v: { latency: unknown }) => v.latency),
    b.vms.map((v: { latency: unknown }) => v.latency),
  );
});
