/**
 * Scenario parameters: `param NAME VALUE`, `$NAME` wherever a value goes, `-D NAME=VALUE`
 * overrides with located diagnostics, and the CLI commands that take `-D`.
 */
import assert from "node:assert/strict";
import { formatDiagnostics, type LoadResult, parseScenarioText } from "../dsl/mod.ts";
import { runScenario } from "../cli/run.ts";
import { ReplSession } from "../cli/repl_session.ts";
import { gvtsim, ROOT as root } from "./cli_util.ts";

const BASE = `param n 2
param policy gvt
param slice 2ms
param draws 150
param pause exp(1ms)
param min_fps 30
host skylake { scheduler $policy { timeslice $slice } }
vm w[$n] { type V5_8; run game }
workload game { at 60fps { rcs batch { draw $draws }; wait completion; think $pause; flip } }
timeline { run 1s }
expect fps(w1) >= $min_fps
`;

function load(text: string, defines: string[] = [], files: Record<string, string> = {}) {
  return parseScenarioText(text, "p.gvt", {
    defines,
    readFile: (p) => {
      if (p in files) return files[p];
      throw new Error("no such file");
    },
  });
}

function errors(r: LoadResult): string {
  return formatDiagnostics(r.diagnostics, r.sources);
}

Deno.test("params: $NAME stands for VM counts, policy names, workload values and expectations", () => {
  const r = load(BASE);
  assert.ok(r.scenario, errors(r));
  const s = r.scenario!;
  assert.deepEqual(s.vms.map((v) => v.name), ["w1", "w2"]);
  assert.equal(s.scheduler.policy, "gvt");
  assert.equal(s.scheduler.params.timeslice, 2e6);
  const every = s.workloads.game.body[0];
  assert.equal(every.op, "every");
  const ops = every.op === "every" ? every.body : [];
  assert.deepEqual(ops[0].op === "batch" ? ops[0].mix.draw : undefined, {
    kind: "const",
    value: 150,
  });
  assert.deepEqual(ops[2].op === "think" ? ops[2].duration : undefined, { kind: "exp", mean: 1e6 });
  const e = s.expects[0].pred;
  assert.ok(e.k === "cmp" && e.right.k === "num" && e.right.value === 30);
  assert.deepEqual(
    r.params.map((p) => [p.name, p.kind, p.value, p.overridden]),
    [
      ["n", "none", "2", false],
      ["policy", "name", "gvt", false],
      ["slice", "time", "2ms", false],
      ["draws", "none", "150", false],
      ["pause", "time", "exp(1ms)", false],
      ["min_fps", "none", "30", false],
    ],
  );
});

Deno.test("params: -D overrides defaults (numbers, names, distributions)", () => {
  const r = load(BASE, ["n=4", "policy=gvirt-rr", "slice=500us", "pause=uniform(1ms, 3ms)"]);
  assert.ok(r.scenario, errors(r));
  assert.equal(r.scenario!.vms.length, 4);
  assert.equal(r.scenario!.scheduler.policy, "gvirt-rr");
  assert.equal(r.scenario!.scheduler.params.timeslice, 500e3);
  const n = r.params.find((p) => p.name === "n")!;
  assert.deepEqual([n.value, n.defaultText, n.overridden], ["4", "2", true]);
  assert.equal(r.params.find((p) => p.name === "pause")!.value, "uniform(1ms, 3ms)");
});

Deno.test("params: -D problems are located at (-D):line:col with the declaration", () => {
  const r = load(BASE, ["slcie=1ms", "slice=5", "n=2ms", "draws=1MB", "nonsense", "n=3", "n=5"]);
  assert.equal(r.scenario, undefined);
  const text = errors(r);
  assert.match(text, /\(-D\):1:1: error: unknown parameter 'slcie'; expected one of: n, policy/);
  assert.match(text, /\^~~~~\n/);
  assert.match(
    text,
    /\(-D\):2:7: error: missing unit: param slice is a time \(ns, us, ms, s\) \(default 2ms, declared at p\.gvt:3\), write e\.g\. '5ms'/,
  );
  assert.match(
    text,
    /\(-D\):3:3: error: unit mismatch: param n is a plain number .* '2ms' is a time/,
  );
  assert.match(text, /\(-D\):4:7: error: unknown unit 'MB' \(did you mean 'MiB'\?\)/);
  assert.match(text, /\(-D\):5:1: error: expected NAME=VALUE/);
  assert.match(text, /\(-D\):7:1: error: -D n is given twice/);
  assert.match(text, / {3}2 \| slice=5\n/);
});

Deno.test("docs/dsl.md: the -D diagnostic shown is the real one", () => {
  const md = Deno.readTextFileSync(new URL("../docs/dsl.md", import.meta.url));
  const shown = /```\n(\(-D\):1:7: error: .*\n.*\n.*\n)```/.exec(md)?.[1];
  const r = parseScenarioText("scenario study\nparam n 2\nparam slice 1ms\n", "study.gvt", {
    defines: ["slice=2"],
  });
  assert.equal(formatDiagnostics(r.diagnostics.filter((d) => d.file === "(-D)"), r.sources), shown);
});

Deno.test("params: a value that does not fit where it is used is reported there, with a note", () => {
  const r = load(BASE, ["policy=fastest", "n=9"]);
  const text = errors(r);
  assert.match(text, /p\.gvt:7:26: error: unknown scheduler policy 'fastest'/);
  assert.match(text, /note: \$policy is fastest \(from -D policy=fastest\)/);
  assert.match(text, /vm 'w7' does not fit/);
});

Deno.test("params: unknown $NAME is one error at the reference, with a suggestion", () => {
  const r = load(BASE.replace("draw $draws", "draw $drwas"));
  const errs = r.diagnostics.filter((d) => d.severity === "error");
  assert.equal(errs.length, 1, errors(r));
  assert.match(errs[0].message, /unknown parameter '\$drwas'.*did you mean '\$draws'/);
  assert.equal(errs[0].line, 9);
  assert.equal(errs[0].col, 45);
});

Deno.test("params: declared in the main file only; included files use them", () => {
  const main = `param n 3\ninclude "common.gvt"\ntimeline { run 1s }\n`;
  const common = `vm w[$n] { type V5_8; run idle }\nworkload idle { think 1ms }\n`;
  const ok = load(main, [], { "common.gvt": common });
  assert.ok(ok.scenario, errors(ok));
  assert.equal(ok.scenario!.vms.length, 3);
  const bad = load(`include "common.gvt"\ntimeline { run 1s }\n`, [], {
    "common.gvt": `param n 3\n` + common,
  });
  assert.match(errors(bad), /common\.gvt:1:7: error: param 'n' is declared in an included file/);
});

Deno.test("params: duplicates, parameters as defaults, and unused parameters", () => {
  const r = load(`param a 1\nparam a 2\nparam b $a\nparam c 4\nparam time-slice 1ms\n` + BASE);
  const text = errors(r);
  assert.match(text, /p\.gvt:5:7: error: a parameter name is letters, digits and '_'/);
  assert.match(text, /p\.gvt:2:7: error: duplicate param 'a'/);
  assert.match(text, /p\.gvt:3:9: error: the default of param b must be a value/);
  assert.match(text, /p\.gvt:4:7: warning: param 'c' is never used/);
});

Deno.test("params: a backend's `param` inside hypervisor { } is still a backend parameter", () => {
  const r = load(BASE.replace("host skylake {", "host skylake { hypervisor kvm { param slots 4 }"));
  assert.ok(r.scenario, errors(r));
  assert.equal(r.scenario!.hypervisor.params.slots, 4);
  assert.equal(r.params.length, 6);
});

// ---- the CLI ------------------------------------------------------------------------------

Deno.test("cli: check lists parameters; run, compare and check take -D", async () => {
  const c = await gvtsim("check", "scenarios/sweep.gvt", "-D", "workers=1");
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /5 parameter\(s\)/);
  assert.match(c.out, /param workers = 1\s+\(number, from -D; default 2\)/);
  assert.match(c.out, /param slice = 1ms\s+\(time, default\)/);

  const r = await gvtsim("run", "scenarios/sweep.gvt", "-D", "workers=1", "--json", "-", "-q");
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).vms.map((v: { name: string }) => v.name), ["worker1", "game"]);

  const bad = await gvtsim("run", "scenarios/sweep.gvt", "-D", "slice=2");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /\(-D\):1:7: error: missing unit: param slice is a time/);

  const cmp = await gvtsim(
    "compare",
    "scenarios/sweep.gvt",
    "--hypervisors",
    "kvm,xen",
    "-D",
    "workers=1",
    "--until",
    "200ms",
    "--json",
    "-",
  );
  assert.equal(cmp.code, 0, cmp.err);
  const doc = JSON.parse(cmp.out);
  assert.equal(doc.schema, "gvtsim.compare/1");
  assert.deepEqual(doc.runs.map((x: { hypervisor: string }) => x.hypervisor), ["kvm", "xen"]);
  assert.equal(doc.runs[1].results.hypervisor.name, "xen");
  assert.equal(doc.runs[0].results.vms.length, 2);
  assert.match(cmp.err, /worker1/, "the table goes to stderr when the JSON takes stdout");
});

Deno.test("repl -D loads with the values; a checkpoint of a -D run restores them", async () => {
  const dir = await Deno.makeTempDir();
  const quiet = { out: () => {}, err: () => {}, progress: false, quiet: true };
  try {
    const ck = `${dir}/ck.json`;
    const a = await runScenario(`${root}scenarios/sweep.gvt`, {
      ...quiet,
      defines: ["workers=3"],
      until: 60e6,
      checkpointAt: 30e6,
      checkpoint: ck,
    });
    // 60 ms include the guests' boot (~20 ms): the fps expectation may fail (1), input is valid
    assert.notEqual(a.code, 2);
    const b = await runScenario("", { ...quiet, restore: ck });
    assert.equal(b.code, a.code);
    assert.equal(b.results!.vms.length, 4);
    assert.deepEqual(b.results!.vms, a.results!.vms);

    const session = new ReplSession(["workers=3"]);
    assert.match(await session.exec(`load ${root}scenarios/sweep.gvt`), /loaded sweep .*4 VMs/);
    assert.match(await session.exec("vms"), /worker3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
