// gvtsim: `plugin new` copies this file without this line; `deno task check` type-checks it here.
/**
 * Conformance test of the __NAME__ backend (scaffolded by `gvtsim plugin new`): runs gvtsim's
 * whole conformance kit on `__NAME__.ts` (the op-by-op rules, then short whole-system runs:
 * the same checks as `gvtsim plugin test`) and fails with the kit's table on any failed
 * check. Run it with `deno test -A __NAME___test.ts` in this directory (its deno.json maps
 * `@gvtsim/gvtsim` to a gvtsim checkout).
 */
import { formatConformance, runPluginKit } from "@gvtsim/gvtsim/kit";

Deno.test("__NAME__ passes the gvtsim conformance kit", async () => {
  const report = await runPluginKit(new URL("./__NAME__.ts", import.meta.url));
  if (!report.loaded || report.failed > 0) throw new Error(formatConformance(report));
});
