// Time-accurate execution seen from the guests of a whole world (DSL text -> World -> run):
// completion, latency, flips, boot and the loop period follow the GPU's execution time.
import assert from "node:assert/strict";
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { simulate } from "../cli/run.ts";
import { traceEvents } from "../cli/trace.ts";
import { WorldError } from "../core/world.ts";
import { checkTiming, executions } from "./timing_guard.ts";

const MS = 1e6;

async function runText(body: string, seconds: number) {
  const text = `scenario t\nseed 3\nhost skylake { hypervisor kvm; scheduler gvt }\n${body}\n` +
    `timeline { run ${seconds}s }\n`;
  const r = parseScenarioText(text, "t.gvt");
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics, r.sources));
  const sim = await simulate(r.scenario, { trace: true });
  if (sim instanceof WorldError) throw new Error(sim.message);
  return { ...sim, events: traceEvents(sim.world.trace!, sim.results) };
}

Deno.test("e2e timing: a flip right after a batch (no wait) shows only after the batch completed", async () => {
  const { results, events } = await runText(
    "vm a { type V5_4; run w }\nworkload w { at 30fps { rcs batch { draw 400 }; flip } }",
    1,
  );
  const { flips } = checkTiming(events, results);
  assert.ok(flips >= 25, `${flips} flips`);
  assert.ok(results.vms[0].frames >= 25);
});

Deno.test("e2e timing: `loop { batch; wait completion; think T }` repeats every batch + T + overheads", async () => {
  const { results, events } = await runText(
    "vm a { type V5_4; run w }\n" +
      "workload w { loop { rcs batch { draw 500 }; wait completion; think 20ms } }",
    1,
  );
  checkTiming(events, results);
  const x = executions(events, 1).filter((e) => e.done);
  assert.ok(x.length >= 30, `${x.length} batches`);
  for (let i = 1; i < x.length; i++) {
    const period = x[i].start - x[i - 1].start, batch = x[i - 1].end - x[i - 1].start;
    assert.ok(batch >= 10 * MS && batch < 10.1 * MS, `batch ${batch}`);
    // Interrupt delivery, the guest's handler and submission, the mediator's
    // prepare path: well under half a millisecond in all.
    assert.ok(period >= batch + 20 * MS && period < batch + 20.5 * MS, `period ${period}`);
  }
  const lat = results.vms[0].latency;
  assert.ok(lat.p50 >= 10 * MS && lat.max < 10.5 * MS, JSON.stringify(lat));
});

Deno.test("e2e timing: boot is not part of any latency; the first batch runs after it", async () => {
  const { results, events, world } = await runText(
    "vm a { type V5_4; run w }\n" +
      "workload w { loop { rcs batch { draw 50 }; wait completion; think 5ms } }",
    0.5,
  );
  const boot = results.vms[0].counters["guest.boot_ns"];
  assert.ok(boot > 5 * MS, `boot ${boot}`);
  const first = executions(events, 1)[0];
  assert.ok(first.submit >= boot, `first submission at ${first.submit}, boot ${boot}`);
  assert.ok(results.vms[0].latency.max < 2 * MS, JSON.stringify(results.vms[0].latency));
  assert.ok(world.gvt.globalCounters.ticks > 0);
});

Deno.test("e2e timing: the scheduler counts its balance periods (sched.balances)", async () => {
  const { results } = await runText(
    "vm a { type V5_4; run w }\nworkload w { loop { rcs batch { draw 50 }; wait completion } }",
    1,
  );
  const n = results.scheduler.counters["sched.balances"];
  assert.ok(n >= 9 && n <= 11, `${n} balances in 1 s of 100 ms periods`);
});
