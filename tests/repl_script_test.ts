/**
 * The REPL fed by a pipe (issue 10): a script runs to its end, stops with exit 2 at its first
 * error, and `save` never replaces a file the world came from.
 */
import assert from "node:assert/strict";
import { gvtsimTask, oneLine, scratch } from "./task_util.ts";

Deno.test("outputs: REPL save refuses the loaded scenario and checkpoint; syntax --html is checked", async () => {
  const { dir, files } = await scratch();
  const before = files();
  const r = await gvtsimTask(["repl"], { cwd: dir, stdin: "load s.gvt\nrun 5ms\nsave s.gvt\n" });
  assert.equal(r.code, 2);
  assert.match(r.out, /error: save s\.gvt: is an input of this run \(s\.gvt\)/);
  assert.deepEqual(files(), before);
  const ok = await gvtsimTask(["repl"], {
    cwd: dir,
    stdin: "load s.gvt\nrun 5ms\nsave c.ckpt\nload c.ckpt\nsave c.ckpt\n",
  });
  assert.equal(ok.code, 2);
  assert.match(ok.out, /saved checkpoint at 5ms to c\.ckpt/);
  assert.match(ok.out, /error: save c\.ckpt: is an input of this run \(c\.ckpt\)/);
  const html = await gvtsimTask(["syntax", "--html", "g.html"], { cwd: dir });
  assert.equal(html.code, 0, html.err);
  assert.match(Deno.readTextFileSync(`${dir}/g.html`), /<title>gvtsim scenario grammar/);
  const bad = await gvtsimTask(["syntax", "--html", "nodir/g.html"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(oneLine(bad.err), /--html nodir\/g\.html: directory 'nodir' does not exist/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("repl: printf 'load x.gvt\\nrun 10ms\\n' | gvtsim repl runs to the end (exit 0)", async () => {
  const { dir } = await scratch();
  const r = await gvtsimTask(["repl"], { cwd: dir, stdin: "load s.gvt\nrun 10ms\nvms" });
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /gvtsim weights 0ns> ran 10ms: now 10ms/);
  assert.match(r.out, /gvtsim weights 10ms> vm +state/, "a last line without newline runs");
  assert.doesNotMatch(r.err, /readline|error/);
  const bad = await gvtsimTask(["repl", "missing.gvt"], { cwd: dir, stdin: "vms\n" });
  assert.equal(bad.code, 2, "a failing initial load ends the script");
  assert.match(bad.out, /error: cannot read 'missing\.gvt'/);
  await Deno.remove(dir, { recursive: true });
});
