/**
 * Containment (issue 3, "Must show"): for each kind of misbehaviour, an attacker VM that
 * turns hostile at 1 s ends in failsafe, the isolation invariant stays clean, and the
 * victims' throughput after containment is within 5% of a run without the attack.
 *
 * Worlds are built through the real entry points: scenario text -> `parseScenarioText` ->
 * `World.create` -> `world.run` -> `collectResults`. Throughput after containment is the
 * number of batches a victim completes in the window [1.5 s, 3 s], from two snapshots of
 * the results (at 1.5 s and at 3 s).
 *
 * Reference run. The attacker VM exists in both runs and runs the same benign, always-busy
 * render loop until 1 s; only what happens at 1 s differs:
 *   - attack run:     `at 1s misbehave evil KIND 4` (its vGPU enters failsafe, after which
 *                     nothing of it is shadowed or submitted: its GPU load disappears);
 *   - reference run:  `at 1s pause evil` (its vCPUs stop: its GPU load disappears too).
 * Comparing against an attacker that keeps rendering would mix two effects: containment
 * and the attacker's benign share of the GPU going away. Pausing it at the same instant
 * isolates containment: any difference in the victims' window is what the misbehaviour
 * itself (and the mediator's handling of it) cost them.
 *
 * The "reference is fair" tests show why the other two comparisons are not used:
 *   - an attacker that keeps rendering benignly costs the `desk` victim ~5% (its batches
 *     interleave with desk's), which is not containment;
 *   - with no attacker VM at all every victim gets ~25% more: the time-based scheduler
 *     splits credit by weight over every vGPU on its run queue, including a paused or
 *     failsafe one (as upstream gvt_balance_timeslice does), so victims scale by
 *     sum(weights with attacker) / sum(weights without) = 10 / 8. That test asserts this
 *     ratio within 5%.
 * The scheduler's start-up priority is shortened to 100 ms in the fixture (see the last
 * test for the default 2 s, under which containment is deferred to the attacker's first
 * dispatch).
 *
 * The scenario texts are in tests/fixtures/scenarios/containment.gvt (victims + attacker)
 * and built here with the timeline of each case. Run time: ~8 s on 2 cores (28 short worlds).
 */
import assert from "node:assert/strict";
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import type { Results } from "../core/metrics/results.ts";
import type { MisbehaviourKind } from "../core/scenario.ts";

/**
 * The kinds upstream contains with failsafe. `random_mmio` is not among them: random
 * register writes are plain copies into the vreg upstream, and a random ELSP descriptor
 * fails only its own submission (execlist.c `intel_vgpu_submit_execlist`, -EINVAL); its test
 * below checks it does no harm instead.
 */
const KINDS: MisbehaviourKind[] = [
  "ggtt_out_of_slice",
  "priv_reg_write",
  "bad_address",
  "ring_garbage",
  "rejected_command",
  "insufficient_resources",
];

/** The failsafe reason each kind must produce (docs/domain.md section 9). */
const REASON: Partial<Record<MisbehaviourKind, string>> = {
  ggtt_out_of_slice: "guest_error",
  priv_reg_write: "guest_error",
  bad_address: "guest_error",
  ring_garbage: "guest_error",
  rejected_command: "guest_error",
  insufficient_resources: "insufficient_resource",
};

const VICTIMS = ["render", "media", "desk"];
const T_ATTACK = 1e9, T1 = 1.5e9, T2 = 3e9;
const TOLERANCE = 0.05;
/** Sum of weights with / without the attacker: render 4 + media 2 + desk 2 (+ evil 2). */
const WEIGHT_RATIO = 10 / 8;

const FIXTURE = new URL("./fixtures/scenarios/containment.gvt", import.meta.url).pathname;
const BASE = Deno.readTextFileSync(FIXTURE);

/** The fixture with the attacker removed (its `vm evil` line), for the no-attacker world. */
function withoutAttacker(text: string): string {
  const out = text.split("\n").filter((l) => !/^vm evil\b/.test(l)).join("\n");
  assert.notEqual(out, text, "the fixture declares `vm evil` on one line");
  return out;
}

interface Run {
  /** Batches completed in the window per VM. */
  window: Record<string, number>;
  /** Results at the window's start and end. */
  a: Results;
  b: Results;
  /** The attacker's state just before the attack. */
  before: string;
  world: World;
}

interface RunOptions {
  hypervisor?: string;
  /** Scenario text (default: the fixture). */
  text?: string;
  /** Measurement window (ns, default [1.5 s, 3 s]); the run ends at its end. */
  t1?: number;
  t2?: number;
}

async function run(timeline: string, opts: RunOptions = {}): Promise<Run> {
  const t1 = opts.t1 ?? T1, t2 = opts.t2 ?? T2;
  const text = `${opts.text ?? BASE}\ntimeline {\n${timeline}\n  run ${t2 / 1e6}ms\n}\n`;
  const r = parseScenarioText(text, FIXTURE);
  assert.ok(r.scenario, formatDiagnostics(r.diagnostics, r.sources));
  assert.equal(r.scenario.host.invariants, true, "the fixture turns the invariant checker on");
  const w = await World.create(r.scenario, { hypervisor: opts.hypervisor });
  if (w instanceof WorldError) throw new Error(w.message);
  w.run(T_ATTACK - 1e6);
  const evil = w.vm("evil");
  const before = evil ? w.stateOf(evil) : "absent";
  w.run(t1);
  const a = collectResults(w);
  w.run(t2);
  const b = collectResults(w);
  const window: Record<string, number> = {};
  b.vms.forEach((v, i) => (window[v.name] = v.completed - a.vms[i].completed));
  return { window, a, b, before, world: w };
}

/** Everything the attack must show, except the victims' throughput. */
function assertContained(kind: MisbehaviourKind, got: Run, containedBy: number): void {
  const evil = vmOf(got.b, "evil");
  // The attacker was well-behaved until 1 s, and is contained after.
  assert.equal(got.before, "running", `${kind}: attacker running before the attack`);
  assert.equal(evil.state, "failsafe", `${kind}: attacker state ${evil.state}`);
  const log = got.world.gvt.failsafeLog;
  assert.equal(log.length, 1, `${kind}: one failsafe entry: ${JSON.stringify(log)}`);
  assert.equal(log[0].vm, "evil", `${kind}: only the attacker enters failsafe`);
  assert.equal(log[0].reason, REASON[kind], `${kind}: ${JSON.stringify(log[0])}`);
  assert.ok(
    log[0].at >= T_ATTACK && log[0].at < containedBy,
    `${kind}: contained at ${log[0].at} ns, expected in [${T_ATTACK}, ${containedBy})`,
  );
  // Nothing of the attacker runs on the GPU during the window.
  for (const e of ["rcs", "bcs", "vcs", "vecs"] as const) {
    const busy = evil.engines[e].busyNs - vmOf(got.a, "evil").engines[e].busyNs;
    assert.equal(busy, 0, `${kind}: attacker has no ${e} time after containment`);
  }
  // The isolation invariant was checked the whole run and never broken.
  assert.equal(got.b.isolation.checked, true);
  assert.equal(got.b.isolation.violations, 0, `${kind}: isolation violations`);
  assert.equal(got.world.gvt.invariants.violations.length, 0);
  assert.equal(got.b.hypervisor.errors.length, 0, `${kind}: no backend errors`);
}

function vmOf(r: Results, name: string) {
  const v = r.vms.find((x) => x.name === name);
  assert.ok(v, `VM ${name} in the results`);
  return v;
}

/** Asserts every victim's window throughput is within 5% of the reference's; returns the deltas. */
function assertVictims(what: string, got: Run, ref: Run): string {
  const parts: string[] = [];
  for (const name of VICTIMS) {
    const g = got.window[name], r = ref.window[name];
    assert.ok(r > 20, `${what}: victim ${name} is busy in the reference window (${r} batches)`);
    const delta = (g - r) / r;
    parts.push(`${name} ${g}/${r} (${(delta * 100).toFixed(2)}%)`);
    assert.ok(
      Math.abs(delta) <= TOLERANCE,
      `${what}: victim ${name} completed ${g} batches in [1.5 s, 3 s] vs ${r} in the reference ` +
        `(${(delta * 100).toFixed(1)}%, tolerance 5%)`,
    );
    assert.equal(vmOf(got.b, name).state, "running", `${what}: victim ${name} still running`);
  }
  return parts.join(", ");
}

for (const hv of ["kvm", "xen"]) {
  let refPromise: Promise<Run> | undefined;
  const reference = () => (refPromise ??= run("  at 1s pause evil", { hypervisor: hv }));

  for (const kind of KINDS) {
    Deno.test(`containment (${hv}): ${kind} at 1 s -> failsafe, clean, victims within 5%`, async () => {
      const ref = await reference();
      const got = await run(`  at 1s misbehave evil ${kind} 4`, { hypervisor: hv });
      assertContained(kind, got, T1);
      // Victims: same throughput after containment as when the attacker merely stops.
      const deltas = assertVictims(kind, got, ref);
      console.log(`    ${hv} ${kind}: ${deltas}`);
    });
  }

  Deno.test(`containment (${hv}): the reference is fair (attacker busy / absent)`, async () => {
    const ref = await reference();
    assert.equal(ref.before, "running");
    assert.equal(vmOf(ref.b, "evil").state, "paused");
    assert.equal(ref.b.isolation.violations, 0);
    assert.deepEqual(ref.world.gvt.failsafeLog, []);
    // An attacker that keeps rendering benignly: its share is not given back to the
    // victims (the time-based scheduler does not hand a vGPU's unused credit to others),
    // but its batches interleave with `desk`'s and cost it a few percent of throughput.
    // That is the "benign share disappears" effect the paused reference removes.
    const busy = await run("", { hypervisor: hv });
    assert.ok(busy.window.evil > 20, `attacker busy: ${busy.window.evil}`);
    for (const name of VICTIMS) {
      const d = (busy.window[name] - ref.window[name]) / ref.window[name];
      console.log(
        `    ${hv} attacker busy vs paused: ${name} ${busy.window[name]}/${ref.window[name]} (${
          (d * 100).toFixed(2)
        }%)`,
      );
      assert.ok(Math.abs(d) <= 0.10, `${name}: ${(d * 100).toFixed(1)}%`);
    }
    // No attacker VM at all: every victim gets more, because credit is split by weight over
    // all active vGPUs, including a paused or failsafe one (upstream gvt_balance_timeslice
    // sums the weights of every vGPU on the run queue). Victims' share scales by
    // sum(weights with attacker) / sum(weights without) = 10 / 8.
    const none = await run("", { hypervisor: hv, text: withoutAttacker(BASE) });
    assert.equal(none.b.vms.length, VICTIMS.length);
    for (const name of VICTIMS) {
      const ratio = none.window[name] / ref.window[name];
      console.log(
        `    ${hv} no attacker vs paused: ${name} ${none.window[name]}/${ref.window[name]} ` +
          `(x${ratio.toFixed(3)})`,
      );
      assert.ok(
        Math.abs(ratio / WEIGHT_RATIO - 1) <= TOLERANCE,
        `${name}: x${ratio.toFixed(3)} vs x${WEIGHT_RATIO} (weights)`,
      );
    }
  });
}

// The default start-up priority (2 s): a vGPU joins at the head of the LRU run queue when
// its guest enables execlists (sched_policy.c tbs_sched_start_schedule), and one with
// pri_sched is not rotated for its first 2 s, so the newest vGPU with pending work wins
// every pick. The attacker is the newest here: its hostile batch is dispatched, scanned and
// contained at once, as the MMIO-path kinds are. Victims are compared in [2.5 s, 4 s].
Deno.test("containment (kvm, default start-up priority): the newest vGPU runs first, so the attacker is contained at once", async () => {
  const text = BASE.replace(/scheduler gvt \{[^}]*\}/, "scheduler gvt");
  assert.notEqual(text, BASE);
  const o = { text, t1: 2.5e9, t2: 4e9 };
  const ref = await run("  at 1s pause evil", o);
  for (const kind of KINDS) {
    const got = await run(`  at 1s misbehave evil ${kind} 4`, o);
    assertContained(kind, got, o.t1);
    const at = got.world.gvt.failsafeLog[0].at;
    assert.ok(at < T_ATTACK + 50e6, `${kind}: contained right after the attack (${at} ns)`);
    console.log(
      `    default ${kind} (contained at ${(at / 1e9).toFixed(3)} s): ${
        assertVictims(kind, got, ref)
      }`,
    );
  }
});

Deno.test("containment (kvm): random_mmio does no harm: isolation holds, victims run on", async () => {
  const got = await run("  at 1s misbehave evil random_mmio 50");
  assert.equal(got.b.isolation.violations, 0);
  assert.equal(got.world.gvt.invariants.violations.length, 0);
  assert.equal(got.b.hypervisor.errors.length, 0);
  for (const name of VICTIMS) {
    assert.equal(vmOf(got.b, name).state, "running");
    assert.ok(got.window[name] > 20, `${name} keeps completing batches: ${got.window[name]}`);
  }
  const log = got.world.gvt.failsafeLog;
  assert.ok(log.every((e) => e.vm === "evil"), "only the attacker may enter failsafe");
});
