/**
 * The "% of native" baseline: each VM's workload run alone on the physical GPU by the
 * native driver model, for the same simulated time and seed, with no mediator and no
 * hypervisor in the way.
 */

import { Sim } from "./sim/sim.ts";
import { Gpu, gpuConfigFromHost } from "./hw/gpu.ts";
import { runNative } from "./native/driver.ts";
import type { Expr, Predicate, Scenario } from "./scenario.ts";

function exprUses(e: Expr, fn: string): boolean {
  return e.k === "call"
    ? e.fn === fn
    : e.k === "bin"
    ? exprUses(e.a, fn) || exprUses(e.b, fn)
    : false;
}

function predUses(p: Predicate, fn: string): boolean {
  if (p.k === "cmp") return exprUses(p.left, fn) || exprUses(p.right, fn);
  if (p.k === "within") return exprUses(p.left, fn) || exprUses(p.target, fn);
  return false;
}

/** Does the scenario ask for native_pct (in an expectation or the report)? */
export function usesNative(s: Scenario): boolean {
  return s.report.metrics.includes("native_pct") ||
    s.expects.some((e) => predUses(e.pred, "native_pct"));
}

/** Native throughput (batches per second) of each VM's workload, by VM name. */
export function nativeBaseline(
  s: Scenario,
  duration: number,
  seed: number,
): Record<string, number> {
  const byWorkload = new Map<string, number>();
  const out: Record<string, number> = {};
  for (const vm of s.vms) {
    let tput = byWorkload.get(vm.workload);
    if (tput === undefined) {
      const sim = new Sim(seed);
      const gpu = new Gpu(sim, gpuConfigFromHost(s.host));
      const r = runNative(sim, gpu, [s.workloads[vm.workload]], duration);
      tput = duration > 0 ? r.workloads[0].batches / (duration / 1e9) : 0;
      byWorkload.set(vm.workload, tput);
    }
    out[vm.name] = tput;
  }
  return out;
}
