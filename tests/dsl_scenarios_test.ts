// Every scenario in scenarios/ checks clean (no errors, no warnings), and `check` / `syntax`
// behave as the CLI promises.
import assert from "node:assert/strict";
import { formatDiagnostics, loadScenario } from "../dsl/mod.ts";
import { checkFiles } from "../cli/check.ts";
import { syntaxDiagramsHtml } from "../cli/syntax.ts";

const dir = new URL("../scenarios/", import.meta.url).pathname;
const files = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".gvt"))
  .map((e) => dir + e.name)
  .sort();

Deno.test("scenarios: at least 8 documented scenarios", () => {
  assert.ok(files.length >= 8, `only ${files.length} scenarios`);
  for (const f of files) {
    const first = Deno.readTextFileSync(f).split("\n")[0];
    assert.match(first, /^# \S+\.gvt: /, `${f} starts with a header comment naming it`);
  }
});

for (const f of files) {
  Deno.test(`scenarios: ${f.slice(dir.length)} checks clean`, () => {
    const r = loadScenario(f);
    assert.equal(formatDiagnostics(r.diagnostics, r.sources), "");
    assert.ok(r.scenario);
    assert.ok(r.scenario.vms.length >= 1);
    assert.ok(r.scenario.expects.length >= 1);
  });
}

Deno.test("scenarios: the required topics are covered", () => {
  const names = files.map((f) => f.slice(dir.length));
  for (
    const n of [
      "weights.gvt",
      "contention7.gvt",
      "pt_churn_oos_off.gvt",
      "pt_churn_oos_on.gvt",
      "capacity.gvt",
      "misbehave.gvt",
      "kvm_vs_xen.gvt",
      "policies.gvt",
      "long_batches.gvt",
      "demo.gvt",
    ]
  ) assert.ok(names.includes(n), n);
  const s = loadScenario(dir + "contention7.gvt").scenario;
  assert.equal(s?.vms.length, 7);
  const on = loadScenario(dir + "pt_churn_oos_on.gvt").scenario;
  const off = loadScenario(dir + "pt_churn_oos_off.gvt").scenario;
  assert.equal(on?.host.outOfSync, true);
  assert.equal(off?.host.outOfSync, false);
  const demo = loadScenario(dir + "demo.gvt").scenario;
  assert.equal(demo?.hypervisor.name, "kvm");
  assert.deepEqual(
    demo?.timeline.map((e) => [e.at, e.action.kind]),
    [[2e9, "misbehave"]],
  );
});

Deno.test("check: exit 0 for clean files, 2 with all diagnostics for bad ones", async () => {
  let err = "";
  let out = "";
  const files2: Record<string, string> = {
    "good.gvt": "vm a { type V5_4; run w }\nworkload w { flip }\n",
    "bad.gvt": "vm a { type V5_9; run w }\nworkload w { flip; think 2MiB }\n",
  };
  const opts = {
    color: false,
    readFile: (p: string) => files2[p],
    err: (s: string) => void (err += s),
    out: (s: string) => void (out += s),
  };
  assert.equal(await checkFiles(["good.gvt"], opts), 0);
  assert.match(out, /good\.gvt: ok \(1 vm,/);
  assert.equal(err, "");
  assert.equal(await checkFiles(["good.gvt", "bad.gvt"], opts), 2);
  assert.match(err, /bad\.gvt:1:13: error: unknown vGPU type 'V5_9'/);
  assert.match(err, /bad\.gvt:2:26: error: unit mismatch/);
  assert.match(err, /bad\.gvt: 2 errors/);
  assert.equal(await checkFiles([], opts), 2);
});

Deno.test("syntax: the diagrams page is self-contained (no network resources)", () => {
  const html = syntaxDiagramsHtml();
  assert.match(html, /serializedGrammar/);
  assert.match(html, /"name": "workloadDecl"/);
  assert.doesNotMatch(html, /<script src=|<link /);
  assert.doesNotMatch(html, /unpkg|cdn|https:\/\//);
  // The only absolute URIs left are the SVG / XLink XML namespace names (not fetched).
  const uris = html.match(/http:\/\/[^"'\s]+/g) ?? [];
  assert.deepEqual([...new Set(uris)].sort(), [
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/2000/svg",
  ]);
  // Five inline scripts (railroad, builder, behaviour, main) + grammar + init, all valid JS.
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 6);
  for (const js of scripts) new Function(js);
  assert.match(html, /<style>[\s\S]*\.railroad-diagram[\s\S]*<\/style>/);
});
