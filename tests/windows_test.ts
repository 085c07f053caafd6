// Measurement windows: `share(vm, rcs, 2s..6s)`, `latency(vm, p99, 1s..)`, `warmup T`,
// `report { window A..B; period T }`, from the DSL through a run, the CLI and the REPL.
import assert from "node:assert/strict";
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { formatScenario } from "../dsl/format.ts";
import { simulate } from "../cli/run.ts";
import { ReplSession } from "../cli/repl_session.ts";
import { type World, WorldError } from "../core/world.ts";
import { WorldWindows } from "../core/metrics/windows.ts";
import type { Scenario } from "../core/scenario.ts";
import { gvtsimTask } from "./task_util.ts";

const S = 1e9;
const HEAD = "scenario w\nseed 3\nhost skylake { hypervisor kvm; scheduler gvt }\n" +
  "vm a { type V5_4; run spin }\nvm b { type V5_8; run spin }\n" +
  "workload spin { loop { rcs batch { draw 100 }; wait completion } }\n";

function parse(text: string): Scenario {
  const r = parseScenarioText(text, "w.gvt");
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics, r.sources));
  return r.scenario;
}

function diagnostics(text: string): string {
  const r = parseScenarioText(text, "w.gvt");
  assert.equal(r.scenario, undefined, "must not check");
  return formatDiagnostics(r.diagnostics, r.sources);
}

Deno.test("windows: the DSL reads A..B, A.. and ..B as the last argument, warmup and report settings", () => {
  const s = parse(
    HEAD + "warmup 500ms\ntimeline { run 3s }\n" +
      "expect share(a, rcs, 2s..3s) > 0\nexpect latency(a, p99, 1.5s..) > 0\n" +
      "expect fps(b, ..2s) >= 0\nexpect share(a, 1s..) > 0\nexpect traps(a) > 0\n" +
      "report { window 1s..2500ms; period 50ms }\n",
  );
  const calls = s.expects.map((e) => e.pred.k === "cmp" && e.pred.left.k === "call" && e.pred.left);
  assert.deepEqual(calls.map((c) => c && c.window), [
    { from: 2 * S, to: 3 * S },
    { from: 1.5 * S },
    { from: 0, to: 2 * S },
    { from: 1 * S },
    undefined,
  ]);
  assert.deepEqual(calls.map((c) => c && c.args), [["a", "rcs"], ["a", "p99"], ["b"], ["a"], [
    "a",
  ]]);
  assert.equal(s.warmup, 0.5 * S);
  assert.deepEqual(s.report.window, { from: 1 * S, to: 2.5 * S });
  assert.equal(s.report.periodNs, 50e6);
});

Deno.test("windows: bad windows are reported at their place, all at once", () => {
  const text = HEAD + "warmup 1s\nwarmup 2s\ntimeline { run 3s }\n" +
    "expect traps(a, 1s..) > 0\n" +
    "expect share(a, 3s..2s) > 0\n" +
    "expect share(a, 1s.., rcs) > 0\n" +
    "expect fps(a, 1MiB..) > 0\n" +
    "expect state(a, 1s..) is running\n" +
    "report { window 2s; period 1ns }\n";
  assert.equal(
    diagnostics(text),
    `w.gvt:8:1: error: duplicate warmup
   8 | warmup 2s
     | ^~~~~~
w.gvt:10:17: error: traps() takes no window (functions with one: fps, frames, share, busy, latency, throughput)
  10 | expect traps(a, 1s..) > 0
     |                 ^~~~
w.gvt:11:17: error: empty window 3s..2s: the end must come after the start
  11 | expect share(a, 3s..2s) > 0
     |                 ^~~~~~
w.gvt:12:17: error: the window is the last argument of share()
  12 | expect share(a, 1s.., rcs) > 0
     |                 ^~~~
w.gvt:13:15: error: unit mismatch: window start is a time (ns, us, ms, s) but '1MiB' is a size (B, KiB, MiB, GiB)
  13 | expect fps(a, 1MiB..) > 0
     |               ^~~~
w.gvt:14:17: error: state() takes no window (functions with one: fps, frames, share, busy, latency, throughput)
  14 | expect state(a, 1s..) is running
     |                 ^~~~
w.gvt:15:17: error: expected a window such as 2s..6s or 1s.., found '2s'
  15 | report { window 2s; period 1ns }
     |                 ^~
w.gvt:15:28: error: value out of range: report period 1ns must be between 1us and 3600s
  15 | report { window 2s; period 1ns }
     |                            ^~~
`,
  );
  assert.match(
    diagnostics(HEAD + "warmup 3s\ntimeline { run 3s }\n"),
    /warmup 3s leaves nothing to measure: the run ends at 3s/,
  );
});

Deno.test("windows: fmt writes a window without spaces and keeps it", () => {
  const src = "expect share(a, rcs, 2s .. 6s) > 0\nreport { window 1s ..; period 50ms }\n";
  const out = formatScenario(src, "w.gvt").text!;
  assert.ok(out.includes("share(a, rcs, 2s..6s)"), out);
  assert.ok(out.includes("window 1s.."), out);
  assert.equal(formatScenario(out, "w.gvt").text, out);
});

async function world(text: string): Promise<World> {
  const sim = await simulate(parse(text), {});
  if (sim instanceof WorldError) throw new Error(sim.message);
  return sim.world;
}

Deno.test("windows: a window over the whole run gives the whole-run figures; parts add up", async () => {
  const w = await world(HEAD + "timeline { run 2s }\n");
  const { collectResults } = await import("../core/metrics/collect.ts");
  const r = collectResults(w);
  const win = new WorldWindows(w);
  for (const vm of r.vms) {
    const all = { from: 0 };
    assert.equal(win.value("share", [vm.name, "rcs"], all), vm.engines.rcs.share);
    assert.equal(win.value("busy", [vm.name, "rcs"], all), vm.engines.rcs.busyNs);
    assert.equal(win.value("throughput", [vm.name], all), vm.throughput);
    for (const p of ["p50", "p90", "p99", "max"] as const) {
      assert.equal(win.value("latency", [vm.name, p], all), vm.latency[p]);
    }
    const b1 = win.value("busy", [vm.name, "rcs"], { from: 0, to: 0.7 * S });
    const b2 = win.value("busy", [vm.name, "rcs"], { from: 0.7 * S });
    assert.equal(b1 + b2, vm.engines.rcs.busyNs);
  }
  assert.throws(() => win.value("share", ["a"], { from: 5 * S }), /after its end/);
  assert.throws(() => win.value("traps", ["a"], { from: 0 }), /has no window/);
});

Deno.test("windows: warmup and report windows set the figures; expectations use them", async () => {
  const text = HEAD + "warmup 2s\ntimeline { run 3s }\n" +
    "expect share(a, rcs) / share(b, rcs) within 10% of 2\n" +
    "expect share(b, rcs, 0s..1s) > 0.9\n" +
    "expect share(a, rcs, 5s..) > 0\n";
  const sim = await simulate(parse(text), {});
  assert.ok(!(sim instanceof WorldError));
  const r = sim.results;
  assert.deepEqual(r.window, { from: 2 * S, to: 3 * S });
  const [ratio, startup, late] = r.expectations;
  assert.ok(ratio.pass, JSON.stringify(ratio));
  assert.ok(startup.pass, "the newest vGPU (b) has the engine during its start-up priority");
  assert.equal(late.pass, false);
  assert.match(late.expected, /starts at 5000000000 ns, at or after its end/);
  // Without warmup the first 2 s (start-up priority) dominate and the ratio is far from 2.
  const plain = await simulate(parse(HEAD + "timeline { run 3s }\n"), {});
  assert.ok(!(plain instanceof WorldError));
  const [a, b] = plain.results.vms;
  assert.ok(a.engines.rcs.share / b.engines.rcs.share < 1.5);
  assert.equal(plain.results.window, undefined);
});

Deno.test("windows: the share series is clipped per period (never above 1) at any period", async () => {
  const long = "scenario l\nseed 1\nhost skylake { hypervisor kvm; scheduler gvt }\n" +
    "vm x { type V5_4; run big }\nvm y { type V5_4; run big }\n" +
    "workload big { loop { rcs batch { draw 700 }; wait completion } }\n" +
    "timeline { run 1s }\nreport { period 5ms }\n";
  const sim = await simulate(parse(long), {});
  assert.ok(!(sim instanceof WorldError));
  const s = sim.results.series;
  assert.equal(s.periodNs, 5e6);
  assert.equal(s.t.length, 200);
  let busiest = 0;
  for (let k = 0; k < s.t.length; k++) {
    const sum = s.share.x[k] + s.share.y[k];
    assert.ok(sum <= 1 + 1e-9, `period ${k}: ${sum}`);
    busiest = Math.max(busiest, sum);
  }
  assert.ok(busiest > 0.99, `14 ms batches keep the engine busy: ${busiest}`);
});

Deno.test("windows: the CLI runs windowed expectations (exit 0, and 1 when one fails)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.gvt`;
    const run = async (expect: string) => {
      await Deno.writeTextFile(path, HEAD + "timeline { run 2500ms }\n" + expect);
      return await gvtsimTask(["run", path]);
    };
    const ok = await run("expect share(a, rcs, 2s..) / share(b, rcs, 2s..) within 15% of 2\n");
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /PASS .*share\(a, rcs, 2s\.\.\)/);
    const bad = await run("expect latency(a, p99, 1s..2s) < 1us\n");
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /FAIL .*latency\(a, p99, 1s\.\.2s\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("windows: the REPL watches windowed expressions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.gvt`;
    await Deno.writeTextFile(path, HEAD + "timeline { run 3s }\n");
    const s = new ReplSession();
    assert.match(await s.exec(`load ${path}`), /loaded w/);
    assert.match(
      await s.exec("watch share(b, rcs, 100ms..)"),
      /share\(b, rcs, 100ms\.\.\) = n\/a \(the window starts at 100000000 ns/,
    );
    const out = await s.exec("run 500ms");
    const v = Number(/share\(b, rcs, 100ms\.\.\) = ([\d.]+)/.exec(out)?.[1]);
    assert.ok(v > 0.5 && v <= 1, out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
