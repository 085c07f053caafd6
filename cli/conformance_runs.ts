/**
 * The conformance kit's second stage: short runs of the whole system under the backend being
 * tested (guests boot through its traps, page tracking shadows their page tables, interrupts
 * arrive through its MSI path, a misbehaving guest is contained), and a stress run that drives
 * the life cycle (stop, start, reset, pause) so detach, re-attach and FLR happen mid-run, maps
 * 2 MiB guest pages, shows every guest's screen on a display console (dma-buf exports) and
 * round-trips the live backend's state through save and restore; it must call every op a run
 * can call. Each run is done twice and must give byte-identical results; a difference is reported at
 * its first field. {@link runPluginKit} is the whole kit (op-by-op rules + this stage), what
 * `gvtsim plugin test` and a scaffolded plugin's `deno test` both run.
 * @module
 */

import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import {
  type CheckResult,
  type ConformanceOptions,
  type ConformanceReport,
  runConformance,
} from "../core/mpt/conformance.ts";
import { firstDifference } from "../core/mpt/kit_checks.ts";
import { GATED_OPS } from "../core/mpt/ops.ts";
import { refreshConsole } from "../core/mpt/display.ts";
import type { EventSink } from "../core/sim/sim.ts";
import type { Vgpu } from "../core/gvt/vgpu_state.ts";
import type { Results } from "../core/metrics/results.ts";
import { restoreBackend, saveBackend } from "../core/snapshot.ts";

// Start-up priority (2 s upstream) is off: with it the first busy vGPU would hog the GPU
// for the whole short run and the others would barely be scheduled.
const BASIC = `
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

/**
 * Life cycle under load: detach and re-attach (stop/start), FLR (reset), pause, a late VM,
 * 2 MiB guest pages (one 2 MiB dmaMapGuestPage each, or 512 4 KiB ones when refused) and a
 * display console (`display`: a backend whose device model shows the guests' screens queries
 * their planes and exports dma-bufs, which pins framebuffer pages and takes VFIO device
 * references; a backend without one ignores the parameter).
 * Start-up priority stays on (every workload is periodic, so nobody hogs): without it a vGPU
 * created mid-stage gets no time slice until the next stage-0 balance, as upstream.
 */
const STRESS = `
scenario conformance_stress
seed 11
host skylake { aperture 512MiB; invariants on; hypervisor kvm { param display 33ms }; scheduler gvt }
vm a { type V5_8; run mix }
vm b { type V5_8; run churn; start 0s }
vm c { type V5_8; run mix; start 50ms }
vm d { type V5_8; run huge }
workload mix { every 5ms { rcs batch { draw 8; store 1 }; bcs batch { blit 1 }; wait completion; flip } }
workload churn { every 4ms { map 16 pages; pte_rewrite 32; unmap 16 pages; vcs batch { media 2 }; wait completion } }
workload huge { every 20ms { map 2 huge pages; pte_rewrite 16; rcs batch { draw 4; store 1 }; wait completion; unmap 1 huge pages } }
timeline {
  at 80ms stop b; at 90ms start b; at 120ms reset a; at 150ms pause d; at 170ms resume d
  at 200ms stop c; at 210ms start c; at 240ms reset b; run 300ms
}
`;

/** The kit console's refresh period (a 30 Hz display). */
const CONSOLE_NS = 33_000_000;

/**
 * The kit's display console in the stress run: every {@link CONSOLE_NS} it shows each VM's
 * primary plane (core/mpt/display.ts), as a device model's console would, so that every
 * backend's dma-buf path runs under load: framebuffer pins (`dmaPinGuestPage`) and device
 * references (`getVfioDevice`/`putVfioDevice`) across detach, re-attach and reset.
 */
class KitConsole implements EventSink {
  /** Per VM: the vGPU shown and its exports (dma-buf id -> handle). */
  private readonly shown = new Map<string, { vgpu: Vgpu; exports: Map<number, number> }>();

  constructor(private readonly world: World) {
    world.sim.schedule(CONSOLE_NS, this, 0);
  }

  onEvent(): void {
    for (const vm of this.world.vms) {
      const v = vm.vgpu;
      if (v === null) continue;
      let s = this.shown.get(vm.spec.name);
      // a new vGPU (stop/start): the old one's exports went with it
      if (s === undefined || s.vgpu !== v) {
        s = { vgpu: v, exports: new Map() };
        this.shown.set(vm.spec.name, s);
      }
      refreshConsole(this.world.gvt, v.id, s.exports);
    }
    this.world.sim.schedule(CONSOLE_NS, this, 0);
  }
}

/**
 * Instants of the stress run (ns) at which the kit saves the live backend's state, restores it
 * and saves again: after a stop/start, while VM d is paused, right after VM b's reset.
 */
const ROUND_TRIPS_NS = [100_000_000, 160_000_000, 245_000_000];

/**
 * save -> restore -> save of every attached vGPU's backend state in a live world (what a
 * checkpoint and its restore do to the backend), with real pins, IOMMU mappings, tracked pages
 * and dma-bufs; the first difference or restore error is kept.
 */
class LiveRoundTrips implements EventSink {
  /** Round trips done. */
  trips = 0;
  /** The first problem, or "". */
  problem = "";

  constructor(private readonly world: World) {
    for (const t of ROUND_TRIPS_NS) world.sim.schedule(t, this, 0);
  }

  onEvent(): void {
    const w = this.world;
    const before = saveBackend(w);
    if (this.problem !== "" || !before.serialisable) return;
    const errors = restoreBackend(w, before);
    const after = saveBackend(w);
    this.trips++;
    const when = `at ${w.sim.now / 1e6} ms`;
    const diff = firstDifference(before.states, after.states, "states");
    if (errors.length > 0) this.problem = `${when}, restore failed: ${errors[0]}`;
    else if (diff !== "") this.problem = `${when}, restore changed the state: ${diff}`;
  }
}

/**
 * Ops the core calls through the gate in a run (MPT_OPS `called`): the stress run's due (one
 * host: the migration ops are the op-by-op rules' to check).
 */
const RUN_OPS = GATED_OPS.filter((o) => o.called === "run" || o.called === "build").map((o) =>
  o.name
);

function check(op: string, name: string, ok: boolean, reason: string): CheckResult {
  return { op, check: name, ok, reason: ok ? "" : reason };
}

/** Backend parameters of a kit run. */
type Params = Readonly<Record<string, number | string | boolean>>;

/** One run: its results and its MPT calls, or why it could not run. */
async function runOnce(
  text: string,
  file: string,
  spec: string,
  params: Params,
  calls?: Record<string, number>,
  setup?: (w: World) => void,
): Promise<Results | string> {
  const parsed = parseScenarioText(text, file);
  if (!parsed.scenario) return `internal: ${file} does not check`;
  const hv = parsed.scenario.hypervisor;
  parsed.scenario.hypervisor = { ...hv, params: { ...hv.params, ...params } };
  const world = await World.create(parsed.scenario, { hypervisor: spec });
  if (world instanceof WorldError) return world.message;
  setup?.(world);
  world.run();
  if (calls !== undefined) {
    for (const [op, n] of Object.entries(world.gate.opCounts)) calls[op] = (calls[op] ?? 0) + n;
  }
  return collectResults(world);
}

/** Runs a scenario twice: the results, or why not; a determinism check. */
async function twice(
  text: string,
  file: string,
  spec: string,
  params: Params,
  calls: Record<string, number>,
  setup?: (w: World) => void,
): Promise<[Results | string, CheckResult]> {
  const a = await runOnce(text, file, spec, params, calls, setup);
  const b = await runOnce(text, file, spec, params, undefined, setup);
  if (typeof a === "string") return [a, check("scenario", "runs", false, a)];
  const diff = typeof b === "string" ? `second run failed: ${b}` : firstDifference(a, b, "results");
  return [
    a,
    check(
      "scenario",
      `${file}: two runs with one seed are identical`,
      diff === "",
      `results differ between runs, first at ${diff}`,
    ),
  ];
}

/**
 * Runs the scenario stage against a plugin (path, URL or built-in name) with backend
 * parameters `params`; adds the MPT calls the runs made to `calls` (the kit's coverage).
 */
export async function scenarioChecks(
  spec: string | URL,
  calls: Record<string, number> = {},
  params: Readonly<Record<string, number | string | boolean>> = {},
): Promise<CheckResult[]> {
  const path = spec instanceof URL ? spec.href : spec;
  const [a, sameA] = await twice(BASIC, "conformance.gvt", path, params, calls);
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
    sameA,
  ];
  const stressCalls: Record<string, number> = {};
  const trips: LiveRoundTrips[] = [];
  const [s, sameS] = await twice(
    STRESS,
    "conformance_stress.gvt",
    path,
    params,
    stressCalls,
    (w) => {
      new KitConsole(w);
      trips.push(new LiveRoundTrips(w));
    },
  );
  for (const [op, n] of Object.entries(stressCalls)) calls[op] = (calls[op] ?? 0) + n;
  if (typeof s === "string") {
    out.push(check("scenario", "the life-cycle stress run works", false, s));
    return out;
  }
  const stalled = s.vms.filter((v) => v.completed === 0).map((v) => `${v.name} (${v.state})`);
  const huge = s.vms.find((v) => v.name === "d")!;
  const uncalled = RUN_OPS.filter((op) => !(stressCalls[op] > 0));
  out.push(
    check(
      "all ops",
      "the stress run calls every op a run can call (2 MiB maps, display exports included)",
      uncalled.length === 0,
      `never called in the stress run: ${uncalled.join(", ")}`,
    ),
    check(
      "restore",
      "save -> restore -> save of the live backend mid-run gives the same state, field by field",
      trips[0].problem === "",
      trips[0].problem,
    ),
    check(
      "detachVgpu",
      "stop/start, reset and pause under load: every VM keeps working",
      stalled.length === 0,
      `VMs that completed no batch after detach/re-attach or reset: ${stalled.join(", ")}`,
    ),
    check(
      "dmaMapGuestPage",
      "guests' 2 MiB pages are shadowed: mapped whole (2 MiB) or split (512 x 4 KiB)",
      (huge.counters["ppgtt.huge_whole"] ?? 0) + (huge.counters["ppgtt.huge_split"] ?? 0) > 0,
      `VM d mapped ${huge.counters["guest.huge_pages_mapped"] ?? 0} huge pages, ` +
        `${huge.counters["ppgtt.huge_whole"] ?? 0} mapped whole, ` +
        `${huge.counters["ppgtt.huge_split"] ?? 0} split`,
    ),
    check(
      "dmaMapGuestPage",
      "isolation holds through detach, re-attach and reset",
      s.isolation.violations === 0,
      `${s.isolation.violations} isolation violations in the stress run`,
    ),
    check(
      "scenario",
      "no plugin errors in the stress run",
      s.hypervisor.errors.length === 0,
      s.hypervisor.errors.slice(0, 3).map((e) => `${e.op} (${e.vm}): ${e.message}`).join("; "),
    ),
    sameS,
  );
  return out;
}

/** Options of {@link runPluginKit}. */
export type PluginKitOptions = Omit<ConformanceOptions, "extraChecks">;

/**
 * The whole conformance kit on one plugin: the op-by-op rules, then the scenario stage.
 * `gvtsim plugin test` prints its table; a plugin's own test fails on `report.failed > 0`.
 */
export function runPluginKit(
  spec: string | URL,
  options: PluginKitOptions = {},
): Promise<ConformanceReport> {
  return runConformance(spec, { ...options, extraChecks: scenarioChecks });
}
