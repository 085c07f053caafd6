/**
 * gScale: "64 light guests x 60 s simulated in under 30 s" (issue 16). Runs bench/gscale64.gvt
 * (64 V5_8 guests drawing a small frame 5 times a second on a 2 GiB GGTT / 512 MiB aperture,
 * `gscale on`, isolation invariant on) through the real entry points (parseScenarioText ->
 * World.create -> run -> collectResults) and prints wall seconds, simulated seconds, events,
 * the GTT copies (slot loads, entries written, simulated copy time) and the violations. With
 * `--compare` it also runs the same world copying whole slots (no dirty-entry optimisation),
 * side by side, to show what the optimisation saves in simulated time and in wall time.
 *
 * As a script:  deno run -A bench/gscale_bench.ts [--seconds 60] [--vms 64] [--compare]
 * Under `deno bench` (deno task bench) it registers a short variant (16 guests, 1 s).
 */
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import type { Scenario } from "../core/scenario.ts";

const FILE = new URL("./gscale64.gvt", import.meta.url).pathname;

/** The bench scenario with `vms` guests (its expectations dropped when not 64). */
function scenario(vms: number): Scenario {
  let text = Deno.readTextFileSync(FILE);
  if (vms !== 64) {
    text = text.replace("vm guest[64]", `vm guest[${vms}]`).replace(/^expect fps.*$/gm, "");
  }
  const r = parseScenarioText(text, FILE);
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics, r.sources));
  return r.scenario;
}

/** One measured run. */
interface GscaleRun {
  copy: "dirty" | "full";
  wallS: number;
  simulatedS: number;
  events: number;
  frames: number;
  copies: number;
  entriesCopied: number;
  copyMs: number;
  violations: number;
}

async function runOnce(vms: number, seconds: number, dirtyOnly: boolean): Promise<GscaleRun> {
  const t0 = performance.now();
  const w = await World.create(scenario(vms), { gscale: { dirtyOnly } });
  if (w instanceof WorldError) throw new Error(w.message);
  w.run(seconds * 1e9);
  const r = collectResults(w);
  const wallS = (performance.now() - t0) / 1000;
  return {
    copy: dirtyOnly ? "dirty" : "full",
    wallS,
    simulatedS: w.sim.now / 1e9,
    events: w.sim.dispatched,
    frames: r.vms.reduce((a, v) => a + v.frames, 0),
    copies: r.counters["gscale.copies"],
    entriesCopied: r.counters["gscale.entries_copied"],
    copyMs: r.counters["gscale.copy_ns"] / 1e6,
    violations: r.isolation.violations,
  };
}

function show(x: GscaleRun, vms: number): void {
  console.log(
    `${vms} guests, ${x.simulatedS} s simulated, ${x.copy} copies: ${x.wallS.toFixed(2)} s wall ` +
      `(${(x.simulatedS / x.wallS).toFixed(1)}x real time), ${x.events} events, ` +
      `${x.frames} frames, ${x.copies} slot loads, ${x.entriesCopied} entries copied ` +
      `(${x.copyMs.toFixed(1)} ms simulated), ${x.violations} violations`,
  );
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const seconds = Number(arg("--seconds") ?? 60);
  const vms = Number(arg("--vms") ?? 64);
  show(await runOnce(vms, seconds, true), vms);
  if (Deno.args.includes("--compare")) show(await runOnce(vms, seconds, false), vms);
  const rss = Deno.memoryUsage().rss;
  console.log(`peak-ish RSS now: ${(rss / 2 ** 20).toFixed(0)} MiB`);
} else {
  Deno.bench("gscale: 16 light guests, 1 s simulated (dirty-entry copies)", async () => {
    await runOnce(16, 1, true);
  });
}
