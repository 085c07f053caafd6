/**
 * The name rule (dsl/names.ts), second half: `__proto__` is refused with a located error
 * wherever a name is read — every position of a scenario, `-D`, sweep axes, sweep databases
 * read back, `plugin test --param` — and every other word works there.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { DatabaseSync } from "node:sqlite";
import { gvtsim } from "./cli_util.ts";
import { parseScenarioText } from "../dsl/mod.ts";
import { parseAxes } from "../sweep/grid.ts";
import { parseParams } from "../cli/plugin.ts";
import { INHERITED, positions, scenarioOf, TEMPLATE } from "./names_util.ts";

Deno.test("names: __proto__ is refused in every name position, each use located, by check and run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/proto.gvt`;
    await Deno.writeTextFile(file, scenarioOf("__proto__"));
    const where = positions("__proto__");
    for (const args of [["check"], ["run", "-q"]]) {
      const r = await gvtsim(...args, "-D", "__proto__=3", file);
      assert.equal(r.code, 2, r.err);
      assert.doesNotMatch(r.err, /internal error|^ +at /m);
      const located = [...r.err.matchAll(/^(.*):(\d+):(\d+): error: (.*)$/gm)];
      // one error per use in the file, one for -D, nothing else
      assert.equal(located.length, where.length + 1, r.err);
      for (const [i, p] of where.entries()) {
        const [, f, line, col, message] = located[i];
        assert.equal(f, file);
        assert.deepEqual([Number(line), Number(col)], [p.line, p.col]);
        assert.match(message, /^'__proto__' cannot be a name: JavaScript objects treat it/);
      }
      assert.match(
        located[where.length][0],
        /^\(-D\):1:1: error: -D __proto__: '__proto__' cannot/,
      );
      if (args[0] === "check") assert.match(r.err, new RegExp(`: ${where.length + 1} errors\n$`));
    }
    // as a -D value for a name parameter
    await Deno.writeTextFile(file, scenarioOf("alpha"));
    const value = await gvtsim("check", "-D", "alpha=__proto__", file);
    assert.equal(value.code, 2);
    assert.match(value.err, /^\(-D\):1:7: error: -D alpha: '__proto__' cannot be a name/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("names: sweeps, sweep databases and plugin parameters follow the same rule", async () => {
  assert.match(parseAxes(["__proto__=1ms,2ms"]) as string, /^-D __proto__: '__proto__' cannot/);
  for (const w of INHERITED) {
    assert.deepEqual(parseAxes([`${w}=1,2`]), [{ name: w, values: ["1", "2"] }]);
  }
  assert.match(parseParams(["__proto__=1"]) as string, /^--param __proto__: '__proto__' cannot/);
  const ps = parseParams(INHERITED.map((w, i) => `${w}=${i}`)) as Record<string, number>;
  assert.deepEqual(Object.entries(ps), INHERITED.map((w, i) => [w, i]));
  const plugin = await gvtsim("plugin", "test", "--param", "__proto__=1", "kvm");
  assert.equal(plugin.code, 2);
  assert.match(plugin.err, /--param __proto__: '__proto__' cannot be a name/);

  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/s.gvt`;
    await Deno.writeTextFile(
      file,
      `param constructor 1ms
host skylake { engines rcs; hypervisor kvm; scheduler gvt { timeslice $constructor } }
vm a { type V5_4; run w }
workload w { loop { rcs batch { draw 10 }; wait completion } }
timeline { run 10ms }
`,
    );
    const bad = await gvtsim("sweep", "-q", "-D", "__proto__=1ms,2ms", "--out", `${dir}/x`, file);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /-D __proto__: '__proto__' cannot be a name/);
    const out = `${dir}/out`;
    const ok = await gvtsim("sweep", "-q", "-D", "constructor=1ms,2ms", "--out", out, file);
    assert.equal(ok.code, 0, ok.err);
    const csv = await Deno.readTextFile(`${out}/summary.csv`);
    assert.match(csv, /^point,constructor,vm,/);
    assert.match(csv, /^0,1ms,a,fps,/m);
    assert.match(csv, /^1,2ms,a,fps,/m);
    // a database someone edited to name a parameter __proto__ is refused by report, in one line
    const db = new DatabaseSync(`${out}/results.db`);
    const params = String(
      (db.prepare("SELECT value FROM meta WHERE key = 'params'").get() as { value: string }).value,
    );
    db.prepare("UPDATE meta SET value = ? WHERE key = 'params'")
      .run(params.replace('"constructor"', '"__proto__"'));
    db.close();
    const report = await gvtsim("report", out);
    assert.equal(report.code, 2);
    assert.match(
      report.err,
      /^gvtsim report: error: .*results\.db: not a gvtsim sweep database \(a parameter: '__proto__' cannot be a name[^\n]*\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("names: any mix of names in any positions: __proto__ is an error exactly where it is used", () => {
  const n = positions("W").length;
  const words = fc.constantFrom("alpha", "__proto__", ...INHERITED);
  fc.assert(
    fc.property(fc.array(words, { minLength: n, maxLength: n }), (chosen) => {
      let i = 0;
      const text = TEMPLATE.replace(/\bW\b/g, () => chosen[i++]);
      const r = parseScenarioText(text, "mix.gvt");
      const msgs = r.diagnostics.filter((d) => d.severity === "error");
      assert.ok(msgs.every((d) => !/internal error/.test(d.message)), JSON.stringify(msgs));
      const protos = msgs.filter((d) => d.message.includes("'__proto__' cannot be a name"));
      assert.equal(protos.length, chosen.filter((w) => w === "__proto__").length);
      if (chosen.every((w) => w === chosen[0]) && chosen[0] !== "__proto__") {
        assert.deepEqual(msgs, []);
        assert.deepEqual(r.scenario!.vms.map((v) => v.name), [chosen[0], "plain"]);
      }
    }),
    { numRuns: 60, seed: 5 },
  );
});
