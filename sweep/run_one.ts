/**
 * One run of a sweep: load the scenario with the grid point's `-D` values, simulate it and
 * return its results plus what only the live world knows (each VM's latency distribution at
 * {@link CDF_PERCENTILES}, and whether any random number was drawn). Runs in a Worker
 * (sweep/worker.ts) or in the calling thread; never throws.
 */

import { formatDiagnostics, loadScenario } from "../dsl/mod.ts";
import { WorldError } from "../core/world.ts";
import type { World } from "../core/world.ts";
import type { Results } from "../core/metrics/results.ts";
import { Rng } from "../core/sim/rng.ts";
import { simulate } from "../cli/run.ts";
import { CDF_PERCENTILES } from "./metrics.ts";

/** What a worker is asked to do. */
export interface RunJob {
  /** Run index in the grid. */
  run: number;
  /** Scenario file. */
  file: string;
  /** The grid point's `NAME=VALUE` assignments. */
  defines: string[];
  /** Seed (undefined: the scenario's own). */
  seed?: number;
  /** Simulated time override (ns). */
  until?: number;
  /** Hypervisor override. */
  hypervisor?: string;
}

/** What a run gives back. */
export interface RunOutput {
  /** Run index. */
  run: number;
  /** Results, when it ran. */
  results?: Results;
  /** Why it did not run (diagnostics or a world error). */
  error?: string;
  /** Per VM: latency (ns) at each of {@link CDF_PERCENTILES} (absent without samples). */
  latencyCdf: Record<string, number[]>;
  /** Did the run draw any random number (if not, its seed changes nothing)? */
  randomDraws: boolean;
  /** Wall-clock milliseconds the run took (progress and ETA only; never stored). */
  wallMs: number;
}

/** Runs one job. */
export async function runJob(job: RunJob): Promise<RunOutput> {
  const start = performance.now();
  const out: RunOutput = { run: job.run, latencyCdf: {}, randomDraws: false, wallMs: 0 };
  try {
    const r = loadScenario(job.file, { defines: job.defines, seed: job.seed });
    if (!r.scenario) {
      out.error = formatDiagnostics(r.diagnostics.filter((d) => d.severity === "error"), r.sources)
        .trimEnd();
    } else {
      const sim = await simulate(r.scenario, {
        seed: job.seed,
        until: job.until,
        hypervisor: job.hypervisor,
      });
      if (sim instanceof WorldError) out.error = sim.message;
      else {
        out.results = sim.results;
        out.latencyCdf = latencyCdf(sim.world);
        out.randomDraws = drewRandom(sim.world);
      }
    }
  } catch (e) {
    out.error = `internal error: ${e instanceof Error ? e.message : String(e)}`;
  }
  out.wallMs = performance.now() - start;
  return out;
}

function latencyCdf(w: World): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const vm of w.vms) {
    const lat = vm.driver?.metrics.latencyAll;
    if (lat && lat.count > 0) out[vm.spec.name] = lat.quantiles(CDF_PERCENTILES);
  }
  return out;
}

/** True when some random stream moved from its initial state. */
function drewRandom(w: World): boolean {
  const streams = w.sim.streams;
  for (const [name, state] of Object.entries(streams.save())) {
    const fresh = new Rng(streams.seed, name).save();
    if (state.some((x, i) => x !== fresh[i])) return true;
  }
  return false;
}
