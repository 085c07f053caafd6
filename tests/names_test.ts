/**
 * The name rule (dsl/names.ts), first half: each word JavaScript objects inherit, put in every
 * name position of one scenario and run through the CLI, gives exactly the run a plain name
 * gives. (`__proto__`, refused: tests/names_reserved_test.ts.)
 */

import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import { INHERITED, scenarioOf } from "./names_util.ts";

Deno.test("names: words objects inherit work in every name position, exactly as a plain name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // each in a directory of its own, the file named alike: the results name their file
    const runOf = async (word: string) => {
      const sub = `${dir}/${word}`;
      await Deno.mkdir(sub);
      await Deno.writeTextFile(`${sub}/names.gvt`, scenarioOf(word));
      const json = `${sub}/r.json`, csv = `${sub}/r.csv`;
      const r = await gvtsim(
        "run",
        "-q",
        "-D",
        `${word}=3`,
        "--json",
        json,
        "--csv",
        csv,
        `${sub}/names.gvt`,
      );
      const text = async (f: string) => (await Deno.readTextFile(f)).replaceAll(sub, "DIR");
      return {
        code: r.code,
        err: r.err.replaceAll(sub, "DIR"),
        json: await text(json),
        csv: await text(csv),
      };
    };
    const [plain, ...runs] = await Promise.all(["alpha", ...INHERITED].map(runOf));
    assert.equal(plain.code, 0, plain.err);
    assert.match(plain.err, /hypervisor parameter 'alpha' is not read by backend/);
    assert.equal(JSON.parse(plain.json).migrations.length, 1);
    for (const [i, word] of INHERITED.entries()) {
      const r = runs[i];
      const same = (s: string) => s.replaceAll("alpha", word);
      assert.equal(r.code, 0, `${word}: ${r.err}`);
      assert.equal(r.err, same(plain.err), `${word}: the backend was handed its parameter`);
      assert.equal(r.json, same(plain.json), `${word}: the same results as a plain name`);
      assert.equal(r.csv, same(plain.csv), word);
    }
    // check takes them all at once
    const files = INHERITED.map((w) => `${dir}/${w}/names.gvt`);
    const checked = await gvtsim("check", ...files);
    assert.equal(checked.code, 0, checked.err);
    assert.equal(
      checked.out.match(/: ok \(2 vms, 1 workload\(s\), 5 timeline event\(s\)/g)?.length,
      4,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
