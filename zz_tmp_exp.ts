import { parseScenarioText } from "./dsl/mod.ts";
import { World, WorldError } from "./core/world.ts";
import { collectResults } from "./core/metrics/collect.ts";
const text = Deno.readTextFileSync(Deno.args[0]);
const r = parseScenarioText(text, Deno.args[0]);
if (!r.scenario) { console.log(r.diagnostics.map(d=>d.line+": "+d.message)); Deno.exit(1); }
const w = await World.create(r.scenario);
if (w instanceof WorldError) { console.log(w.message); Deno.exit(1); }
w.run();
const res = collectResults(w);
for (const v of res.vms) {
  const eng = Object.entries(v.engines).map(([k, e]) => `${k}:${(e as {share:number}).share.toFixed(3)}`).join(" ");
  console.log(v.name, v.state, "fps", v.fps, "frames", v.frames, "thr", (v as unknown as {throughput:number}).throughput?.toFixed?.(1), "lat p50/p99 ms", (v.latency.p50/1e6).toFixed(2), (v.latency.p99/1e6).toFixed(2), eng, "traps", JSON.stringify((v as unknown as {traps:unknown}).traps));
}
