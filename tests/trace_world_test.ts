/**
 * `run --trace` on real runs: the mediator and guest drivers emit workload slices, traps,
 * interrupts, switches, failsafe, resets, plugin errors and submission -> execution flows,
 * in a file that follows the Chrome trace-event format as Perfetto reads it. Tracing never
 * changes the simulation.
 */
import assert from "node:assert/strict";
import { runScenario } from "../cli/run.ts";
import { traceJson } from "../cli/trace.ts";
import { loadScenario } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import { DRIVER_THREAD, GPU_PID, SCHED_THREAD, TraceLog } from "../core/metrics/trace.ts";
import { demoResults } from "./fixtures/results_demo.ts";

interface Ev {
  name: string;
  cat?: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  s?: string;
  id?: number;
  bp?: string;
  args?: Record<string, number | string>;
}

const DEMO = new URL("../scenarios/demo.gvt", import.meta.url).pathname;
const quiet = { out: () => {}, err: () => {}, progress: false };

async function tracedRun(
  path: string,
  until: number,
): Promise<{ events: Ev[]; other: Record<string, unknown>; bytes: number }> {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const r = await runScenario(path, { ...quiet, trace: file, until });
    assert.ok(r.results, "the run happened");
    const text = await Deno.readTextFile(file);
    const t = JSON.parse(text);
    return { events: t.traceEvents, other: t.otherData, bytes: text.length };
  } finally {
    await Deno.remove(file);
  }
}

/** Demo until 2.5 s: the intruder misbehaves at 2 s. */
const demo = await tracedRun(DEMO, 2.5e9);
const ev = demo.events;

const procName = (pid: number) =>
  ev.find((e) => e.ph === "M" && e.name === "process_name" && e.pid === pid)?.args?.name;
const threadName = (pid: number, tid: number) =>
  ev.find((e) => e.ph === "M" && e.name === "thread_name" && e.pid === pid && e.tid === tid)
    ?.args?.name;

Deno.test("trace world: parses, processes per VM and the GPU, engine and driver threads", () => {
  assert.equal(demo.other.droppedRecords, 0);
  assert.equal(demo.other.scenario, "demo");
  assert.equal(procName(GPU_PID), "GPU");
  ["encoder", "desktop", "game", "intruder"].forEach((n, i) => assert.equal(procName(i + 1), n));
  for (let pid = 0; pid <= 4; pid++) {
    ["RCS", "BCS", "VCS", "VECS"].forEach((n, tid) => assert.equal(threadName(pid, tid), n));
  }
  for (let pid = 1; pid <= 4; pid++) assert.equal(threadName(pid, DRIVER_THREAD), "driver");
  assert.equal(threadName(GPU_PID, SCHED_THREAD), "scheduler");
  for (const e of ev) {
    assert.ok(["M", "X", "i", "C", "s", "f"].includes(e.ph), e.ph);
    if (e.ph !== "M") assert.ok(typeof e.ts === "number" && e.ts >= 0 && e.ts <= 2.5e6);
  }
});

Deno.test("trace world: workload slices in microseconds on VM and GPU engine threads", () => {
  const wl = ev.filter((e) => e.ph === "X" && e.cat === "workload");
  const vmSide = wl.filter((e) => e.pid > 0);
  const gpuSide = wl.filter((e) => e.pid === GPU_PID);
  assert.ok(vmSide.length > 300, `${vmSide.length} workload slices`);
  assert.equal(vmSide.length, gpuSide.length);
  for (const e of wl) {
    assert.ok(e.dur! > 0, `${e.name} has a positive duration`);
    assert.ok(e.tid! >= 0 && e.tid! <= 3);
  }
  for (const e of vmSide) {
    assert.match(e.name, /^(rcs|bcs|vcs|vecs) workload/);
    assert.equal(["rcs", "bcs", "vcs", "vecs"][e.tid!], e.name.split(" ")[0]);
  }
  for (const e of gpuSide) assert.ok(["game", "encoder", "desktop", "intruder"].includes(e.name));
  // Microseconds: the game renders at 60 fps, so its render slices are 16.7 ms = 16 667 us
  // apart on average, and one lasts well under a frame.
  const game = vmSide.filter((e) => e.pid === 3 && e.tid === 0);
  const period = (game[game.length - 1].ts! - game[0].ts!) / (game.length - 1);
  assert.ok(period > 15_000 && period < 18_500, `frame period ${period} us`);
  assert.ok(game.every((e) => e.dur! < 16_667));
  // Each engine runs one workload at a time on the GPU: its slices never overlap.
  for (let tid = 0; tid < 4; tid++) {
    const s = gpuSide.filter((e) => e.tid === tid).sort((a, b) => a.ts! - b.ts!);
    for (let i = 1; i < s.length; i++) assert.ok(s[i].ts! >= s[i - 1].ts! + s[i - 1].dur! - 1e-6);
  }
});

Deno.test("trace world: slices on every thread nest properly (Perfetto's requirement)", () => {
  const byThread = new Map<string, Ev[]>();
  for (const e of ev) {
    if (e.ph !== "X") continue;
    const k = `${e.pid}/${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k)!.push(e);
  }
  const ns = (x: number) => Math.round(x * 1000);
  for (const [k, list] of byThread) {
    list.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
    const stack: number[] = [];
    for (const e of list) {
      const start = ns(e.ts!), end = ns(e.ts! + e.dur!);
      while (stack.length && stack[stack.length - 1] <= start) stack.pop();
      if (stack.length) assert.ok(end <= stack[stack.length - 1], `${k}: ${e.name} at ${e.ts}`);
      stack.push(end);
    }
  }
});

Deno.test("trace world: trap, interrupt, switch, violation and failsafe instants", () => {
  const inst = ev.filter((e) => e.ph === "i");
  for (const e of inst) assert.equal(e.s, "t");
  const names = new Set(inst.map((e) => e.name));
  for (
    const n of [
      "trap mmio elsp write",
      "trap mmio irq read",
      "trap ggtt write",
      "trap cfg write",
      "trap page_track write",
      "irq context_switch",
      "irq user",
      "msi",
      "switch to game",
      "start",
    ]
  ) assert.ok(names.has(n), n);
  for (const e of inst.filter((e) => e.cat === "trap" || e.cat === "irq")) {
    assert.ok(e.pid >= 1 && e.pid <= 4);
    assert.equal(e.tid, DRIVER_THREAD);
  }
  // Traps of one guest operation are one instant with a count.
  assert.ok(inst.some((e) => e.cat === "trap" && (e.args?.count as number) > 1));
  const switches = inst.filter((e) => e.cat === "sched");
  assert.ok(switches.length > 100);
  for (const e of switches) assert.deepEqual([e.pid, e.tid], [GPU_PID, SCHED_THREAD]);
  const sched = ev.filter((e) => e.ph === "X" && e.cat === "sched");
  assert.ok(sched.length > 100 && sched.every((e) => e.pid === GPU_PID && e.dur! >= 0));
  const fs = inst.filter((e) => e.cat === "failsafe");
  assert.equal(fs.length, 1);
  assert.equal(fs[0].pid, 4, "the intruder's process");
  assert.equal(fs[0].name, "failsafe guest_error");
  assert.equal(fs[0].args?.reason, "guest_error");
  assert.match(String(fs[0].args?.detail), /not whitelisted/);
  assert.ok(fs[0].ts! >= 2e6 && fs[0].ts! < 2.1e6, `failsafe at ${fs[0].ts} us`);
  const viol = inst.filter((e) => e.cat === "scan");
  assert.equal(viol.length, 1);
  assert.equal(viol[0].pid, 4);
  assert.equal(viol[0].name, "violation register");
});

Deno.test("trace world: flows go from a submission slice to the execution slice", () => {
  const starts = ev.filter((e) => e.ph === "s");
  const ends = ev.filter((e) => e.ph === "f");
  assert.ok(starts.length > 300);
  assert.equal(starts.length, ends.length);
  const endById = new Map(ends.map((e) => [e.id!, e]));
  assert.equal(endById.size, ends.length, "flow ids are unique");
  const slices = ev.filter((e) => e.ph === "X");
  const enclosing = (p: Ev) =>
    slices.find((e) =>
      e.pid === p.pid && e.tid === p.tid && e.ts! < p.ts! && p.ts! < e.ts! + e.dur!
    );
  for (const s of starts) {
    const f = endById.get(s.id!);
    assert.ok(f, `flow ${s.id} ends`);
    assert.equal(f.bp, "e");
    const sub = enclosing(s), exec = enclosing(f);
    assert.ok(sub, `flow ${s.id} starts inside a slice`);
    assert.ok(exec, `flow ${s.id} ends inside a slice`);
    assert.equal(sub.tid, DRIVER_THREAD);
    assert.equal(sub.cat, "submit");
    assert.match(sub.name, /^submit (rcs|bcs|vcs|vecs)$/);
    assert.equal(exec.cat, "workload");
    assert.equal(exec.pid, sub.pid, "the VM's own process");
    assert.equal(exec.name.split(" ")[0], sub.name.split(" ")[1], "same engine");
    assert.ok(exec.ts! >= sub.ts!, "execution after submission");
  }
  // Every VM-side execution slice ends a flow; every workload came from a submission.
  const vmExec = slices.filter((e) => e.cat === "workload" && e.pid > 0);
  assert.equal(vmExec.length, ends.length);
});

Deno.test("trace world: resets and plugin errors are instants", async () => {
  const text = (await Deno.readTextFile(DEMO)).replace(
    "at 2s misbehave intruder priv_reg_write",
    "at 200ms reset desktop\n  at 250ms fault injectMsi throw for 2 calls vm game",
  );
  const path = await Deno.makeTempFile({ suffix: ".gvt" });
  try {
    await Deno.writeTextFile(path, text);
    const { events } = await tracedRun(path, 4e8);
    const reset = events.filter((e) => e.ph === "i" && e.cat === "reset");
    assert.ok(reset.some((e) => e.pid === 2 && e.name === "reset dmlr"), "desktop's FLR");
    const errs = events.filter((e) => e.ph === "i" && e.cat === "plugin");
    assert.equal(errs.length, 2);
    for (const e of errs) {
      assert.equal(e.pid, 3);
      assert.equal(e.name, "plugin error injectMsi");
      assert.ok(e.ts! >= 250_000);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("trace world: tracing off creates no log; traced and untraced results are identical", async () => {
  const sc = loadScenario(DEMO).scenario!;
  const w = await World.create(sc);
  assert.ok(w instanceof World);
  assert.equal(w.trace, null);
  assert.equal(w.tracer, null);
  assert.equal(w.gvt.tracer, null);
  w.run(2e8);
  for (const vm of w.vms) if (vm.driver) assert.equal(vm.driver.tracer, null);
  const traced = await World.create(sc, { trace: true });
  assert.ok(traced instanceof World && traced.trace instanceof TraceLog);
  assert.equal(traced.gvt.tracer, traced.tracer);

  const dir = await Deno.makeTempDir();
  try {
    const plain = await runScenario(DEMO, { ...quiet, json: `${dir}/a.json`, until: 2.5e9 });
    const withTrace = await runScenario(DEMO, {
      ...quiet,
      json: `${dir}/b.json`,
      trace: `${dir}/t.json`,
      until: 2.5e9,
    });
    assert.equal(plain.code, withTrace.code);
    const a = await Deno.readFile(`${dir}/a.json`), b = await Deno.readFile(`${dir}/b.json`);
    assert.ok(a.length > 1000);
    assert.deepEqual(a, b, "results JSON byte-identical with and without --trace");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trace world: slices still open at the end are closed at the end of the run", () => {
  const results = demoResults();
  const log = new TraceLog();
  log.begin(0, 1_000, 1, 0, "rcs workload", 7);
  log.submission(500, 200, 1, DRIVER_THREAD, "submit rcs", 7);
  log.begin(1, 2_000, 1, 1, "bcs workload");
  log.end(1, 5_000);
  log.submission(600, 100, 1, DRIVER_THREAD, "submit bcs", 8); // never executed
  const t: Ev[] = JSON.parse(traceJson(log, results)).traceEvents;
  const open = t.find((e) => e.ph === "X" && e.name === "rcs workload")!;
  assert.equal(open.ts, 1);
  assert.equal(open.dur, (results.simulatedNs - 1_000) / 1000);
  assert.equal(open.args?.unfinished, 1);
  assert.equal(t.find((e) => e.ph === "X" && e.name === "bcs workload")!.dur, 3);
  // Flow 7 has both ends; flow 8 has no execution and is not written.
  assert.deepEqual(t.filter((e) => e.ph === "s" || e.ph === "f").map((e) => [e.ph, e.id, e.ts]), [
    ["s", 7, 0.6],
    ["f", 7, (1_000 + Math.floor((results.simulatedNs - 1_000) / 2)) / 1000],
  ]);
});
