/**
 * The gvtsim conformance kit (`@gvtsim/gvtsim/kit`): checks a hypervisor backend against the
 * MPT contract. {@link runPluginKit} is the whole kit (op-by-op rules, then short
 * whole-system runs), what `gvtsim plugin test` runs and what a scaffolded plugin's own test
 * calls:
 *
 * ```ts
 * import { formatConformance, runPluginKit } from "@gvtsim/gvtsim/kit";
 * Deno.test("mygt passes the kit", async () => {
 *   const report = await runPluginKit(new URL("./mygt.ts", import.meta.url));
 *   if (!report.loaded || report.failed > 0) throw new Error(formatConformance(report));
 * });
 * ```
 * @module
 */

export {
  type CheckResult,
  CONFORMANCE_LAYOUT,
  CONFORMANCE_SCHEMA,
  type ConformanceOptions,
  type ConformanceReport,
  type Coverage,
  coverageLine,
  formatConformance,
  runConformance,
} from "./core/mpt/conformance.ts";
export { firstDifference } from "./core/mpt/kit_checks.ts";
export { type PluginKitOptions, runPluginKit, scenarioChecks } from "./cli/conformance_runs.ts";
