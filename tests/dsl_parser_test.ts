// Parser + checker tests, one (or more) per construct of the scenario language.
import assert from "node:assert/strict";
import { formatDiagnostics, KEYWORDS, parseScenarioText } from "../dsl/mod.ts";
import { parseFile } from "../dsl/mod.ts";
import type { Scenario, WorkloadOp } from "../core/scenario.ts";

const MS = 1e6;
const MiB = 1024 * 1024;

const BASE = `
vm a { type V5_4; run w }
vm b { type V5_8; run w }
workload w { rcs batch { draw 1 } }
`;

/** Checks `src` (plus BASE unless `bare`) and returns the scenario, failing on any diagnostic. */
function ok(src: string, bare = false): Scenario {
  const text = bare ? src : BASE + src;
  const r = parseScenarioText(text, "t.gvt", { readFile: () => "" });
  assert.equal(
    formatDiagnostics(r.diagnostics, r.sources),
    "",
    "unexpected diagnostics",
  );
  assert.ok(r.scenario);
  return r.scenario;
}

function errors(src: string, bare = false): string[] {
  const r = parseScenarioText(bare ? src : BASE + src, "t.gvt", { readFile: () => "" });
  assert.equal(r.scenario, undefined);
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

function body(s: Scenario, name = "x"): WorkloadOp[] {
  return s.workloads[name].body;
}

Deno.test("comments and separators: # and //, ';' and newlines", () => {
  const s = ok(`# a comment
// another
vm c { type V5_8
  run w   # trailing
  weight 3 }`);
  assert.equal(s.vms[2].name, "c");
  assert.equal(s.vms[2].weight, 3);
});

Deno.test("scenario and seed; name defaults to the file name", () => {
  const s = ok("scenario demo_one\nseed 99");
  assert.equal(s.name, "demo_one");
  assert.equal(s.seed, 99);
  const t = parseScenarioText(BASE, "dir/my_file.gvt").scenario;
  assert.equal(t?.name, "my_file");
  const u = parseScenarioText(BASE + "seed 5", "x.gvt", { seed: 7 }).scenario;
  assert.equal(u?.seed, 7, "the caller's seed overrides the file's");
});

Deno.test("host settings with units", () => {
  const s = ok(`host skylake {
    aperture 1GiB; ggtt 4GiB; fences 16; engines rcs bcs
    refresh 30Hz; out_of_sync on; invariants off; scan_ppgtt on
    host_aperture 64MiB; host_hidden 256MiB; host_fences 2
    cost 3DPRIMITIVE 2us
    cost XY_SRC_COPY_BLT 500ns
  }`);
  const h = s.host;
  assert.equal(h.gpu, "skylake");
  assert.equal(h.aperture, 1024 * MiB);
  assert.equal(h.ggtt, 4096 * MiB);
  assert.equal(h.fences, 16);
  assert.deepEqual(h.engines, ["rcs", "bcs"]);
  assert.equal(h.refreshHz, 30);
  assert.equal(h.outOfSync, true);
  assert.equal(h.invariants, false);
  assert.equal(h.scanPpgttBatches, true);
  assert.equal(h.hostAperture, 64 * MiB);
  assert.equal(h.hostHidden, 256 * MiB);
  assert.equal(h.hostFences, 2);
  assert.deepEqual(h.commandCosts, { "3DPRIMITIVE": 2000, XY_SRC_COPY_BLT: 500 });
});

Deno.test("host defaults", () => {
  const s = ok("");
  assert.equal(s.host.aperture, 512 * MiB);
  assert.equal(s.host.outOfSync, false);
  assert.equal(s.host.invariants, true);
  assert.deepEqual(s.host.engines, ["rcs", "bcs", "vcs", "vecs"]);
  assert.equal(s.hypervisor.name, "kvm");
  assert.equal(s.scheduler.policy, "gvt");
  assert.equal(s.duration, 10_000 * MS);
  assert.deepEqual(s.report, { tables: ["vms"], metrics: [] });
});

Deno.test("hypervisor: costs, params, faults, plugin path", () => {
  const s = ok(`host { hypervisor xen {
    mmio_exit 2us; ioreq_rtt 5us
    param ioreq_slots 4; param foreign_map 2MiB; param lazy on; param mode "fast"
    fault dmaMapGuestPage error after 10 calls vm a
    fault readGpa delay 50us for 3 calls at 1s
  } }`);
  const hv = s.hypervisor;
  assert.equal(hv.name, "xen");
  assert.deepEqual(hv.costs, { mmio_exit: 2000, ioreq_rtt: 5000 });
  assert.deepEqual(hv.params, { ioreq_slots: 4, foreign_map: 2 * MiB, lazy: true, mode: "fast" });
  assert.equal(hv.faults.length, 2);
  const [f1, f2] = hv.faults;
  assert.equal(f1.op, "dmaMapGuestPage");
  assert.equal(f1.action, "error");
  assert.equal(f1.afterCalls, 10);
  assert.equal(f1.vm, "a");
  assert.equal(f2.action, "delay");
  assert.equal(f2.delay, 50_000);
  assert.equal(f2.count, 3);
  assert.equal(f2.at, 1000 * MS);
  assert.deepEqual(f1.loc, { file: "t.gvt", line: 8, col: 5 });
  const p = ok(`host { hypervisor "./my_backend.ts" }`);
  assert.equal(p.hypervisor.name, "./my_backend.ts");
});

Deno.test("scheduler policy and parameters", () => {
  const s = ok(`host { scheduler gvirt-rr { timeslice 16ms; balance 100ms } }`);
  assert.deepEqual(s.scheduler, {
    policy: "gvirt-rr",
    params: { timeslice: 16 * MS, balance: 100 * MS },
  });
});

Deno.test("user types: new and overriding a built-in", () => {
  const s = ok(`type tiny { aperture 64MiB; hidden 64MiB; fences 2; weight 1; resolution 1024x768 }
type V5_4 { weight 6 }
vm t { type tiny; run w }`);
  const tiny = s.types.find((t) => t.name === "tiny");
  assert.deepEqual(tiny, {
    name: "tiny",
    aperture: 64 * MiB,
    hidden: 64 * MiB,
    fences: 2,
    weight: 1,
    width: 1024,
    height: 768,
  });
  assert.equal(s.types.find((t) => t.name === "V5_4")?.weight, 6);
  assert.equal(s.types.find((t) => t.name === "V5_4")?.aperture, 128 * MiB);
});

Deno.test("vm settings; GVTg_ type names; type names follow the platform (vgpu.c intel_gvt_init_vgpu_types)", () => {
  const s = ok(`vm c { type GVTg_V5_8; run w; weight 2; start 1s; vcpus 4; memory 4GiB }`);
  const c = s.vms[2];
  assert.deepEqual(c, {
    name: "c",
    type: "V5_8",
    weight: 2,
    workload: "w",
    start: 1000 * MS,
    autostart: true,
    vcpus: 4,
    memory: 4096 * MiB,
    loc: { file: "t.gvt", line: 5, col: 4 },
  });
  const [e] = errors(`vm d { type V4_8; run w }`);
  assert.match(e, /unknown vGPU type 'V4_8'.*skylake is gen9, whose types are named V5_n/);
  const bdw = parseScenarioText(
    `host broadwell\nworkload w { rcs batch }\nvm a { type GVTg_V4_4; run w }\nvm b { type V5_4; run w }\n`,
    "b.gvt",
    { readFile: () => "" },
  );
  assert.deepEqual(bdw.scenario?.types.map((t) => t.name), undefined);
  assert.match(bdw.diagnostics[0].message, /'V5_4'.*broadwell is gen8, whose types are named V4_n/);
  const ok8 = parseScenarioText(
    `host broadwell\nworkload w { rcs batch }\nvm a { type GVTg_V4_4; run w }\n`,
    "b.gvt",
    { readFile: () => "" },
  );
  assert.deepEqual(ok8.scenario?.types.map((t) => t.name), ["V4_8", "V4_4", "V4_2", "V4_1"]);
  assert.equal(ok8.scenario?.vms[0].type, "V4_4");
});

Deno.test("vm name[N] expands to name1..nameN", () => {
  const s = ok(`host { aperture 1GiB }
vm worker[4] { type V5_8; run w }`);
  assert.deepEqual(s.vms.map((v) => v.name), [
    "a",
    "b",
    "worker1",
    "worker2",
    "worker3",
    "worker4",
  ]);
});

Deno.test("workload: batch with a command mix and distributions", () => {
  const s = ok(
    `workload x { vcs batch { draw 1; blit 2; media uniform(10, 20); compute exp(4); store normal(8, 2); lri 0 } }`,
  );
  const op = body(s)[0];
  assert.equal(op.op, "batch");
  if (op.op !== "batch") return;
  assert.equal(op.engine, "vcs");
  assert.deepEqual(op.mix, {
    draw: { kind: "const", value: 1 },
    blit: { kind: "const", value: 2 },
    media: { kind: "uniform", lo: 10, hi: 20 },
    compute: { kind: "exp", mean: 4 },
    store: { kind: "normal", mean: 8, sd: 2 },
    lri: { kind: "const", value: 0 },
  });
});

Deno.test("workload: every and at N fps", () => {
  const s = ok(`workload x { every 16.7ms { flip } }
workload y { at 60fps { flip } }`);
  assert.deepEqual(body(s)[0], {
    op: "every",
    period: 16_700_000,
    body: [{ op: "flip", loc: { file: "t.gvt", line: 5, col: 29 } }],
    loc: { file: "t.gvt", line: 5, col: 14 },
  });
  const y = body(s, "y")[0];
  assert.equal(y.op === "every" && y.period, 16_666_667);
});

Deno.test("workload: repeat N, repeat forever, loop", () => {
  const s = ok(`workload x { repeat 10 { flip }; repeat forever { flip } }
workload y { loop { flip } }`);
  const [r1, r2] = body(s);
  assert.equal(r1.op === "repeat" && r1.count, 10);
  assert.equal(r2.op === "repeat" && r2.count, "forever");
  const l = body(s, "y")[0];
  assert.equal(l.op === "repeat" && l.count, "forever");
});

Deno.test("workload: think with constant and distributions", () => {
  const s = ok(
    `workload x { think 2ms; think exp(2ms); think uniform(1ms, 3ms); think normal(5ms, 500us) }`,
  );
  assert.deepEqual(body(s).map((o) => o.op === "think" ? o.duration : undefined), [
    { kind: "const", value: 2 * MS },
    { kind: "exp", mean: 2 * MS },
    { kind: "uniform", lo: 1 * MS, hi: 3 * MS },
    { kind: "normal", mean: 5 * MS, sd: 0.5 * MS },
  ]);
});

Deno.test("workload: wait, flip, map, unmap, pte_rewrite, misbehave", () => {
  const s = ok(`workload x {
  wait completion; wait vblank; flip
  map 64 pages; unmap uniform(1, 8); pte_rewrite 512
  misbehave ggtt_out_of_slice; misbehave ring_garbage 3
}`);
  const ops = body(s).map((o) => {
    const { loc: _l, ...rest } = o;
    return rest;
  });
  assert.deepEqual(ops, [
    { op: "wait", what: "completion" },
    { op: "wait", what: "vblank" },
    { op: "flip" },
    { op: "map", pages: { kind: "const", value: 64 } },
    { op: "unmap", pages: { kind: "uniform", lo: 1, hi: 8 } },
    { op: "pte_rewrite", count: { kind: "const", value: 512 } },
    { op: "misbehave", kind: "ggtt_out_of_slice", count: 1 },
    { op: "misbehave", kind: "ring_garbage", count: 3 },
  ]);
});

Deno.test("workload: choose with weights", () => {
  const s = ok(`workload x { choose { 3: { flip }; 1: { think 1ms; flip } } }`);
  const c = body(s)[0];
  assert.equal(c.op, "choose");
  if (c.op !== "choose") return;
  assert.deepEqual(c.options.map((o) => [o.weight, o.body.length]), [[3, 1], [1, 2]]);
});

Deno.test("timeline: all actions, sorted by time, run", () => {
  const s = ok(`timeline {
  at 2s pause b; at 3s resume b; at 4s weight b 8; at 5s reset b
  at 1s fault dmaMapGuestPage error vm a
  at 6s policy gvirt-rr timeslice 16ms
  at 2s misbehave a ring_garbage 2
  at 500ms start a; at 7s stop a
  run 8s
}`);
  assert.equal(s.duration, 8000 * MS);
  assert.deepEqual(s.timeline.map((e) => [e.at / MS, e.action.kind]), [
    [500, "start"],
    [1000, "fault"],
    [2000, "pause"],
    [2000, "misbehave"],
    [3000, "resume"],
    [4000, "weight"],
    [5000, "reset"],
    [6000, "policy"],
    [7000, "stop"],
  ]);
  const w = s.timeline.find((e) => e.action.kind === "weight")?.action;
  assert.deepEqual(w, { kind: "weight", vm: "b", weight: 8 });
  const p = s.timeline.find((e) => e.action.kind === "policy")?.action;
  assert.deepEqual(p, {
    kind: "policy",
    scheduler: { policy: "gvirt-rr", params: { timeslice: 16 * MS } },
  });
  const f = s.timeline.find((e) => e.action.kind === "fault")?.action;
  assert.equal(f?.kind === "fault" && f.rule.at, 1000 * MS);
  const m = s.timeline.find((e) => e.action.kind === "misbehave")?.action;
  assert.deepEqual(m, { kind: "misbehave", vm: "a", misbehaviour: "ring_garbage", count: 2 });
  assert.equal(s.vms[0].autostart, false, "a timeline start makes the vm start manually");
  assert.equal(s.vms[1].autostart, true);
});

Deno.test("expect: comparisons, arithmetic, units converted to ns", () => {
  const s = ok(`expect fps(a) >= 55
expect latency(a, p99) < 5ms
expect share(a) / share(b) within 10% of 2
expect busy(a, rcs) + busy(b, rcs) within 1ms of 2s
expect traps(a, mmio) * 2 - -3 != 0
expect (frames(a) + 1) / 2 > 3`);
  const [e1, e2, e3, e4, e5] = s.expects;
  assert.equal(e1.text, "fps(a) >= 55");
  assert.deepEqual(e1.pred, {
    k: "cmp",
    op: ">=",
    left: { k: "call", fn: "fps", args: ["a"], loc: { file: "t.gvt", line: 5, col: 8 } },
    right: { k: "num", value: 55 },
  });
  assert.deepEqual(e2.pred.k === "cmp" && e2.pred.right, { k: "num", value: 5 * MS });
  assert.equal(e3.pred.k, "within");
  if (e3.pred.k === "within") {
    assert.equal(e3.pred.relative, true);
    assert.equal(e3.pred.tolerance, 0.1);
    assert.equal(e3.pred.left.k, "bin");
  }
  if (e4.pred.k === "within") {
    assert.equal(e4.pred.relative, false);
    assert.equal(e4.pred.tolerance, 1 * MS);
    assert.deepEqual(e4.pred.target, { k: "num", value: 2000 * MS });
  }
  assert.equal(e5.text, "traps(a, mmio) * 2 - -3 != 0");
});

Deno.test("expect: percent literals follow the other side's unit", () => {
  const s = ok(`expect share(a) >= 30%
expect native_pct(a) >= 80%`);
  const [e1, e2] = s.expects;
  assert.deepEqual(e1.pred.k === "cmp" && e1.pred.right, { k: "num", value: 0.3 });
  assert.deepEqual(e2.pred.k === "cmp" && e2.pred.right, { k: "num", value: 80 });
});

Deno.test("expect: state is, counters, violations", () => {
  const s = ok(`expect state(a) is failsafe
expect counter(a, "ggtt_dropped") > 0
expect gcounter("switches") > 10
expect violations() == 0`);
  assert.deepEqual(s.expects[0].pred, { k: "state", vm: "a", state: "failsafe" });
  const c = s.expects[1].pred;
  assert.deepEqual(c.k === "cmp" && c.left.k === "call" && c.left.args, ["a", "ggtt_dropped"]);
});

Deno.test("report: tables and metrics", () => {
  const s = ok(`report { tables vms traps scheduler; metrics fps share "ggtt_dropped" }`);
  assert.deepEqual(s.report, {
    tables: ["vms", "traps", "scheduler"],
    metrics: ["fps", "share", "ggtt_dropped"],
  });
});

Deno.test("keywords may not name things, except soft keywords (vm batch)", () => {
  const s = ok(`vm batch { type V5_8; run w }
timeline { at 1s pause batch }
expect fps(batch) > 1`);
  assert.equal(s.vms[2].name, "batch");
  assert.ok(KEYWORDS.includes("workload"));
  assert.ok(KEYWORDS.includes("batch"));
  assert.equal(new Set(KEYWORDS).size, KEYWORDS.length);
});

Deno.test("include: relative to the including file, each file once, cycles are errors", () => {
  const files: Record<string, string> = {
    "s/main.gvt": `include "lib/wl.gvt"\ninclude "lib/wl.gvt"\nvm a { type V5_4; run w }`,
    "s/lib/wl.gvt": `include "../common.gvt"\nworkload w { flip }`,
    "s/common.gvt": `host { aperture 1GiB }`,
  };
  const readFile = (p: string) => {
    if (!(p in files)) throw new Error("not found");
    return files[p];
  };
  const r = parseScenarioText(files["s/main.gvt"], "s/main.gvt", { readFile });
  assert.equal(formatDiagnostics(r.diagnostics, r.sources), "");
  assert.equal(r.scenario?.host.aperture, 1024 * MiB);
  assert.deepEqual([...r.sources.keys()], ["s/main.gvt", "s/lib/wl.gvt", "s/common.gvt"]);

  files["s/common.gvt"] = `include "main.gvt"`;
  const c = parseScenarioText(files["s/main.gvt"], "s/main.gvt", { readFile });
  assert.equal(c.scenario, undefined);
  assert.match(
    c.diagnostics[0].message,
    /include cycle: s\/main\.gvt -> s\/lib\/wl\.gvt -> s\/common\.gvt -> s\/main\.gvt/,
  );
  assert.equal(c.diagnostics[0].file, "s/common.gvt");
});

Deno.test("parseFile alone gives the AST with locations", () => {
  const { ast, diagnostics } = parseFile("vm a { type V5_4; run w }\n", "f.gvt");
  assert.deepEqual(diagnostics, []);
  assert.equal(ast.items[0].k, "vm");
  assert.deepEqual(ast.items[0].span, { file: "f.gvt", line: 1, col: 4, len: 1 });
});

Deno.test("errors are collected, the scenario is withheld", () => {
  const e = errors("vm c { type V5_4; run nowhere }\nexpect fps(zz) > 1");
  assert.equal(e.length, 2);
});

Deno.test("docs/dsl.md: every gvt example parses (at top level or inside a host block)", () => {
  const md = Deno.readTextFileSync(new URL("../docs/dsl.md", import.meta.url));
  const blocks = [...md.matchAll(/```gvt\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 8, `only ${blocks.length} examples`);
  for (const b of blocks) {
    const top = parseFile(b, "doc.gvt").diagnostics;
    const inHost = parseFile(`host {\n${b}\n}`, "doc.gvt").diagnostics;
    assert.ok(
      top.length === 0 || inHost.length === 0,
      `example does not parse:\n${b}\n${top.map((d) => d.message).join("\n")}`,
    );
  }
  // The first example is a whole scenario and checks clean.
  ok(blocks[0], true);
});

Deno.test("docs/dsl.md: the diagnostics shown are the real ones", () => {
  const r = parseScenarioText(
    `vm a { type V5_4; run game }
workload game { flip }
workload transcode { flip }
vm batch { type V5_4; run transcod }`,
    "names.gvt",
  );
  assert.equal(
    r.diagnostics[0].message,
    "unknown workload 'transcod'; expected one of: game, transcode (did you mean 'transcode'?)",
  );
});

Deno.test("COMPLETIONS holds keywords, functions and values, sorted and unique", async () => {
  const { COMPLETIONS } = await import("../dsl/mod.ts");
  for (const w of ["workload", "latency", "failsafe", "gvirt-rr", "ring_garbage", "out_of_sync"]) {
    assert.ok(COMPLETIONS.includes(w), w);
  }
  assert.deepEqual([...COMPLETIONS].sort(), COMPLETIONS);
  assert.equal(new Set(COMPLETIONS).size, COMPLETIONS.length);
});

Deno.test("the issue's example scenario checks", () => {
  const s = ok(
    `host skylake { aperture 512MiB; hypervisor kvm { mmio_exit 2us }; scheduler gvt }
vm desktop { type V5_4; run game }
vm batch   { type V5_8; run transcode; weight 2 }
workload game { every 16.7ms { rcs batch { draw 400 } ; flip } }
workload transcode { loop { vcs batch { media 40 }; wait completion } }
timeline { at 2s pause batch; at 3s resume batch; run 5s }
expect fps(desktop) >= 55
expect share(desktop) / share(batch) within 10% of 2`,
    true,
  );
  assert.equal(s.vms[1].weight, 2);
  assert.equal(s.duration, 5000 * MS);
});

Deno.test("a vm starting after the end of the run is an error", () => {
  assert.deepEqual(errors("vm late { type V5_8; run w; start 20s }\ntimeline { run 5s }"), [
    "vm 'late' starts at 20s, after the end of the run (5s)",
  ]);
});

Deno.test("every built-in hypervisor name has a backend in plugins/", () => {
  for (const name of ["kvm", "xen", "acrn"]) {
    const s = ok(`host { hypervisor ${name} }`);
    assert.equal(s.hypervisor.name, name);
    assert.ok(Deno.statSync(new URL(`../plugins/${name}.ts`, import.meta.url)).isFile);
  }
  assert.match(errors(`host { hypervisor vmware }`)[0], /unknown hypervisor 'vmware'/);
});
