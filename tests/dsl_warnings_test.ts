/**
 * Diagnostics quality: one error for one mistake (a misspelt keyword is named once, with the
 * keyword it is closest to, and the rest of the file checks as intended), and warnings for
 * numbers in the wrong unit and for life-cycle events that do nothing.
 */
import assert from "node:assert/strict";
import { type Diagnostic, parseScenarioText } from "../dsl/mod.ts";

const BASE = [
  "host skylake { aperture 512MiB; scheduler gvt }",
  "vm a { type V5_4; run w }",
  "workload w { at 60fps { rcs batch { draw 4 }; flip; think 1ms } }",
];

function diags(lines: string[]): Diagnostic[] {
  return parseScenarioText(lines.join("\n") + "\n", "t.gvt").diagnostics;
}

function show(ds: Diagnostic[]): string {
  return ds.map((d) => `${d.line}:${d.col} ${d.severity}: ${d.message}`).join("\n");
}

Deno.test("typos: a misspelt top-level keyword is one error, and what it declares exists", () => {
  const ds = diags([BASE[0], BASE[1], BASE[2].replace("workload", "worklaod"), "run_me"]);
  // `run_me` at the top level is its own (single) mistake
  assert.equal(ds.length, 2, show(ds));
  assert.match(ds[0].message, /unknown keyword 'worklaod' \(did you mean 'workload'\?\)/);
  assert.equal(ds[0].line, 3);
  assert.equal(ds[0].col, 1);
  assert.doesNotMatch(show(ds), /no workload is declared|unknown workload/);
  assert.match(ds[1].message, /unexpected 'run_me': expected a declaration \(scenario, seed/);
});

Deno.test("typos: keywords inside host, vm, workload and timeline blocks", () => {
  const cases: [string[], string, string][] = [
    [[BASE[0].replace("scheduler", "schedular"), BASE[1], BASE[2]], "schedular", "scheduler"],
    [[BASE[0], BASE[1].replace("run", "rn"), BASE[2]], "rn", "run"],
    [[BASE[0], BASE[1], BASE[2].replace("think", "thnik")], "thnik", "think"],
    [[...BASE, "timeline { at 1s pause a; rnu 2s }"], "rnu", "run"],
    [[BASE[0], BASE[1], BASE[2].replace("flip", "filp")], "filp", "flip"],
  ];
  for (const [lines, typo, kw] of cases) {
    const ds = diags(lines);
    assert.equal(ds.length, 1, `${typo}:\n${show(ds)}`);
    assert.equal(ds[0].severity, "error");
    assert.equal(ds[0].message, `unknown keyword '${typo}' (did you mean '${kw}'?)`);
  }
});

Deno.test("typos: free names are not taken for keywords", () => {
  // a hypervisor cost override may be any name; a host setting typo gets the setting's hint
  assert.deepEqual(
    diags([
      "host skylake { aperture 512MiB; hypervisor kvm { params 2us } }",
      BASE[1],
      BASE[2],
    ]).filter((d) => d.severity === "error"),
    [],
  );
  const ds = diags([BASE[0].replace("aperture", "apertrue"), BASE[1], BASE[2]]);
  assert.equal(ds.length, 1, show(ds));
  assert.match(ds[0].message, /unknown host setting 'apertrue'.*did you mean 'aperture'/);
});

Deno.test("warnings: a bare number against a time, a fraction above 1, a percentage below 1", () => {
  const ds = diags([
    ...BASE,
    "expect latency(a, p99) < 5",
    "expect share(a) >= 30",
    "expect native_pct(a) >= 0.8",
    "expect busy(a, rcs) within 2 of 1s",
  ]);
  const w = ds.filter((d) => d.severity === "warning");
  assert.equal(ds.length, 4, show(ds)); // the `within 2` tolerance is an error: missing unit
  assert.match(w[0].message, /'5' has no unit but is compared with a time, so it means 5 ns/);
  assert.equal(w[0].note, "write the unit, e.g. '5ms' or '5us'");
  assert.equal(`${w[0].line}:${w[0].col}`, "4:26");
  assert.match(w[1].message, /share\(\) is a fraction from 0 to 1, so comparing it with 30/);
  assert.equal(w[1].note, "write '30%' for a percentage");
  assert.match(w[2].message, /native_pct\(\) is a percentage from 0 to 100, so 0.8 means 0.8%/);
  assert.match(ds.find((d) => d.severity === "error")!.message, /missing unit/);
  // what is fine stays quiet
  const fine = diags([
    ...BASE,
    "expect busy(a, rcs) > 0",
    "expect share(a) >= 0.3",
    "expect share(a) >= 30%",
    "expect latency(a, p99) < 5ms",
    "expect native_pct(a) >= 80",
    "expect share(a) / share(a) within 10% of 1",
  ]);
  assert.deepEqual(fine, []);
});

Deno.test("warnings: life-cycle events that do nothing", () => {
  const ds = diags([
    BASE[0],
    BASE[1],
    "vm b { type V5_4; run w; start 1s }",
    "vm c { type V5_4; run w }",
    BASE[2],
    "timeline {",
    "  at 1s stop a",
    "  at 2s resume a", // after stop
    "  at 500ms pause b", // before its start
    "  at 2s resume b", // never paused
    "  at 3s pause c; at 4s resume c", // c waits for the timeline's start
    "  at 5s start c",
    "  at 5500ms start c", // already running
    "  at 6s pause c; at 7s resume c", // fine
    "  run 8s",
    "}",
  ]);
  const msgs = ds.map((d) => `${d.line}: ${d.message}`);
  assert.deepEqual(msgs, [
    "8: 'resume a' at 2s does nothing: 'a' was stopped at 1s, and resume only continues a paused VM",
    "9: 'pause b' at 500ms does nothing: 'b' has not been started",
    "10: 'resume b' at 2s does nothing: 'b' is running and was never paused",
    "11: 'pause c' at 3s does nothing: 'c' has not been started",
    "11: 'resume c' at 4s does nothing: 'c' has not been started",
    "13: 'start c' at 5.5s does nothing: 'c' is running",
  ]);
  assert.ok(ds.every((d) => d.severity === "warning"));
  assert.equal(ds[0].note, "'start a' boots it again");
});

Deno.test("warnings: no shipped scenario has any", () => {
  const dir = new URL("../scenarios/", import.meta.url);
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.endsWith(".gvt")) continue;
    const path = new URL(e.name, dir).pathname;
    const r = parseScenarioText(Deno.readTextFileSync(path), path);
    assert.deepEqual(r.diagnostics, [], e.name);
  }
});
