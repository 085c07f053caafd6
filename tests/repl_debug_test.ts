/**
 * The REPL as a debugger, through its real front end (`gvtsim repl` on piped stdin): named
 * events, times in the unit that fits, breakpoints and watchpoints, memory dump, trace
 * filtering, per-command help; and argument-aware completion.
 */
import assert from "node:assert/strict";
import { ReplSession } from "../cli/repl.ts";
import { REPL_COMMANDS } from "../cli/repl_help.ts";
import { pendingEvents } from "../core/snapshot.ts";
import { gvtsimTask } from "./task_util.ts";

async function repl(script: string[]): Promise<{ code: number; out: string; err: string }> {
  const home = await Deno.makeTempDir();
  try {
    return await gvtsimTask(["repl", "scenarios/demo.gvt"], {
      stdin: script.join("\n") + "\n",
      env: { HOME: home },
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("repl debug: breakpoints and watchpoints stop run and continue", async () => {
  const r = await repl([
    "break irq game",
    "break reg game PIPEA_FLIPCOUNT",
    "break",
    "run 50ms",
    "delete 1",
    "run 50ms",
    "delete all",
    "break failsafe",
    "continue",
    "delete all",
    "break when fps(game) < 1000",
    "run 10ms",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /breakpoint 1: irq game/);
  assert.match(r.out, /1: irq game\n2: reg game PIPEA_FLIPCOUNT/);
  // the guest's boot writes the flip counter (a watchpoint), then its first flip
  assert.match(
    r.out,
    /breakpoint 2 \(reg game PIPEA_FLIPCOUNT\): game PIPEA_FLIPCOUNT changed 0x00000000 -> 0x00000001\nstopped at [\d.]+(ns|us|ms) \(after /,
  );
  assert.match(r.out, /deleted breakpoint 1: irq game/);
  assert.match(
    r.out,
    /changed 0x00000001 -> 0x00000002\nstopped at [\d.]+ms \(after [\d.]+ms, \d+ events\)/,
  );
  assert.match(
    r.out,
    // the intruder's LRI is scanned in its ELSP write at 2 s (intel_vgpu_create_workload)
    /breakpoint 3 \(failsafe\): failsafe: intruder guest_error .*\nstopped at 2s \(/,
  );
  assert.match(r.out, /breakpoint 4 \(when fps\(game\) < 1000\): fps\(game\) < 1000 \(\d+/);
});

Deno.test("repl debug: named events, exact times, memory dump, trace filter, help", async () => {
  const r = await repl([
    "events 8",
    "run 2500us",
    "mem game 0x0 20",
    "run 20ms",
    "trace 3 irq game",
    "help mem",
    "help break",
    "help continue",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, / [\d.]+(ns|us|ms) +#0 +workload step \(WorkloadRunner\)/);
  assert.match(r.out, /500ms +#\d+ +start of VM intruder \(World\)/);
  assert.match(r.out, /2s +#\d+ +timeline event 1 \(misbehave\) \(World\)/);
  assert.doesNotMatch(r.out, /kind \d+ arg/);
  assert.match(r.out, /ran 2\.5ms: now 2\.5ms/);
  assert.match(r.out, /gvtsim demo 2\.5ms> /, "the prompt's time is exact");
  assert.match(
    r.out,
    /> 0x0000000000 {2}(00 ){15}00 {2}\.{16}\n0x0000000010 {2}(00 ){3}00 +\.{4}\n/,
  );
  const traced = r.out.split("\n").filter((l) => /instant game\/driver .*irq/.test(l));
  assert.equal(traced.length, 3, r.out);
  assert.match(r.out, /mem <vm> <gpa> \[bytes\]\n {2}a hex dump of guest memory/);
  assert.match(r.out, /break reg <vm> <register> \| irq <vm> \| failsafe \| when <condition>/);
  assert.match(r.out, /continue\n {2}run to the end of the scenario's run/);
});

Deno.test("repl debug: completion knows which argument comes next", async () => {
  const s = new ReplSession();
  assert.match(await s.exec("load scenarios/demo.gvt"), /^loaded demo/);
  const vms = ["desktop", "encoder", "game", "intruder"];
  assert.deepEqual(s.complete("vm ")[0], vms);
  assert.deepEqual(s.complete("pause ")[0], vms);
  assert.deepEqual(s.complete("until ")[0], ["failsafe", "irq", "switch"]);
  assert.deepEqual(s.complete("until irq ")[0], vms);
  assert.deepEqual(s.complete("break ")[0], ["failsafe", "irq", "reg", "when"]);
  assert.ok(s.complete("break reg game RCS_RING_T")[0].includes("RCS_RING_TAIL"));
  assert.deepEqual(s.complete("ggtt game ")[0], ["aperture", "hidden"]);
  assert.deepEqual(s.complete("misbehave game ring")[0], ["ring_garbage"]);
  assert.deepEqual(s.complete("watch latency(game, p9")[0], ["p90", "p99"]);
  assert.deepEqual(s.complete("help bre")[0], ["break"]);
  assert.deepEqual(s.complete("toString ")[0], [], "an inherited name is no command");
  assert.ok(s.complete("vm ")[0].length < 10, "not every word of the language");
});

Deno.test("repl debug: every event sink of a running world has names, every command help", async () => {
  const s = new ReplSession();
  await s.exec("load scenarios/faults.gvt");
  const seen = new Map<string, string>();
  for (let i = 0; i < 40; i++) {
    for (const e of pendingEvents(s.world!.sim)) {
      const d = e.target.describeEvent?.(e.kind, e.arg);
      assert.ok(d, `no names for ${e.sink}'s events`);
      seen.set(e.sink, d);
    }
    await s.exec("run 20ms");
  }
  for (const sink of ["World", "GvtScheduler", "VirtualDisplay", "WorkloadRunner"]) {
    assert.ok(seen.has(sink), `${sink} had no pending event in 800 ms`);
  }
  // A vGPU id is named with its VM in the REPL's listing.
  assert.match(await s.exec("events 200"), /virtual vblank of vGPU 2 \(noisy\) \(VirtualDisplay\)/);
  for (const c of REPL_COMMANDS) {
    assert.match(await s.exec(`help ${c.name}`), new RegExp(`^${c.name}`), c.name);
  }
});
