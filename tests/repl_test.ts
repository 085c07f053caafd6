import assert from "node:assert/strict";
import { historyPath, ReplSession } from "../cli/repl.ts";
import { gvtsimTask } from "./task_util.ts";

const SCENARIO = "scenarios/weights.gvt";

async function session(): Promise<ReplSession> {
  const s = new ReplSession();
  const out = await s.exec(`load ${SCENARIO}`);
  assert.match(out, /^loaded weights \(scenarios\/weights\.gvt\): 2 VMs, hypervisor kvm/);
  return s;
}

Deno.test("repl: help, help <command>, unknown commands and errors are one line", async () => {
  const s = new ReplSession();
  const help = await s.exec("help");
  for (
    const c of [
      "load",
      "reload",
      "run",
      "step",
      "until",
      "vms",
      "vm",
      "reg",
      "ggtt",
      "ppgtt",
      "queues",
      "sched",
      "counters",
      "trace",
      "events",
      "mmio",
      "watch",
      "unwatch",
      "save",
      "quit",
    ]
  ) {
    assert.match(help, new RegExp(`^  ${c}\\b`, "m"), `help lists ${c}`);
  }
  assert.match(
    await s.exec("help ggtt"),
    /^ggtt <vm> <start \| aperture \| hidden> \[count\]\n {2}GGTT entries/,
  );
  assert.match(await s.exec("help pause"), /timeline statement/);
  assert.equal(await s.exec("help nothing"), "error: no command 'nothing' (help lists them)");
  assert.equal(
    await s.exec("vms"),
    "error: no world: load a scenario first (load scenarios/demo.gvt)",
  );
  assert.equal(
    await s.exec("frobnicate"),
    "error: unknown command 'frobnicate' (help lists the commands)",
  );
  const bad = await s.exec("load /nonexistent/x.gvt");
  assert.match(bad, /^error: cannot read '\/nonexistent\/x\.gvt'/);
  assert.equal(bad.split("\n").length, 1);
  assert.equal(s.prompt(), "gvtsim> ");
  assert.equal(await s.exec(""), "");
  assert.equal(await s.exec("quit"), "");
  assert.equal(s.done, true);
});

Deno.test("repl: run, step, until, and the prompt's time", async () => {
  const s = await session();
  assert.equal(s.prompt(), "gvtsim weights 0ns> ");
  assert.match(await s.exec("run 20ms"), /^ran 20ms: now 20ms, \d+ events$/);
  assert.equal(s.prompt(), "gvtsim weights 20ms> ");
  const before = s.world!.sim.dispatched;
  const evs = (await s.exec("events 2")).split("\n");
  assert.equal(evs.length, 3);
  // named events: what it is, then the receiving class
  const m0 = /^ +([\d.]+ms) +#\d+ +(.+) \((\w+)\)$/.exec(evs[0])!;
  assert.ok(m0, evs[0]);
  assert.doesNotMatch(evs[0], /kind \d+ arg/);
  assert.match(evs[2], /^\(\d+ more\)$/);
  assert.match(
    await s.exec("step"),
    new RegExp(`^event \\d+ at ${m0[1]}: ${m0[2]} \\(${m0[3]}\\)`),
  );
  assert.equal(s.world!.sim.dispatched, before + 1);
  assert.match(await s.exec("step 1ms"), /^ran 1ms/);
  const sw = s.world!.gvt.globalCounters.switches;
  assert.match(
    await s.exec("until switch"),
    /^vGPU switch at [\d.]+m?s \(after [\d.]+[mu]?s\): now (heavy|light) \(vGPU \d\)$/,
  );
  assert.equal(s.world!.gvt.globalCounters.switches, sw + 1);
  const irqs = s.world!.vm("light")!.driver!.metrics.irqs +
    s.world!.vm("light")!.driver!.metrics.msis;
  assert.match(await s.exec("until irq light"), /^interrupt of light at /);
  const m = s.world!.vm("light")!.driver!.metrics;
  assert.ok(m.irqs + m.msis > irqs);
  const t = s.world!.sim.now;
  assert.match(await s.exec("until failsafe 5ms"), /^no failsafe entry within 5ms; now /);
  assert.equal(s.world!.sim.now, t + 5e6);
  assert.equal(
    await s.exec("until nothing"),
    "error: usage: until irq <vm> | switch | failsafe [cap]",
  );
  assert.equal(await s.exec("run soon"), "error: 'soon' is not a duration (e.g. 5s, 100ms, 250us)");
  assert.equal(await s.exec("until irq ghost"), "error: no VM named 'ghost' (VMs: heavy, light)");
});

Deno.test("repl: inspection commands", async () => {
  const s = await session();
  await s.exec("run 50ms");
  const vms = await s.exec("vms");
  assert.match(vms, /^vm +state +type +vgpu +weight/);
  assert.match(vms, /^heavy +running +V5_4 +1 +4/m);
  assert.match(vms, /^light +running +V5_8 +2 +2/m);
  const vm = await s.exec("vm heavy");
  assert.match(vm, /^heavy: running, type V5_4/);
  assert.match(vm, /vGPU 1 \(owner tag 1\), BAR0 0xf0000000/);
  assert.match(vm, /aperture 0x08000000 \+128MiB/);
  assert.match(vm, /sched weight 4, active true, allocated 66\.666664ms/);

  const w = s.world!, v = w.vm("heavy")!.vgpu!;
  const reg = await s.exec("reg heavy RCS_IMR");
  const imr = 0x20a8;
  assert.match(reg, /^RCS_IMR \(0x020a8\) of heavy:/);
  assert.match(
    reg,
    new RegExp(`guest view \\(vreg\\) 0x${(v.vreg[imr >> 2] >>> 0).toString(16).padStart(8, "0")}`),
  );
  assert.match(
    reg,
    new RegExp(`hardware +0x${(w.gpu.regs[imr >> 2] >>> 0).toString(16).padStart(8, "0")}`),
  );
  assert.match(await s.exec("reg heavy 0x20a8"), /^RCS_IMR \(0x020a8\)/);
  assert.equal(
    await s.exec("reg heavy 0x3"),
    "error: register offset 0x00003 must be 4-byte aligned and below 0x200000",
  );
  assert.equal(await s.exec("reg heavy NOPE_REG"), "error: no register named 'NOPE_REG'");

  const ggtt = (await s.exec("ggtt heavy aperture 3")).split("\n");
  assert.match(ggtt[0], /^index +gma +guest +shadow\/host +mfn +owner$/);
  assert.equal(ggtt.length, 5);
  const first = v.ggtt.apIndex;
  assert.match(
    ggtt[2],
    new RegExp(
      `^${first} +0x0*${(first * 4096).toString(16)} +0x0*${v.ggtt.guest[0].toString(16)} `,
    ),
  );
  assert.match(ggtt[2], / heavy$/, "a mapped aperture page belongs to the VM");
  assert.match(await s.exec("ggtt heavy 0 1"), /\(outside\)/);

  const pp = await s.exec("ppgtt heavy");
  assert.match(pp, /^heavy: 1 address space\(s\), \d+ shadow page\(s\)/);
  assert.match(pp, /PML4/);
  const q = await s.exec("queues heavy");
  assert.match(q, /^engines: rcs /);
  assert.match(q, /^heavy:\n {2}rcs: /m);
  const sched = await s.exec("sched");
  assert.match(sched, /^policy gvt, tick 1ms, \d+ switches, current /);
  assert.match(sched, /^heavy +1 +4 +(yes|no) +66\.666664ms/m);
  assert.match(sched, /run queue: /);
  const c = await s.exec("counters heavy");
  assert.match(c, /^heavy \(vGPU 1\):\n/);
  assert.match(c, new RegExp(`ggtt\\.writes +${v.counters.ggttWrites}\\b`));
  const g = await s.exec("counters");
  assert.match(g, /^mediator:\n/);
  assert.match(g, new RegExp(`^  sched\\.switches +${s.world!.gvt.globalCounters.switches}$`, "m"));
  assert.match(g, /hypervisor kvm:/);
  await s.exec("run 100ms");
  const tr = (await s.exec("trace 3")).split("\n");
  assert.equal(tr.length, 3);
  for (const l of tr) assert.match(l, /^ *[\d.]+[mun]?s +(slice|instant|counter) /);
});

Deno.test("repl: bare names describe VMs, engines and registers", async () => {
  const s = await session();
  assert.match(
    await s.exec("light"),
    /^light: VM \(running\), type V5_8, workload spin, vGPU 2, weight 2\n {2}inspect: vm light/,
  );
  assert.match(await s.exec("bcs"), /^bcs: engine 1 \(ring base 0x22000\)/);
  assert.match(await s.exec("rcs_ring_tail"), /^RCS_RING_TAIL: register at BAR0 0x02030/);
});

Deno.test("repl: DSL timeline statements, mmio writes and the journal", async () => {
  const s = await session();
  await s.exec("run 10ms");
  assert.equal(await s.exec("pause light"), "pause light: applied at 10ms (light is paused)");
  assert.equal(s.world!.vm("light")!.state, "paused");
  assert.equal(await s.exec("resume light"), "resume light: applied at 10ms (light is running)");
  assert.match(await s.exec("weight heavy 8"), /^weight heavy 8: applied/);
  assert.equal(s.world!.vm("heavy")!.vgpu!.sched.weight, 8);
  assert.match(await s.exec("fault dmaMapGuestPage error vm light"), /applied/);
  assert.match(await s.exec("policy gvirt-rr"), /applied/);
  assert.equal(s.world!.gvt.sched.policy.name, "gvirt-rr");
  assert.equal(
    await s.exec("weight heavy 99"),
    "error: value out of range: weight 99 must be between 1 and 16",
  );
  assert.equal(
    await s.exec("pause ghost"),
    "error: unknown vm 'ghost'; expected one of: heavy, light",
  );
  assert.equal(
    await s.exec("pause light; stop heavy"),
    "error: one statement, without braces, ';' or comments",
  );
  const v = s.world!.vm("heavy")!.vgpu!;
  const traps = v.counters.traps.reduce((a, b) => a + b, 0);
  assert.match(
    await s.exec("mmio heavy RCS_IMR 0xfffe0000"),
    /^heavy: wrote 0xfffe0000 to RCS_IMR through kvm; vreg now 0xfffe0000$/,
  );
  assert.equal(v.vreg[0x20a8 >> 2] >>> 0, 0xfffe0000);
  assert.equal(v.counters.traps.reduce((a, b) => a + b, 0), traps + 1, "the write trapped once");
  assert.equal(
    await s.exec("mmio heavy RCS_IMR 0x1ffffffff"),
    "error: value 0x1ffffffff does not fit in 32 bits",
  );
  assert.deepEqual(s.journal.map((e) => e.text), [
    "pause light",
    "resume light",
    "weight heavy 8",
    "fault dmaMapGuestPage error vm light",
    "policy gvirt-rr",
    "mmio heavy RCS_IMR 0xfffe0000",
  ]);
  assert.ok(s.journal.every((e) => e.t === 10e6));
  // heavy has nothing queued or running on the render engine: its store outside the slices is
  // scanned in the ELSP write itself (intel_vgpu_create_workload), so failsafe comes at once.
  assert.equal(
    await s.exec("misbehave heavy bad_address"),
    "misbehave heavy bad_address: applied at 10ms (heavy is failsafe)",
  );
  assert.match(await s.exec("until failsafe 1ms"), /^no failsafe entry within 1ms/);
});

Deno.test("repl: until failsafe runs to the next failsafe entry", async () => {
  const s = new ReplSession();
  await s.exec("load scenarios/demo.gvt"); // its intruder misbehaves at 2 s
  assert.match(
    await s.exec("until failsafe 3s"),
    /^failsafe entry at 2s \(after 2s\): intruder guest_error \(MI_LOAD_REGISTER_IMM access to register 0x941c/,
  );
});

Deno.test("repl: watches are evaluated after each run and step", async () => {
  const s = await session();
  assert.equal(await s.exec("watch"), "no watches");
  assert.match(
    await s.exec("watch share(heavy, rcs)"),
    /^watch 1: share\(heavy, rcs\)\n {2}share\(heavy, rcs\) = 0$/,
  );
  assert.match(await s.exec("watch throughput(light) * 2"), /^watch 2: /);
  assert.equal(
    await s.exec("watch share(ghost, rcs)"),
    "error: unknown vm 'ghost'; expected one of: heavy, light",
  );
  const out = (await s.exec("run 100ms")).split("\n");
  assert.equal(out.length, 3);
  // weights.gvt keeps upstream's start-up priority: in the first 100 ms the newest vGPU,
  // light, holds the engine and heavy gets next to nothing.
  const share = Number(/= ([\d.]+)$/.exec(out[1])![1]);
  assert.ok(share >= 0 && share < 0.2, `share ${share}`);
  assert.match(out[2], /^ {2}throughput\(light\) \* 2 = [\d.]+$/);
  assert.match(await s.exec("step"), /\n {2}share\(heavy, rcs\) = /);
  assert.equal(await s.exec("watch"), "1: share(heavy, rcs)\n2: throughput(light) * 2");
  assert.equal(await s.exec("unwatch 1"), "removed watch share(heavy, rcs)");
  assert.equal(await s.exec("unwatch 5"), "error: no watch 5 (watch lists them)");
  assert.equal(await s.exec("unwatch"), "removed 1 watch(es)");
  assert.doesNotMatch(await s.exec("run 1ms"), /=/);
});

Deno.test("repl: reload goes back to 0, completion offers commands and names", async () => {
  const s = await session();
  await s.exec("run 5ms");
  await s.exec("pause light");
  assert.match(await s.exec("reload"), /^loaded weights/);
  assert.equal(s.world!.sim.now, 0);
  assert.equal(s.journal.length, 0);
  assert.deepEqual(s.complete("qu"), [["queues", "quit"], "qu"]);
  assert.deepEqual(s.complete("pa"), [["pause"], "pa"]);
  assert.deepEqual(s.complete("vm he"), [["heavy"], "he"]);
  assert.ok(s.complete("reg heavy RCS_RING_T")[0].includes("RCS_RING_TAIL"));
  assert.ok(s.complete("watch share(heavy, vc")[0].includes("vcs"));
  assert.deepEqual(s.complete("queues he")[0], ["heavy"]);
  assert.deepEqual(s.complete("vm ")[0], ["heavy", "light"], "only VMs after vm");
  assert.ok(s.complete("policy gvirt")[0].includes("gvirt-rr"), "DSL words complete");
  assert.deepEqual(s.complete("help unw"), [["unwatch"], "unw"]);
});

Deno.test("repl: the history file is $GVTSIM_HISTORY, else ~/.gvtsim_history, else none", () => {
  const saved = { h: Deno.env.get("GVTSIM_HISTORY"), home: Deno.env.get("HOME") };
  try {
    Deno.env.set("GVTSIM_HISTORY", "/tmp/x_history");
    assert.equal(historyPath(), "/tmp/x_history");
    Deno.env.delete("GVTSIM_HISTORY");
    Deno.env.set("HOME", "/home/someone");
    assert.equal(historyPath(), "/home/someone/.gvtsim_history");
    Deno.env.delete("HOME");
    assert.equal(historyPath(), undefined);
  } finally {
    if (saved.h !== undefined) Deno.env.set("GVTSIM_HISTORY", saved.h);
    else Deno.env.delete("GVTSIM_HISTORY");
    if (saved.home !== undefined) Deno.env.set("HOME", saved.home);
  }
});

Deno.test("repl: the real front end works on piped stdin (no terminal)", async () => {
  const home = await Deno.makeTempDir();
  const { code, out, err } = await gvtsimTask(["repl", SCENARIO], {
    stdin: "run 10ms\nvms\npause light\nhelp run\nbogus\nvms\n",
    env: { HOME: home },
  });
  assert.equal(
    code,
    2,
    "a piped script stops at its first error: " + err,
  );
  assert.match(out, /^loaded weights \(scenarios\/weights\.gvt\)/);
  assert.match(out, /gvtsim weights 0ns> ran 10ms: now 10ms/);
  assert.match(out, /gvtsim weights 10ms> vm +state/);
  assert.match(out, /pause light: applied at 10ms \(light is paused\)/);
  assert.match(out, /run <duration>\n {2}advance the simulation/);
  assert.match(out, /error: unknown command 'bogus'/);
  assert.equal(out.match(/vm +state/g)?.length, 1, "nothing after the error ran");
  assert.doesNotMatch(out, / {4}at .*\.ts:\d+/, "no stack trace");
  await Deno.remove(home, { recursive: true });
});
