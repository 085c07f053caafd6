/**
 * The conformance kit's second stage: short scenario runs of the whole system under the
 * backend being tested (guests boot through its traps, page tracking shadows their page
 * tables, interrupts arrive through its MSI path, a misbehaving guest is contained).
 * @module
 */

import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import type { CheckResult } from "../core/mpt/conformance.ts";
import type { Results } from "../core/metrics/results.ts";

/** The scenario every backend must run (its hypervisor line is replaced by the plugin). */
// Start-up priority (2 s upstream) is off: with it the first busy vGPU would hog the GPU
// for the whole short run and the others would barely be scheduled.
const SCENARIO = `
scenario conformance
seed 7
host skylake { aperture 512MiB; invariants on; hypervisor kvm; scheduler gvt { startup 0s } }
vm render { type V5_4; run render }
vm blit { type V5_8; run blit }
vm evil { type V5_8; run churn }
workload render { loop { rcs batch { draw 40; store 2; lri 1 }; wait completion } }
workload blit { every 10ms { bcs batch { blit 2; store 1 }; wait completion; flip } }
workload churn { loop { map 8 pages; pte_rewrite 16; unmap 8 pages; rcs batch { draw 4 }; wait completion } }
timeline { at 200ms misbehave evil ring_garbage; run 400ms }
`;

function check(op: string, name: string, ok: boolean, reason: string): CheckResult {
  return { op, check: name, ok, reason: ok ? "" : reason };
}

async function runOnce(spec: string): Promise<Results | string> {
  const parsed = parseScenarioText(SCENARIO, "conformance.gvt");
  if (!parsed.scenario) return "internal: the conformance scenario does not check";
  const world = await World.create(parsed.scenario, { hypervisor: spec });
  if (world instanceof WorldError) return world.message;
  world.run();
  return collectResults(world);
}

/** Runs the scenario stage against a plugin (path, URL or built-in name). */
export async function scenarioChecks(spec: string | URL): Promise<CheckResult[]> {
  const path = spec instanceof URL ? spec.href : spec;
  const a = await runOnce(path);
  if (typeof a === "string") {
    return [check("scenario", "a world can be built on the backend", false, a)];
  }
  const vm = (n: string) => a.vms.find((v) => v.name === n)!;
  const [render, blit, evil] = [vm("render"), vm("blit"), vm("evil")];
  const out: CheckResult[] = [
    check("scenario", "a world can be built on the backend", true, ""),
    check(
      "guestMmioRead",
      "guests boot through the trap path and submit work",
      render.completed > 0 && blit.completed > 0,
      `completed batches: render ${render.completed}, blit ${blit.completed} (states ${render.state}, ${blit.state}${
        render.stateReason ? `: ${render.stateReason}` : ""
      })`,
    ),
    check(
      "injectMsi",
      "completion interrupts reach the guests",
      (render.counters["msi.injected"] ?? 0) > 0 && (render.counters["guest.msis"] ?? 0) > 0,
      `MSIs injected ${render.counters["msi.injected"] ?? 0}, received ${
        render.counters["guest.msis"] ?? 0
      }`,
    ),
    check(
      "enablePageTrack",
      "guest page-table writes trap and are shadowed",
      evil.traps.pagetrack > 0 && (evil.counters["ppgtt.spt_alloc"] ?? 0) > 0,
      `page-track traps ${evil.traps.pagetrack}, shadow pages ${
        evil.counters["ppgtt.spt_alloc"] ?? 0
      }`,
    ),
    check(
      "scenario",
      "a misbehaving guest is contained, the others run on",
      evil.state === "failsafe" && render.state === "running" && blit.state === "running",
      `states: evil ${evil.state}, render ${render.state}, blit ${blit.state}`,
    ),
    check(
      "dmaMapGuestPage",
      "isolation invariant holds",
      a.isolation.violations === 0,
      `${a.isolation.violations} isolation violations`,
    ),
    check(
      "scenario",
      "no plugin errors during the run",
      a.hypervisor.errors.length === 0,
      a.hypervisor.errors.slice(0, 3).map((e) => `${e.op} (${e.vm}): ${e.message}`).join("; "),
    ),
  ];
  const b = await runOnce(path);
  const same = typeof b !== "string" && JSON.stringify(a) === JSON.stringify(b);
  out.push(
    check("scenario", "two runs with one seed are identical", same, "results differ between runs"),
  );
  return out;
}
