/**
 * One cold run, for `scale_bench.ts --cold`: in this fresh process, imports the modules of
 * checkout DIR (by path, so an older checkout runs under the same harness), parses SCENARIO (a
 * path inside DIR), builds the world, runs it to SECONDS and collects the results; prints the
 * CPU ms of each part as one JSON line. It imports nothing of its own checkout, so what loading
 * the modules costs is measured the same way for both.
 *
 *   deno run -A --config DIR/deno.json bench/cold_run.ts DIR SCENARIO SECONDS
 */
import process from "node:process";

/** CPU ms of each part of one cold run (a fresh process), and its wall ms. */
export interface ColdRun {
  /** Importing the checkout's modules (the DSL, the world, the results). */
  load: number;
  /** Parse and check the scenario. */
  parse: number;
  /** `World.create`. */
  create: number;
  /** The first simulated millisecond: the guests' drivers boot in it. */
  boot: number;
  /** The rest of the run. */
  run: number;
  /** `collectResults`. */
  collect: number;
  /** All of them but {@link load}. */
  total: number;
  /** Wall ms of the same. */
  wall: number;
}

/** CPU time of this process so far (user + system, all threads; ms). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * One cold run in this process of `scenario` (a path inside `dir`) for `seconds`, with the
 * modules of checkout `dir` (imported by path, so an older checkout runs under this harness).
 */
export async function coldRun(dir: string, scenario: string, seconds: number): Promise<ColdRun> {
  const l0 = cpuMs();
  const dsl = await import(`${dir}/dsl/mod.ts`) as typeof import("../dsl/mod.ts");
  const world = await import(`${dir}/core/world.ts`) as typeof import("../core/world.ts");
  const metrics = await import(
    `${dir}/core/metrics/collect.ts`
  ) as typeof import("../core/metrics/collect.ts");
  const text = Deno.readTextFileSync(`${dir}/${scenario}`);
  const w0 = performance.now(), t0 = cpuMs();
  const load = t0 - l0;
  const r = dsl.parseScenarioText(text, scenario);
  if (!r.scenario) throw new Error(dsl.formatDiagnostics(r.diagnostics, r.sources));
  const t1 = cpuMs();
  const w = await world.World.create(r.scenario);
  if (w instanceof world.WorldError) throw new Error(w.message);
  const t2 = cpuMs();
  w.run(1e6);
  const t3 = cpuMs();
  w.run(seconds * 1e9);
  const t4 = cpuMs();
  metrics.collectResults(w);
  const t5 = cpuMs();
  return {
    load,
    parse: t1 - t0,
    create: t2 - t1,
    boot: t3 - t2,
    run: t4 - t3,
    collect: t5 - t4,
    total: t5 - t0,
    wall: performance.now() - w0,
  };
}

if (import.meta.main) {
  const [dir, scenario, seconds] = Deno.args;
  console.log(JSON.stringify(await coldRun(dir, scenario, Number(seconds))));
}
