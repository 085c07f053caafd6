import { loadScenario } from "./dsl/mod.ts";
import { World, WorldError } from "./core/world.ts";
import { collectResults } from "./core/metrics/collect.ts";
import { evaluateExpectations } from "./core/metrics/expect.ts";
for (const f of Deno.args) {
  const r = loadScenario(f);
  if (!r.scenario) { console.log(f, "check failed"); continue; }
  const t0 = performance.now();
  try {
    const w = await World.create(r.scenario);
    if (w instanceof WorldError) { console.log(f, "world error", w.message); continue; }
    w.run();
    const res = collectResults(w);
    const ex = evaluateExpectations(res, r.scenario.expects);
    console.log(`== ${f} (${(performance.now() - t0).toFixed(0)} ms)`);
    for (const e of ex) console.log(`  ${e.pass ? "ok  " : "FAIL"} ${e.line}: ${e.text}  actual=${typeof e.actual === "number" ? +e.actual.toFixed(4) : e.actual}`);
  } catch (e) { console.log(f, "threw", e instanceof Error ? e.stack?.split("\n").slice(0,4).join(" | ") : e); }
}
