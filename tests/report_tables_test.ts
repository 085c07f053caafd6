import assert from "node:assert/strict";
import { reportTables } from "../cli/report_tables.ts";
import { renderSummary } from "../cli/summary.ts";
import { demoResults } from "./fixtures/results_demo.ts";

Deno.test("report tables: the scenario's selection, in its order, one row per VM", () => {
  const r = demoResults();
  const text = reportTables(r, ["scheduler", "traps", "vms", "expects"], [
    "fps",
    "latency",
    "ggtt.writes",
  ]);
  const titles = text.split("\n").filter((l) => /^[a-z]+$/.test(l));
  assert.deepEqual(
    titles,
    ["scheduler", "traps", "metrics"],
    "vms and expects are always in the summary",
  );
  const metrics = text.slice(text.indexOf("metrics\n"));
  assert.match(
    metrics.split("\n")[1],
    /fps\s+lat p50\s+lat p90\s+lat p99\s+lat max\s+ggtt\.writes/,
  );
  for (const v of r.vms) assert.match(metrics, new RegExp(`^${v.name}\\s`, "m"));
});

Deno.test("report tables: nothing asked, nothing added; the summary embeds them when asked", () => {
  const r = demoResults();
  assert.equal(reportTables(r, [], []), "");
  const plain = renderSummary(r), withTables = renderSummary(r, { tables: ["irq"], metrics: [] });
  assert.ok(!plain.includes("msi injected"));
  assert.ok(withTables.includes("msi injected"));
});
